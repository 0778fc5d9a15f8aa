// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package falcolabelprocessor // import "github.com/otelcol-falco/otelcol-falco/processor/falcolabelprocessor"

import "go.opentelemetry.io/collector/pdata/pcommon"

// hit is one table field found in the attributes being labeled.
type hit struct {
	pos    int32 // position in the attribute map
	source int32
	remove bool
	value  pcommon.Value // points into the map: valid until attributes are removed or added
}

// labeler maps the attributes of one record or data point at a time. It keeps its scratch space
// between calls so that labeling allocates nothing beyond what pdata needs for new attributes;
// one labeler serves one goroutine.
type labeler struct {
	table        *table
	keepOriginal bool

	hits      []hit
	sourceHit []int32 // per source: index into hits, -1 when absent

	gen       uint32        // labels the current call in targetGen
	targetGen []uint32      // per target: == gen once resolved for the current call
	found     []bool        // per target: a value was resolved
	gated     []bool        // per target: dropped by the host-event rule
	values    []mappedValue // per target: the resolved value
	winner    []int32       // per target: the source that gave the value

	// removedAny tells whether labeling removed attributes since reset, which is the only way
	// two distinct metric series can end up with the same identity.
	removedAny bool
}

func newLabeler(t *table, keepOriginal bool) *labeler {
	l := &labeler{
		table:        t,
		keepOriginal: keepOriginal,
		sourceHit:    make([]int32, len(t.sources)),
		targetGen:    make([]uint32, len(t.targets)),
		found:        make([]bool, len(t.targets)),
		gated:        make([]bool, len(t.targets)),
		values:       make([]mappedValue, len(t.targets)),
		winner:       make([]int32, len(t.targets)),
	}
	for i := range l.sourceHit {
		l.sourceHit[i] = -1
	}
	return l
}

// recordHints are the fields that steer mapping, read during the same pass.
type recordHints struct {
	fdType, fdTypechar, evtType  string
	hostByID, realID, hostByName bool
}

func (h *recordHints) isHostEvent() bool {
	return h.hostByID || (!h.realID && h.hostByName)
}

// label maps attrs in place: record-level targets are written into attrs, Falco-named fields
// are removed unless keep_original is set, and the resource-level values are left for
// resourceValue until the next call.
func (l *labeler) label(attrs pcommon.Map) {
	l.gen++
	if l.gen == 0 { // wrapped: stale marks could look current
		clear(l.targetGen)
		l.gen = 1
	}
	l.hits = l.hits[:0]
	var hints recordHints

	index := &l.table.index
	pos := int32(0)
	for key, v := range attrs.All() {
		if entry, ok := index.find(key); ok {
			if entry.hint != hintNone {
				hints.note(entry.hint, v)
			}
			if entry.source >= 0 && l.sourceHit[entry.source] < 0 {
				l.sourceHit[entry.source] = int32(len(l.hits))
				l.hits = append(l.hits, hit{pos: pos, source: entry.source, value: v})
			}
		}
		pos++
	}
	if len(l.hits) == 0 {
		return
	}

	l.resolve(&hints)
	if !l.keepOriginal {
		l.removeOriginals(attrs)
	}
	l.writeRecordTargets(attrs)
	for i := range l.hits {
		l.sourceHit[l.hits[i].source] = -1
	}
}

func (h *recordHints) note(kind hint, v pcommon.Value) {
	s := ""
	if v.Type() == pcommon.ValueTypeStr {
		s = v.Str()
	}
	switch kind {
	case hintContainerID:
		if s == "host" {
			h.hostByID = true
		} else if statusOf(v) == readValue {
			h.realID = true
		}
	case hintContainerName:
		h.hostByName = h.hostByName || s == "host"
	case hintFDType:
		h.fdType = s
	case hintFDTypechar:
		h.fdTypechar = s
	case hintEvtType:
		h.evtType = s
	}
}

// resolve picks, for every target a hit can fill, the first source in priority order whose
// value is real and converts.
func (l *labeler) resolve(hints *recordHints) {
	host := hints.isHostEvent()
	fileChecked, file := false, false
	for i := range l.hits {
		tid := l.table.sources[l.hits[i].source].target
		if l.targetGen[tid] == l.gen {
			continue
		}
		l.targetGen[tid] = l.gen
		l.found[tid] = false
		tgt := &l.table.targets[tid]
		l.gated[tid] = host && tgt.container
		if l.gated[tid] {
			continue
		}
		if tgt.fileOnly {
			if !fileChecked {
				file, fileChecked = isFileEvent(hints.fdType, hints.fdTypechar, hints.evtType), true
			}
			if !file {
				continue
			}
		}
		for _, sid := range tgt.sources {
			h := l.sourceHit[sid]
			if h < 0 {
				continue
			}
			if readAs(&l.values[tid], l.hits[h].value, l.table.sources[sid].conv) {
				l.winner[tid], l.found[tid] = sid, true
				break
			}
		}
	}
}

// removeOriginals removes the Falco-named fields that carried no value, were dropped by the
// host-event rule, or whose target got a value (from them or a field of higher priority). A
// record-level field mapped onto its own name (user.name) is the result and stays.
func (l *labeler) removeOriginals(attrs pcommon.Map) {
	removing := false
	for i := range l.hits {
		h := &l.hits[i]
		status := statusOf(h.value)
		if status == readUnsupported {
			h.remove = false
			continue
		}
		src := &l.table.sources[h.source]
		tid := src.target
		h.remove = status == readNoValue || l.gated[tid] || (l.found[tid] && !src.inPlace)
		removing = removing || h.remove
	}
	if !removing {
		return
	}
	l.removedAny = true
	pos, next := int32(0), 0
	attrs.RemoveIf(func(key string, _ pcommon.Value) bool {
		p := pos
		pos++
		for next < len(l.hits) && l.hits[next].pos < p {
			next++
		}
		if next == len(l.hits) || l.hits[next].pos != p {
			return false
		}
		h := &l.hits[next]
		// The key check guards against a map that iterates differently than it removes.
		return h.remove && key == l.table.sources[h.source].key
	})
}

// writeRecordTargets writes the record-level results (process.*, user.*, file.path).
func (l *labeler) writeRecordTargets(attrs pcommon.Map) {
	for i := range l.hits {
		src := &l.table.sources[l.hits[i].source]
		tid := src.target
		tgt := &l.table.targets[tid]
		if tgt.resource || !l.found[tid] || l.winner[tid] != l.hits[i].source {
			continue // resource-level, no value, or written through its winning source
		}
		if src.inPlace && src.conv == ConversionNone {
			continue // already in place, unchanged
		}
		l.values[tid].put(attrs, tgt.key)
	}
}

// resourceValue returns the value the current record gives a resource-level target.
func (l *labeler) resourceValue(tid int32) (mappedValue, bool) {
	if l.targetGen[tid] != l.gen || !l.found[tid] {
		return mappedValue{}, false
	}
	return l.values[tid], true
}
