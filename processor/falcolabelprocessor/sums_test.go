// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package falcolabelprocessor

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

func TestAddPoint(t *testing.T) {
	type point struct {
		value      any // int64, float64 or nil (no value)
		start, ts  pcommon.Timestamp
		noRecorded bool
	}
	build := func(p point) pmetric.NumberDataPoint {
		dp := pmetric.NewNumberDataPoint()
		switch v := p.value.(type) {
		case int64:
			dp.SetIntValue(v)
		case float64:
			dp.SetDoubleValue(v)
		}
		dp.SetStartTimestamp(p.start)
		dp.SetTimestamp(p.ts)
		dp.SetFlags(pmetric.DefaultDataPointFlags.WithNoRecordedValue(p.noRecorded))
		dp.Exemplars().AppendEmpty()
		return dp
	}
	tests := []struct {
		name      string
		into, add point
		want      point
	}{
		{
			name: "ints add up, earliest start, latest time",
			into: point{value: int64(3), start: 20, ts: 100},
			add:  point{value: int64(4), start: 10, ts: 90},
			want: point{value: int64(7), start: 10, ts: 100},
		},
		{
			name: "a double makes the sum a double",
			into: point{value: int64(3), start: 10, ts: 90},
			add:  point{value: 0.5, start: 20, ts: 100},
			want: point{value: 3.5, start: 10, ts: 100},
		},
		{
			name: "an unset start time does not win",
			into: point{value: 1.5, ts: 100},
			add:  point{value: int64(1), start: 20, ts: 100},
			want: point{value: 2.5, start: 20, ts: 100},
		},
		{
			name: "a point without value adds nothing",
			into: point{value: int64(3), start: 10, ts: 100},
			add:  point{start: 10, ts: 100, noRecorded: true},
			want: point{value: int64(3), start: 10, ts: 100},
		},
		{
			name: "a value fills a point without one",
			into: point{start: 10, ts: 100, noRecorded: true},
			add:  point{value: int64(5), start: 10, ts: 100},
			want: point{value: int64(5), start: 10, ts: 100},
		},
		{
			name: "a double fills a point without one",
			into: point{start: 10, ts: 100},
			add:  point{value: 2.5, start: 10, ts: 100},
			want: point{value: 2.5, start: 10, ts: 100},
		},
		{
			name: "stale only when both are",
			into: point{value: int64(1), start: 10, ts: 100, noRecorded: true},
			add:  point{value: int64(1), start: 10, ts: 100, noRecorded: true},
			want: point{value: int64(2), start: 10, ts: 100, noRecorded: true},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			into := build(tt.into)
			addPoint(into, build(tt.add))
			want := build(tt.want)
			want.Exemplars().AppendEmpty()
			assert.Equal(t, want, into)
		})
	}
}

func TestSameMetric(t *testing.T) {
	newSum := func(temporality pmetric.AggregationTemporality, monotonic bool) pmetric.Metric {
		m := pmetric.NewMetric()
		m.SetName("falco.events")
		m.SetEmptySum().SetAggregationTemporality(temporality)
		m.Sum().SetIsMonotonic(monotonic)
		return m
	}
	cumulative := newSum(pmetric.AggregationTemporalityCumulative, true)
	assert.True(t, sameMetric(cumulative, newSum(pmetric.AggregationTemporalityCumulative, true)))
	assert.False(t, sameMetric(cumulative, newSum(pmetric.AggregationTemporalityDelta, true)))
	assert.False(t, sameMetric(cumulative, newSum(pmetric.AggregationTemporalityCumulative, false)))
	renamed := newSum(pmetric.AggregationTemporalityCumulative, true)
	renamed.SetName("other")
	assert.False(t, sameMetric(cumulative, renamed))

	gauge := pmetric.NewMetric()
	gauge.SetName("falco.events")
	gauge.SetEmptyGauge()
	assert.False(t, sameMetric(cumulative, gauge))
}

func TestDefaultTargets(t *testing.T) {
	targets := DefaultTargets()
	assert.Equal(t, "k8s.namespace.name", targets["k8smeta.ns.name"])
	assert.Equal(t, "file.path", targets["fd.name"])
	assert.Len(t, targets, len(defaultMappings))
}
