// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package falcolabelprocessor // import "github.com/otelcol-falco/otelcol-falco/processor/falcolabelprocessor"

import (
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/otelcol-falco/otelcol-falco/internal/falcofields"
)

// hit is one table field found in the attributes being labeled. It holds the value as Go
// values: a pcommon.Value points into the map's storage, which moves on removal.
type hit struct {
	pos    int32 // position in the attribute map
	source int32
	status readStatus
	raw    mappedValue
}

// targetState is what the current call resolved for one target.
type targetState struct {
	gen    uint32 // == labeler.gen once resolved for the current call
	found  bool   // a value was resolved
	gated  bool   // dropped by the host-event rule
	winner int32  // the source that gave the value
	value  mappedValue
}

// labeler maps the attributes of one record or data point at a time. It keeps its scratch space
// between calls so that labeling allocates nothing beyond what pdata needs for new attributes;
// one labeler serves one goroutine.
type labeler struct {
	table        *table
	keepOriginal bool

	hits      []hit
	sourceHit []int32 // per source: index into hits, -1 when absent
	writes    []int32 // record-level targets resolved by the current call
	removeAt  []bool  // per attribute position: remove it; all false between calls

	// pdata cannot rename an attribute: a rename is a removal plus a Put, which allocates the
	// value's storage. A value that is certain to be its target's result is moved out of its
	// Falco-named attribute (removed anyway) into held, and from there into the target.
	held    []pcommon.Value // per target: standalone value holding the result
	holding []bool          // per target: held holds the current record's result

	shapes  shapeCache
	gen     uint32        // tells the current call's targetState apart
	targets []targetState // per target
}

func newLabeler(t *table, keepOriginal bool) *labeler {
	l := &labeler{
		table:        t,
		keepOriginal: keepOriginal,
		sourceHit:    make([]int32, len(t.sources)),
		targets:      make([]targetState, len(t.targets)),
	}
	for i := range l.sourceHit {
		l.sourceHit[i] = -1
	}
	if !keepOriginal {
		l.held = make([]pcommon.Value, len(t.targets))
		for _, slot := range t.index.slots {
			if slot.entry.movable != 0 { // only these targets are ever held
				l.held[slot.entry.target] = pcommon.NewValueEmpty()
			}
		}
		l.holding = make([]bool, len(t.targets))
	}
	return l
}

// recordHints are the fields that steer mapping, read during the same pass.
type recordHints struct {
	fdType, fdTypechar, evtType string
	containerID, containerName  string // "host" from either id field wins over a real id
}

func (h *recordHints) isHostEvent() bool {
	return falcofields.IsHostEvent(h.containerID, h.containerName)
}

// label maps attrs in place: record-level targets are written into attrs, Falco-named fields
// are removed unless keep_original is set, and the resource-level values are left for
// resourceValue until the next call.
func (l *labeler) label(attrs pcommon.Map) {
	l.gen++
	if l.gen == 0 { // wrapped: stale marks could look current
		clear(l.targets)
		l.gen = 1
	}
	var hints recordHints

	index, sourceHit, hits := &l.table.index, l.sourceHit, l.hits[:0]
	shape := l.shapes.slots(attrs.Len())
	pos := int32(0)
	for key, v := range attrs.All() {
		if entry := index.entryAt(&shape[pos], key); entry != nil {
			raw, status := readRaw(v)
			if entry.hint != hintNone {
				hints.note(entry.hint, &raw, status)
			}
			if entry.source >= 0 && sourceHit[entry.source] < 0 {
				sourceHit[entry.source] = int32(len(hits))
				hits = append(hits, hit{})
				h := &hits[len(hits)-1]
				h.pos, h.source, h.status, h.raw = pos, entry.source, status, raw
				if entry.movable.has(raw.kind) && !l.keepOriginal {
					v.MoveTo(l.held[entry.target]) // the attribute is removed anyway
					l.holding[entry.target] = true
				}
			}
		}
		pos++
	}
	l.hits = hits
	if len(hits) == 0 {
		return
	}

	l.resolve(&hints)
	if !l.keepOriginal {
		l.removeOriginals(attrs)
	}
	l.writeRecordTargets(attrs)
	for i := range hits {
		sourceHit[hits[i].source] = -1
	}
}

func (h *recordHints) note(kind hint, v *mappedValue, status readStatus) {
	s := ""
	if v.kind == kindStr {
		s = v.str
	}
	switch kind {
	case hintContainerID:
		if h.containerID != falcofields.HostContainer && (status == readValue || s == falcofields.HostContainer) {
			h.containerID = s
			if s == "" { // a real id of another type
				h.containerID = "id"
			}
		}
	case hintContainerName:
		if h.containerName != falcofields.HostContainer {
			h.containerName = s
		}
	case hintFDType:
		h.fdType = s
	case hintFDTypechar:
		h.fdTypechar = s
	case hintEvtType:
		h.evtType = s
	}
}

// resolve picks, for every target a hit can fill, the first source in priority order whose
// value is real and converts. (The hot loops below keep slices in locals so that the compiler
// need not reload them after every store.)
func (l *labeler) resolve(hints *recordHints) {
	hits, sourceHit, states := l.hits, l.sourceHit, l.targets
	sources, targets := l.table.sources, l.table.targets
	gen := l.gen
	l.writes = l.writes[:0]
	host := hints.isHostEvent()
	fileChecked, file := false, false
	for i := range hits {
		tid := sources[hits[i].source].target
		st := &states[tid]
		if st.gen == gen {
			continue
		}
		tgt := &targets[tid]
		st.gen, st.found, st.gated = gen, false, host && tgt.container
		if st.gated {
			continue
		}
		if tgt.fileOnly {
			if !fileChecked {
				file, fileChecked = falcofields.IsFileEvent(hints.fdType, hints.fdTypechar, hints.evtType), true
			}
			if !file {
				continue
			}
		}
		for _, sid := range tgt.sources {
			h := sourceHit[sid]
			if h < 0 || hits[h].status != readValue {
				continue
			}
			if c := sources[sid].conv; c == convKeep { // the common case, without a call
				st.value = hits[h].raw
			} else if !convertInto(&st.value, &hits[h].raw, c) {
				continue
			}
			st.winner, st.found = sid, true
			if !tgt.resource {
				l.writes = append(l.writes, tid)
			}
			break
		}
	}
}

// removeOriginals removes the Falco-named fields that carried no value, were dropped by the
// host-event rule, or whose target got a value (from them or a field of higher priority). A
// record-level field mapped onto its own name (user.name) is the result and stays.
func (l *labeler) removeOriginals(attrs pcommon.Map) {
	hits, states, sources := l.hits, l.targets, l.table.sources
	n := attrs.Len()
	if len(l.removeAt) < n {
		l.removeAt = make([]bool, n)
	}
	removeAt := l.removeAt[:n]
	removing := false
	for i := range hits {
		h := &hits[i]
		src := &sources[h.source]
		st := &states[src.target]
		if h.status == readNoValue || (h.status == readValue && (st.gated || (st.found && !src.inPlace))) {
			removeAt[h.pos] = true
			removing = true
		}
	}
	if !removing {
		return
	}
	// RemoveIf visits attributes in order, so the position says which ones.
	pos := 0
	attrs.RemoveIf(func(string, pcommon.Value) bool {
		remove := removeAt[pos]
		pos++
		return remove
	})
	clear(removeAt)
}

// writeRecordTargets writes the record-level results (process.*, user.*, file.path).
func (l *labeler) writeRecordTargets(attrs pcommon.Map) {
	if len(l.writes) == 0 {
		return
	}
	// The receiver sizes attribute maps exactly; growing once by what is needed beats append's
	// doubling when the originals are kept. It is a no-op after removals.
	attrs.EnsureCapacity(attrs.Len() + len(l.writes))
	for _, tid := range l.writes {
		if !l.keepOriginal && l.holding[tid] {
			l.holding[tid] = false
			l.held[tid].MoveTo(attrs.PutEmpty(l.table.targets[tid].key))
			continue
		}
		st := &l.targets[tid]
		if src := &l.table.sources[st.winner]; src.inPlace && src.conv == convKeep {
			continue // already in place, unchanged
		}
		st.value.put(attrs, l.table.targets[tid].key)
	}
}

// resourceValue returns the value the current record gives a resource-level target, or nil.
func (l *labeler) resourceValue(tid int32) *mappedValue {
	if st := &l.targets[tid]; st.gen == l.gen && st.found {
		return &st.value
	}
	return nil
}
