// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package falcolabelprocessor

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

const (
	start1 = pcommon.Timestamp(1_700_000_000_000_000_000)
	start2 = pcommon.Timestamp(1_700_000_100_000_000_000)
	tick1  = pcommon.Timestamp(1_700_000_200_000_000_000)
	tick2  = pcommon.Timestamp(1_700_000_210_000_000_000)
)

var overflowPoint = map[string]any{"otel.metric.overflow": true}

func hostAlertFields() map[string]any {
	return with(without(alertFields(), "k8s.", "k8smeta."), map[string]any{
		"container.id": "host", "container.full_id": nil, "container.name": "host",
	})
}

// eventSeries is the receiver's set of falco.events series at one interval.
func eventSeries(scale int64) []series {
	return []series{
		{attrs: eventPointAttrs(podAlert("web", 1)), start: start1, value: 3 * scale},
		{attrs: eventPointAttrs(podAlert("web", 2)), start: start1, value: 1 * scale},
		{attrs: eventPointAttrs(with(podAlert("web", 1), map[string]any{"falco.rule": "Read sensitive file untrusted"})), start: start2, value: 2 * scale},
		{attrs: eventPointAttrs(hostAlertFields()), start: start2, value: 5 * scale},
		{attrs: overflowPoint, start: start1, value: 7 * scale},
	}
}

func TestMetricsMoveIdentityToResource(t *testing.T) {
	out := processMetrics(t, &Config{}, newEventsMetrics(t, "node-1", tick1, eventSeries(1)...))

	hostResource := map[string]any{"service.name": "falco", "host.name": "node-1"}
	podResource := func(i int) map[string]any {
		return with(hostResource, map[string]any{
			"k8s.namespace.name": "web", "k8s.pod.name": fmt.Sprintf("app-%d", i),
			"container.id": fmt.Sprintf("%012x", 0xc0ffee000+i), "container.name": "app", // points carry the 12-char id
		})
	}
	point := func(rule string) map[string]any {
		return map[string]any{
			"falco.rule": rule, "falco.priority": "notice", "falco.source": "syscall",
			"falco.tags": "T1059,container,mitre_execution,shell", "evt.type": "execve",
		}
	}
	want := map[string]int64{
		key(podResource(1), point("Terminal shell in container")):   3,
		key(podResource(2), point("Terminal shell in container")):   1,
		key(podResource(1), point("Read sensitive file untrusted")): 2,
		key(hostResource, point("Terminal shell in container")):     5,
		key(hostResource, overflowPoint):                            7,
	}
	got := map[string]int64{}
	for k, dp := range flattenSums(t, out) {
		got[k] = dp.IntValue()
	}
	assert.Equal(t, want, got)
	assert.Equal(t, 3, out.ResourceMetrics().Len(), "app-1, app-2 and the host")

	for _, rm := range out.ResourceMetrics().All() {
		for _, sm := range rm.ScopeMetrics().All() {
			assert.Equal(t, receiverScope, sm.Scope().Name())
			for _, m := range sm.Metrics().All() {
				assert.Equal(t, "{event}", m.Unit())
				assert.True(t, m.Sum().IsMonotonic())
				assert.Equal(t, pmetric.AggregationTemporalityCumulative, m.Sum().AggregationTemporality())
			}
		}
	}
}

// key is flattenSums' key of a falco.events series.
func key(resource, point map[string]any) string {
	res, pt := pcommon.NewMap(), pcommon.NewMap()
	_ = res.FromRaw(resource)
	_ = pt.FromRaw(point)
	return "falco.events|" + seriesKey(res, pt)
}

// TestMetricsStayContinuous checks that consecutive cumulative exports of the same series come
// out as the same series, with the same start times and growing values.
func TestMetricsStayContinuous(t *testing.T) {
	p := newTestProcessor(t, &Config{K8sNodeName: "worker-1"})
	first, err := p.processMetrics(t.Context(), newEventsMetrics(t, "node-1", tick1, eventSeries(1)...))
	require.NoError(t, err)
	// The next interval re-emits every series in another order, with higher counts.
	next := eventSeries(2)
	next[0], next[3] = next[3], next[0]
	second, err := p.processMetrics(t.Context(), newEventsMetrics(t, "node-1", tick2, next...))
	require.NoError(t, err)

	a, b := flattenSums(t, first), flattenSums(t, second)
	require.Len(t, a, 5)
	require.Len(t, b, 5)
	for key, dp := range a {
		later, ok := b[key]
		require.True(t, ok, "series %s disappeared", key)
		assert.Equal(t, dp.StartTimestamp(), later.StartTimestamp(), key)
		assert.Equal(t, 2*dp.IntValue(), later.IntValue(), key)
		assert.Equal(t, tick2, later.Timestamp())
	}
}

// TestMetricsNeverAddSeriesTogether: the processor renames and moves points, one out for one in;
// it never adds series together, so batching before it cannot break a cumulative series. (The
// falco receiver counts each workload under one spelling, so its series stay distinct.)
func TestMetricsNeverAddSeriesTogether(t *testing.T) {
	early := eventPointAttrs(with(podAlert("web", 1), map[string]any{"k8s.pod.name": nil, "k8s.ns.name": nil}))
	later := eventPointAttrs(podAlert("web", 1))
	md := newEventsMetrics(t, "node-1", tick1,
		series{attrs: later, start: start2, value: 10},
		series{attrs: early, start: start1, value: 4},
	)
	out := processMetrics(t, &Config{}, md)
	assert.Equal(t, 2, out.DataPointCount())
}

func TestMetricsKeepOriginal(t *testing.T) {
	out := processMetrics(t, &Config{KeepOriginal: true}, newEventsMetrics(t, "node-1", tick1,
		series{attrs: eventPointAttrs(podAlert("web", 1)), start: start1, value: 1}))
	require.Equal(t, 1, out.ResourceMetrics().Len())
	rm := out.ResourceMetrics().At(0)
	ns, _ := rm.Resource().Attributes().Get("k8s.namespace.name")
	assert.Equal(t, "web", ns.Str())
	dp := rm.ScopeMetrics().At(0).Metrics().At(0).Sum().DataPoints().At(0)
	for _, k := range []string{"k8s.ns.name", "k8s.pod.name", "k8smeta.ns.name", "k8smeta.pod.name", "container.id", "container.name"} {
		_, ok := dp.Attributes().Get(k)
		assert.True(t, ok, k)
	}
}

// TestMetricsAllPointTypes regroups every data point type without losing one.
func TestMetricsAllPointTypes(t *testing.T) {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("host.name", "node-1")
	sm := rm.ScopeMetrics().AppendEmpty()
	pods := []map[string]any{eventPointAttrs(podAlert("ns", 1)), eventPointAttrs(podAlert("ns", 2)), eventPointAttrs(podAlert("ns", 1))}

	g := sm.Metrics().AppendEmpty()
	g.SetName("gauge")
	h := sm.Metrics().AppendEmpty()
	h.SetName("histogram")
	h.SetEmptyHistogram().SetAggregationTemporality(pmetric.AggregationTemporalityDelta)
	e := sm.Metrics().AppendEmpty()
	e.SetName("exponential")
	e.SetEmptyExponentialHistogram().SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
	s := sm.Metrics().AppendEmpty()
	s.SetName("summary")
	s.SetEmptySummary()
	g.SetEmptyGauge()
	for i, attrs := range pods {
		gp := g.Gauge().DataPoints().AppendEmpty()
		gp.SetDoubleValue(float64(i))
		putSorted(t, gp.Attributes(), attrs)
		hp := h.Histogram().DataPoints().AppendEmpty()
		hp.SetCount(uint64(i))
		putSorted(t, hp.Attributes(), attrs)
		ep := e.ExponentialHistogram().DataPoints().AppendEmpty()
		ep.SetCount(uint64(i))
		putSorted(t, ep.Attributes(), attrs)
		sp := s.Summary().DataPoints().AppendEmpty()
		sp.SetCount(uint64(i))
		putSorted(t, sp.Attributes(), attrs)
	}
	empty := sm.Metrics().AppendEmpty()
	empty.SetName("no points")

	out := processMetrics(t, &Config{}, md)
	assert.Equal(t, 12, out.DataPointCount())
	require.Equal(t, 2, out.ResourceMetrics().Len())
	for _, rm := range out.ResourceMetrics().All() {
		pod, _ := rm.Resource().Attributes().Get("k8s.pod.name")
		want := map[string]int{"app-1": 2, "app-2": 1}[pod.Str()]
		for _, m := range rm.ScopeMetrics().At(0).Metrics().All() {
			switch m.Type() {
			case pmetric.MetricTypeGauge:
				assert.Equal(t, want, m.Gauge().DataPoints().Len())
			case pmetric.MetricTypeHistogram:
				assert.Equal(t, want, m.Histogram().DataPoints().Len())
				assert.Equal(t, pmetric.AggregationTemporalityDelta, m.Histogram().AggregationTemporality())
			case pmetric.MetricTypeExponentialHistogram:
				assert.Equal(t, want, m.ExponentialHistogram().DataPoints().Len())
				assert.Equal(t, pmetric.AggregationTemporalityCumulative, m.ExponentialHistogram().AggregationTemporality())
			case pmetric.MetricTypeSummary:
				assert.Equal(t, want, m.Summary().DataPoints().Len())
			case pmetric.MetricTypeEmpty:
				assert.Equal(t, "app-1", pod.Str(), "a metric without points stays home")
			default:
				t.Fatalf("unexpected %v", m.Type())
			}
		}
	}
}

// TestMetricsOfOtherReceiversPassThrough covers Falco's own metrics, scraped by the prometheus
// receiver into the same pipeline: nothing of the table is in them, so only the node name is added.
func TestMetricsOfOtherReceiversPassThrough(t *testing.T) {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("service.name", "falco")
	rm.Resource().Attributes().PutStr("service.instance.id", "localhost:8765")
	m := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	m.SetName("falcosecurity_falco_rules_matches_total")
	sum := m.SetEmptySum()
	sum.SetIsMonotonic(true)
	sum.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
	for _, rule := range []string{"Terminal shell in container", "Read sensitive file untrusted"} {
		dp := sum.DataPoints().AppendEmpty()
		dp.Attributes().PutStr("rule_name", rule)
		dp.Attributes().PutStr("priority", "4")
		dp.Attributes().PutStr("hostname", "node-1")
		dp.SetIntValue(1)
	}
	want := pmetric.NewMetrics()
	md.CopyTo(want)
	want.ResourceMetrics().At(0).Resource().Attributes().PutStr("k8s.node.name", "worker-1")

	got := processMetrics(t, &Config{K8sNodeName: "worker-1"}, md)
	assert.Equal(t, want, got)
}
