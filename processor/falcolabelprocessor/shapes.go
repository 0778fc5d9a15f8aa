// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package falcolabelprocessor // import "github.com/otelcol-falco/otelcol-falco/processor/falcolabelprocessor"

// shapeCache remembers the keys of the last record of each attribute count and what the index
// holds for each. Alerts of one rule carry the same output fields in the same order, so a
// key usually equals the remembered one at its position: one string comparison instead of a
// hash and probe. A key that differs is looked up and remembered in its place.
type shapeCache struct {
	byLen [][]shapeSlot // [attribute count]; records longer than maxShapeLen share the last
}

type shapeSlot struct {
	key   string
	entry *fieldEntry // nil: not in the table
}

const maxShapeLen = 128

// slots returns the remembered slots for a record of n attributes.
func (c *shapeCache) slots(n int) []shapeSlot {
	i := min(n, maxShapeLen)
	if i >= len(c.byLen) {
		c.byLen = append(c.byLen, make([][]shapeSlot, i+1-len(c.byLen))...)
	}
	if len(c.byLen[i]) < n {
		c.byLen[i] = append(c.byLen[i], make([]shapeSlot, n-len(c.byLen[i]))...)
	}
	return c.byLen[i][:n]
}

// entryAt returns the index entry of key, the attribute remembered in s.
func (idx *fieldIndex) entryAt(s *shapeSlot, key string) *fieldEntry {
	if s.key != key { // "" matches a fresh slot, and is in no table
		s.key, s.entry = key, idx.lookup(key)
	}
	return s.entry
}

// reset drops the remembered keys, which point into the batch's data.
func (c *shapeCache) reset() {
	for _, slots := range c.byLen {
		clear(slots)
	}
}
