// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package falcolabelprocessor

import (
	"hash/maphash"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
)

// TestWorkloadOfMatchesLookup checks the previous-record shortcut of workloadOf against the
// key look-up, over random records of a few resources, often repeating the previous record.
func TestWorkloadOfMatchesLookup(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 200; i++ {
		cfg := randomConfig(r)
		tbl := compileTable(mergeMappings(defaultMappings, cfg.Mappings))
		lab := newLabeler(tbl, cfg.KeepOriginal)
		w := newWorkloads(tbl, "", maphash.MakeSeed())
		var classes []int32
		for n := 1 + r.IntN(3); n > 0; n-- {
			res := pcommon.NewResource()
			randomAttrs(r, res.Attributes())
			classes = append(classes, w.classOf(res))
		}
		prev := pcommon.NewMap()
		for k := 0; k < 50; k++ {
			attrs := pcommon.NewMap()
			if r.IntN(2) == 0 {
				prev.CopyTo(attrs)
			} else {
				randomAttrs(r, attrs)
			}
			attrs.CopyTo(prev)
			class := classes[r.IntN(len(classes))]
			lab.label(attrs)
			got := w.workloadOf(class, lab)
			require.Equal(t, w.lookup(class, lab), got, "record %d of case %d", k, i)
		}
	}
}
