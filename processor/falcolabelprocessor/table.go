// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package falcolabelprocessor // import "github.com/otelcol-falco/otelcol-falco/processor/falcolabelprocessor"

import (
	"strings"

	"github.com/otelcol-falco/otelcol-falco/internal/falcofields"
)

// hint marks Falco fields that steer the mapping without (necessarily) being mapped themselves.
type hint uint8

const (
	hintNone hint = iota
	// hintContainerID: container.id or container.full_id; Falco writes "host" for host events.
	hintContainerID
	// hintContainerName: container.name, "host" for host events when no id is present.
	hintContainerName
	hintFDType
	hintFDTypechar
	hintEvtType
)

var hintFields = map[string]hint{
	falcofields.ContainerID:     hintContainerID,
	falcofields.ContainerFullID: hintContainerID,
	falcofields.ContainerName:   hintContainerName,
	falcofields.FDType:          hintFDType,
	falcofields.FDTypechar:      hintFDTypechar,
	falcofields.EvtType:         hintEvtType,
}

// fieldEntry is what the table knows about one Falco field.
type fieldEntry struct {
	source int32 // index into table.sources, or -1 when the field is only a hint
	hint   hint
	// movable has the bit (1<<kind) of each value kind that, read from this field, is as it is
	// the result of target: the field alone fills a record-level target under another name, and
	// its conversion keeps the kind. Such a value can move to the target instead of being copied.
	movable kindSet
	target  int32
}

// kindSet is a set of valueKinds.
type kindSet uint8

func (s kindSet) has(k valueKind) bool { return s&(1<<k) != 0 }

// source is one Falco field that maps to a target.
type source struct {
	key    string
	target int32
	conv   conversion
	// inPlace: a record-level field mapped onto its own name (user.name), which is its own result.
	inPlace bool
}

// target is one semantic-convention key and the Falco fields that can fill it.
type target struct {
	key       string
	sources   []int32 // priority order: the first with a value wins
	resource  bool    // identity key, written on the resource
	container bool    // dropped for host events
	fileOnly  bool    // written only for file events
}

// table is the mapping compiled for the hot path: one look-up per record attribute, then
// index arithmetic.
type table struct {
	index           fieldIndex
	sources         []source
	targets         []target
	resourceTargets []int32 // in a fixed order, which makes workload keys comparable
}

func compileTable(mappings []Mapping) *table {
	t := &table{}
	targetIDs := map[string]int32{}
	entries := map[string]fieldEntry{}
	for _, m := range mappings {
		id, ok := targetIDs[m.To]
		if !ok {
			id = int32(len(t.targets))
			targetIDs[m.To] = id
			t.targets = append(t.targets, target{
				key:       m.To,
				resource:  falcofields.IsIdentity(m.To),
				container: strings.HasPrefix(m.To, containerPrefix),
				fileOnly:  m.To == targetFilePath,
			})
			if t.targets[id].resource {
				t.resourceTargets = append(t.resourceTargets, id)
			}
		}
		src := int32(len(t.sources))
		inPlace := m.From == m.To && !t.targets[id].resource
		t.sources = append(t.sources, source{key: m.From, target: id, conv: compileConversion(m.Type), inPlace: inPlace})
		t.targets[id].sources = append(t.targets[id].sources, src)
		entries[m.From] = fieldEntry{source: src, hint: hintFields[m.From]}
	}
	for key, e := range entries {
		if e.source >= 0 {
			src := &t.sources[e.source]
			tgt := &t.targets[src.target]
			e.target = src.target
			if !tgt.resource && !tgt.fileOnly && !src.inPlace && len(tgt.sources) == 1 {
				e.movable = kindsKept(src.conv)
			}
			entries[key] = e
		}
	}
	for key, h := range hintFields {
		if _, ok := entries[key]; !ok {
			entries[key] = fieldEntry{source: -1, hint: h}
		}
	}
	t.index = newFieldIndex(entries)
	return t
}

// conversion is Conversion compiled to a number for the hot path.
type conversion uint8

const (
	convKeep conversion = iota
	convString
	convInt
	convStringSlice
)

func compileConversion(c Conversion) conversion {
	switch c {
	case ConversionString:
		return convString
	case ConversionInt:
		return convInt
	case ConversionStringSlice:
		return convStringSlice
	default:
		return convKeep
	}
}

// kindsKept is the set of value kinds c leaves as they are.
func kindsKept(c conversion) kindSet {
	switch c {
	case convKeep:
		return 1<<kindStr | 1<<kindInt | 1<<kindDouble | 1<<kindBool
	case convInt:
		return 1 << kindInt
	case convString:
		return 1 << kindStr
	default:
		return 0
	}
}
