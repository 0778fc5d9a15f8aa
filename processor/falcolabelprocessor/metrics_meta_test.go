// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package falcolabelprocessor

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

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
