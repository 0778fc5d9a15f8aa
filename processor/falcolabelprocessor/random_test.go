// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package falcolabelprocessor

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/otelcol-falco/otelcol-falco/internal/falcofields"
)

// randomKeys mixes table fields, hints, their semantic-convention names and others.
var randomKeys = func() []string {
	keys := []string{"fd.type", "fd.typechar", "evt.type", "proc.aname[2]", "falco.rule", "", "k8s.node.name", "x"}
	for _, m := range defaultMappings {
		keys = append(keys, m.From, m.To)
	}
	return keys
}()

var randomStrings = []string{"", "<NA>", "null", "host", "file", "f", "openat", "connect", "a", "b", "1234", "-1", "9223372036854775808", "1.5"}

func randomValue(r *rand.Rand, v pcommon.Value) {
	switch r.IntN(8) {
	case 0, 1, 2:
		v.SetStr(randomStrings[r.IntN(len(randomStrings))])
	case 3:
		v.SetInt(r.Int64N(5) - 2)
	case 4:
		v.SetDouble([]float64{0, 1, 1.5, -3, 1e300}[r.IntN(5)])
	case 5:
		v.SetBool(r.IntN(2) == 0)
	case 6:
		s := v.SetEmptySlice()
		s.AppendEmpty().SetStr("a")
	case 7: // leave empty, or a map
		if r.IntN(2) == 0 {
			v.SetEmptyMap().PutStr("k", "v")
		}
	}
}

func randomAttrs(r *rand.Rand, m pcommon.Map) {
	for n := r.IntN(12); n > 0; n-- {
		randomValue(r, m.PutEmpty(randomKeys[r.IntN(len(randomKeys))]))
	}
}

func randomConfig(r *rand.Rand) *Config {
	cfg := &Config{KeepOriginal: r.IntN(2) == 0}
	if r.IntN(2) == 0 {
		cfg.K8sNodeName = "node"
	}
	used := map[string]bool{}
	for n := r.IntN(4); n > 0; n-- {
		from := randomKeys[r.IntN(len(randomKeys))]
		if from == "" || used[from] {
			continue
		}
		used[from] = true
		to := randomKeys[r.IntN(len(randomKeys))]
		var conv Conversion
		if to != "" {
			conv = []Conversion{ConversionNone, ConversionString, ConversionInt, ConversionStringSlice}[r.IntN(4)]
		}
		cfg.Mappings = append(cfg.Mappings, Mapping{From: from, To: to, Type: conv})
	}
	return cfg
}

// TestRandomInputsNeverPanicNorLose feeds random shapes through both signals: nothing panics,
// no record or point is lost, and no identity value the processor writes is a no-value marker.
func TestRandomInputsNeverPanicNorLose(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 300; i++ {
		cfg := randomConfig(r)
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			ld := plog.NewLogs()
			md := pmetric.NewMetrics()
			for n := r.IntN(4); n > 0; n-- {
				rl := ld.ResourceLogs().AppendEmpty()
				randomAttrs(r, rl.Resource().Attributes())
				rm := md.ResourceMetrics().AppendEmpty()
				rl.Resource().CopyTo(rm.Resource())
				for s := r.IntN(3); s > 0; s-- {
					sl := rl.ScopeLogs().AppendEmpty()
					sl.Scope().SetName(fmt.Sprint("scope", r.IntN(2)))
					m := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
					m.SetName("falco.events")
					m.SetEmptySum().SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
					for k := r.IntN(6); k > 0; k-- {
						randomAttrs(r, sl.LogRecords().AppendEmpty().Attributes())
						dp := m.Sum().DataPoints().AppendEmpty()
						randomAttrs(r, dp.Attributes())
						dp.SetIntValue(1)
					}
				}
			}
			inputMarkers := map[string]bool{} // no-value markers the input resources already had
			for _, rl := range ld.ResourceLogs().All() {
				for k, v := range rl.Resource().Attributes().All() {
					inputMarkers[k+"="+v.AsString()] = true
				}
			}
			logs, points := ld.LogRecordCount(), md.DataPointCount()
			var sum int64 = int64(points)

			var outLogs plog.Logs
			var outMetrics pmetric.Metrics
			require.NotPanics(t, func() {
				outLogs = processLogs(t, cfg, ld)
				outMetrics = processMetrics(t, cfg, md)
			})
			assert.Equal(t, logs, outLogs.LogRecordCount())
			for _, rl := range outLogs.ResourceLogs().All() {
				for k, v := range rl.Resource().Attributes().All() {
					if v.Type() == pcommon.ValueTypeStr && falcofields.IsNoValue(v.Str()) {
						assert.True(t, inputMarkers[k+"="+v.Str()], "wrote %s=%q", k, v.Str())
					}
				}
			}
			var gotSum int64
			for _, rm := range outMetrics.ResourceMetrics().All() {
				for _, sm := range rm.ScopeMetrics().All() {
					for _, m := range sm.Metrics().All() {
						for _, dp := range m.Sum().DataPoints().All() {
							gotSum += dp.IntValue()
						}
					}
				}
			}
			assert.Equal(t, sum, gotSum, "points keep their counts")
			assert.Equal(t, points, outMetrics.DataPointCount(), "one point out for one in")
		})
	}
}

// FuzzLabel labels attributes decoded from arbitrary bytes; `go test -fuzz FuzzLabel` explores.
func FuzzLabel(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3}, false)
	f.Add([]byte("container.id host k8s.ns.name <NA>"), true)
	f.Fuzz(func(t *testing.T, data []byte, keep bool) {
		attrs := pcommon.NewMap()
		for i := 0; i+1 < len(data); i += 2 {
			key := randomKeys[int(data[i])%len(randomKeys)]
			v := attrs.PutEmpty(key)
			switch b := data[i+1]; b % 4 {
			case 0:
				v.SetStr(randomStrings[int(b/4)%len(randomStrings)])
			case 1:
				v.SetInt(int64(b))
			case 2:
				v.SetBool(b > 128)
			case 3:
				v.SetEmptySlice()
			}
		}
		ld := plog.NewLogs()
		attrs.CopyTo(ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty().Attributes())
		out := processLogs(t, &Config{KeepOriginal: keep, K8sNodeName: "n"}, ld)
		require.Equal(t, 1, out.LogRecordCount())
	})
}
