// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package falcolabelprocessor // import "github.com/otelcol-falco/otelcol-falco/processor/falcolabelprocessor"

import "strings"

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
	"container.id":      hintContainerID,
	"container.full_id": hintContainerID,
	"container.name":    hintContainerName,
	"fd.type":           hintFDType,
	"fd.typechar":       hintFDTypechar,
	"evt.type":          hintEvtType,
}

// fieldEntry is what the table knows about one Falco field.
type fieldEntry struct {
	source int32 // index into table.sources, or -1 when the field is only a hint
	hint   hint
}

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
				resource:  isResourceKey(m.To),
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

func isResourceKey(key string) bool {
	for _, p := range resourcePrefixes {
		if strings.HasPrefix(key, p) {
			return true
		}
	}
	return false
}
