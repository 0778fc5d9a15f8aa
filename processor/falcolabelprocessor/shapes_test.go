// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package falcolabelprocessor

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestShapeCacheMatchesIndex checks the remembered look-ups against the index, over records
// that repeat, change and lengthen the previous shape, with keys in fresh strings.
func TestShapeCacheMatchesIndex(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	tbl := compileTable(defaultMappings)
	var c shapeCache
	var prev []string
	for i := 0; i < 2000; i++ {
		keys := prev
		if r.IntN(3) == 0 || len(keys) == 0 {
			keys = make([]string, r.IntN(maxShapeLen+20))
			for j := range keys {
				keys[j] = randomKeys[r.IntN(len(randomKeys))]
			}
		}
		prev = keys
		slots := c.slots(len(keys))
		for j, k := range keys {
			k = strings.Clone(k)
			entry, ok := tbl.index.find(k)
			got := tbl.index.entryAt(&slots[j], k)
			require.Equal(t, ok, got != nil, "key %q", k)
			if ok {
				require.Equal(t, entry, *got, "key %q", k)
			}
		}
	}
	c.reset()
	for _, slots := range c.byLen {
		for _, s := range slots {
			require.Equal(t, shapeSlot{}, s)
		}
	}
}
