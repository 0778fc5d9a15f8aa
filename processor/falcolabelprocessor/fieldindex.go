// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package falcolabelprocessor // import "github.com/otelcol-falco/otelcol-falco/processor/falcolabelprocessor"

// fieldIndex is a small open-addressing set of Falco field names. Every attribute of every record
// is looked up and most are not in the table, so the hash reads only the length and three bytes
// (Falco names share their prefixes, so the bytes come from the back half) and a miss usually
// ends at the first, empty slot: cheaper than hashing the whole key in a Go map.
type fieldIndex struct {
	slots []indexSlot
	mask  uint32
}

type indexSlot struct {
	key   string // "" marks an empty slot; field names are never empty
	entry fieldEntry
}

func newFieldIndex(entries map[string]fieldEntry) fieldIndex {
	size := 16
	for size < 4*len(entries) { // at most a quarter full keeps probe chains short
		size <<= 1
	}
	idx := fieldIndex{slots: make([]indexSlot, size), mask: uint32(size - 1)}
	for key, entry := range entries {
		if key == "" {
			continue
		}
		i := fieldHash(key) & idx.mask
		for idx.slots[i].key != "" {
			i = (i + 1) & idx.mask
		}
		idx.slots[i] = indexSlot{key: key, entry: entry}
	}
	return idx
}

func (idx *fieldIndex) find(key string) (fieldEntry, bool) {
	if e := idx.lookup(key); e != nil {
		return *e, true
	}
	return fieldEntry{}, false
}

// lookup returns the entry of key, or nil.
func (idx *fieldIndex) lookup(key string) *fieldEntry {
	i := fieldHash(key) & idx.mask
	for {
		slot := &idx.slots[i]
		if slot.key == "" {
			return nil
		}
		if slot.key == key {
			return &slot.entry
		}
		i = (i + 1) & idx.mask
	}
}

func fieldHash(key string) uint32 {
	n := uint(len(key))
	if n == 0 {
		return 0
	}
	h := uint32(n) * 0x9e3779b1
	h ^= uint32(key[n-1]) * 0x85ebca77
	h ^= uint32(key[n/2]) * 0xc2b2ae3d
	h ^= uint32(key[(n*3)/4]) * 0x27d4eb2f
	return h ^ h>>15
}
