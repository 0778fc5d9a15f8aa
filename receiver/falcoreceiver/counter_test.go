// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package falcoreceiver

import (
	"errors"
	"fmt"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

func testMetricsConfig() MetricsConfig {
	cfg := defaultMetricsConfig()
	cfg.MaxSeries = 100
	return cfg
}

// pointsByAttrs indexes a snapshot's data points by their attributes, rendered as a string.
func pointsByAttrs(t *testing.T, md pmetric.Metrics) map[string]pmetric.NumberDataPoint {
	t.Helper()
	out := map[string]pmetric.NumberDataPoint{}
	rms := md.ResourceMetrics()
	for i := 0; i < rms.Len(); i++ {
		host, _ := rms.At(i).Resource().Attributes().Get("host.name")
		m := rms.At(i).ScopeMetrics().At(0).Metrics().At(0)
		require.Equal(t, "falco.events", m.Name())
		require.Equal(t, "{event}", m.Unit())
		require.True(t, m.Sum().IsMonotonic())
		require.Equal(t, pmetric.AggregationTemporalityCumulative, m.Sum().AggregationTemporality())
		dps := m.Sum().DataPoints()
		for j := 0; j < dps.Len(); j++ {
			out[fmt.Sprint(host.Str(), dps.At(j).Attributes().AsRaw())] = dps.At(j)
		}
	}
	return out
}

func TestCounterDefaultAttributes(t *testing.T) {
	c := newEventCounter(testMetricsConfig(), nil)
	a := terminalShellAlert()
	a.Tags = []string{"shell", "T1059", "container"} // unsorted on purpose
	c.count([]*alert{a, a, terminalShellAlert()}, alertTime)

	points := pointsByAttrs(t, c.snapshot(alertTime.Add(time.Second)))
	require.Len(t, points, 2)
	want := map[string]any{
		"falco.rule": "Terminal shell in container", "falco.priority": "notice", "falco.source": "syscall",
		"falco.tags": "T1059,container,shell", "evt.type": "execve",
		"k8s.ns.name": "shop", "k8s.pod.name": "nginx-7c5ddbdf54-x2x8p",
		"container.id": "3ad7b26ded6d", "container.name": "nginx",
	}
	dp, ok := points[fmt.Sprint("node-1", want)]
	require.True(t, ok, "series missing; have %v", points)
	assert.Equal(t, int64(2), dp.IntValue())
}

func TestCounterIsCumulativeWithStableStart(t *testing.T) {
	c := newEventCounter(testMetricsConfig(), nil)
	c.count([]*alert{terminalShellAlert()}, alertTime)
	first := c.snapshot(alertTime.Add(time.Second))
	c.count([]*alert{terminalShellAlert(), terminalShellAlert()}, alertTime.Add(2*time.Second))
	second := c.snapshot(alertTime.Add(3 * time.Second))

	p1 := first.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(0).Sum().DataPoints().At(0)
	p2 := second.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(0).Sum().DataPoints().At(0)
	assert.Equal(t, int64(1), p1.IntValue())
	assert.Equal(t, int64(3), p2.IntValue())
	assert.Equal(t, p1.StartTimestamp(), p2.StartTimestamp())
	assert.Less(t, p1.Timestamp(), p2.Timestamp())
}

func TestCounterOmitsMissingValues(t *testing.T) {
	c := newEventCounter(testMetricsConfig(), nil)
	host := terminalShellAlert()
	host.Fields = []field{{"evt.type", stringValue("openat")}, {"k8s.ns.name", stringValue(noValue)}, {"container.id", stringValue("host")}}
	host.Tags = nil
	c.count([]*alert{host}, alertTime)
	dp := c.snapshot(alertTime).ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(0).Sum().DataPoints().At(0)
	assert.Equal(t, map[string]any{
		"falco.rule": "Terminal shell in container", "falco.priority": "notice", "falco.source": "syscall",
		"evt.type": "openat", "container.id": "host",
	}, dp.Attributes().AsRaw())
}

func TestCounterConfiguredAttributes(t *testing.T) {
	cfg := testMetricsConfig()
	cfg.Attributes = []string{"falco.priority", "user.uid"}
	c := newEventCounter(cfg, nil)
	c.count([]*alert{terminalShellAlert()}, alertTime)
	dp := c.snapshot(alertTime).ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(0).Sum().DataPoints().At(0)
	assert.Equal(t, map[string]any{"falco.priority": "notice", "user.uid": "0"}, dp.Attributes().AsRaw())
}

func TestCounterSeriesPerHost(t *testing.T) {
	c := newEventCounter(testMetricsConfig(), nil)
	a, b := terminalShellAlert(), terminalShellAlert()
	b.Hostname = "node-2"
	c.count([]*alert{a, b}, alertTime)
	md := c.snapshot(alertTime)
	assert.Equal(t, 2, md.ResourceMetrics().Len())
	assert.Equal(t, 2, md.DataPointCount())
}

func TestCounterOverflow(t *testing.T) {
	cfg := testMetricsConfig()
	cfg.MaxSeries = 3
	var overflows, firsts int
	c := newEventCounter(cfg, func(first bool) {
		overflows++
		if first {
			firsts++
		}
	})
	for i := range 10 {
		a := terminalShellAlert()
		a.Rule = fmt.Sprintf("rule-%d", i)
		c.count([]*alert{a}, alertTime)
	}
	points := pointsByAttrs(t, c.snapshot(alertTime))
	require.Len(t, points, 4)
	overflow := points[fmt.Sprint("node-1", map[string]any{"otel.metric.overflow": true})]
	assert.Equal(t, int64(7), overflow.IntValue())
	assert.Equal(t, 7, overflows)
	assert.Equal(t, 1, firsts)
	assert.Equal(t, 3, c.seriesCount())
}

func TestCounterDropsIdleSeries(t *testing.T) {
	cfg := testMetricsConfig()
	cfg.SeriesIdleTimeout = time.Minute
	c := newEventCounter(cfg, nil)
	old, fresh := terminalShellAlert(), terminalShellAlert()
	fresh.Rule = "Read sensitive file untrusted"
	c.count([]*alert{old}, alertTime)
	c.count([]*alert{fresh}, alertTime.Add(2*time.Minute))
	md := c.snapshot(alertTime.Add(2*time.Minute + time.Second))
	assert.Equal(t, 1, md.DataPointCount())
	assert.Equal(t, 1, c.seriesCount())
}

func TestCounterEmptySnapshot(t *testing.T) {
	c := newEventCounter(testMetricsConfig(), nil)
	assert.Equal(t, 0, c.snapshot(alertTime).ResourceMetrics().Len())
}

func BenchmarkCount(b *testing.B) {
	cfg := defaultMetricsConfig()
	c := newEventCounter(cfg, nil)
	alerts := make([]*alert, 700)
	for i := range alerts {
		a := terminalShellAlert()
		a.Rule = fmt.Sprintf("rule-%d", i%7)
		a.Fields = append(a.Fields, field{"k8s.pod.name", stringValue(fmt.Sprintf("pod-%d", i/7))})
		alerts[i] = a
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		c.count(alerts[i%700:i%700+1], alertTime)
	}
}

func BenchmarkAlertsToLogs(b *testing.B) {
	alerts := make([]*alert, 512)
	for i := range alerts {
		alerts[i] = terminalShellAlert()
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = alertsToLogs(alerts, observedTime)
	}
}

// A series must not keep the alert's memory: over gRPC its strings point into the message buffer,
// over HTTP into a decode arena, and keeping them would pin a whole message per series.
func TestCounterSeriesOwnTheirStrings(t *testing.T) {
	buf := []byte("node-9|Terminal shell in container|shop|web-1")
	view := func(from, to int) string { return unsafe.String(&buf[from], to-from) }
	a := terminalShellAlert()
	a.Hostname, a.Rule = view(0, 6), view(7, 34)
	for i := range a.Fields {
		if a.Fields[i].Key == "k8s.pod.name" {
			a.Fields[i].Value = stringValue(view(40, 45))
		}
	}
	cfg := testMetricsConfig()
	cfg.MaxSeries = 1
	c := newEventCounter(cfg, nil)
	over := terminalShellAlert()
	over.Hostname = view(0, 6)
	over.Rule = "another rule"
	c.count([]*alert{a, over}, alertTime) // the second one lands in the overflow series
	for i := range buf {
		buf[i] = 'x' // the buffer is reused for the next message
	}

	md := c.snapshot(alertTime.Add(time.Second))
	require.Equal(t, 1, md.ResourceMetrics().Len())
	rm := md.ResourceMetrics().At(0)
	host, _ := rm.Resource().Attributes().Get("host.name")
	assert.Equal(t, "node-9", host.Str())
	dps := rm.ScopeMetrics().At(0).Metrics().At(0).Sum().DataPoints()
	require.Equal(t, 2, dps.Len())
	var found bool
	for i := 0; i < dps.Len(); i++ {
		attrs := dps.At(i).Attributes()
		if _, overflow := attrs.Get("otel.metric.overflow"); overflow {
			continue
		}
		found = true
		rule, _ := attrs.Get("falco.rule")
		pod, _ := attrs.Get("k8s.pod.name")
		assert.Equal(t, "Terminal shell in container", rule.Str())
		assert.Equal(t, "web-1", pod.Str())
	}
	assert.True(t, found)
}

func TestCounterSnapshotChunks(t *testing.T) {
	c := newEventCounter(testMetricsConfig(), nil)
	for i := range 10 {
		a := terminalShellAlert()
		a.Rule = fmt.Sprintf("rule %d", i)
		if i%2 == 1 {
			a.Hostname = "other-node"
		}
		c.count([]*alert{a, a}, alertTime)
	}
	var chunks []int
	total := map[string]int64{}
	refused := errors.New("refused")
	err := c.snapshotChunks(alertTime, 4, func(md pmetric.Metrics) error {
		chunks = append(chunks, md.DataPointCount())
		for k, dp := range pointsByAttrs(t, md) {
			total[k] += dp.IntValue()
		}
		return refused
	})
	require.ErrorIs(t, err, refused)
	assert.Equal(t, []int{4, 4, 2}, chunks, "every chunk is emitted although the first was refused")
	assert.Len(t, total, 10)
	for k, v := range total {
		assert.Equal(t, int64(2), v, k)
	}
}

// TestCounterValuesWithSeparatorBytes: a 0 byte (the key separator) from a peer cannot shift or
// merge values, and empty values stay absent.
func TestCounterValuesWithSeparatorBytes(t *testing.T) {
	cfg := testMetricsConfig()
	cfg.Attributes = []string{"falco.rule", "k8s.pod.name", "falco.source"}
	c := newEventCounter(cfg, nil)
	a := terminalShellAlert()
	a.Hostname, a.Rule, a.Source = "no\x00de", "ru\x00le", ""
	c.count([]*alert{a}, alertTime)
	points := pointsByAttrs(t, c.snapshot(alertTime))
	require.Len(t, points, 1)
	for k := range points {
		assert.Equal(t, "nodemap[falco.rule:rule k8s.pod.name:nginx-7c5ddbdf54-x2x8p]", k)
	}
}

// TestCounterChunksKeepCollapsingSeriesTogether: series that falcolabel may add up (the same pod
// under k8smeta's field alone, then under both spellings) are emitted in one chunk, whatever the
// chunk size, while unrelated series are spread over chunks.
func TestCounterChunksKeepCollapsingSeriesTogether(t *testing.T) {
	c := newEventCounter(testMetricsConfig(), nil)
	var alerts []*alert
	for pod := range 6 {
		name := fmt.Sprintf("web-%d", pod)
		before := terminalShellAlert() // k8smeta only: the container plugin did not know the pod yet
		after := terminalShellAlert()  // both spellings
		var kept []field
		for _, f := range before.Fields {
			if f.Key != "k8s.pod.name" && f.Key != "k8s.ns.name" {
				kept = append(kept, f)
			}
		}
		before.Fields = append(kept, field{Key: "k8smeta.pod.name", Value: stringValue(name)}, field{Key: "k8smeta.ns.name", Value: stringValue("shop")})
		for i := range after.Fields {
			switch after.Fields[i].Key {
			case "k8s.pod.name":
				after.Fields[i].Value = stringValue(name)
			case "k8s.ns.name":
				after.Fields[i].Value = stringValue("shop")
			}
		}
		after.Fields = append(after.Fields, field{Key: "k8smeta.pod.name", Value: stringValue(name)}, field{Key: "k8smeta.ns.name", Value: stringValue("shop")})
		alerts = append(alerts, before, after)
	}
	c.count(alerts, alertTime)
	require.Equal(t, 12, c.seriesCount())

	chunkOf := map[string]int{} // pod -> chunk
	chunks := 0
	require.NoError(t, c.snapshotChunks(alertTime, 1, func(md pmetric.Metrics) error {
		chunks++
		dps := md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(0).Sum().DataPoints()
		for i := range dps.Len() {
			pod, ok := dps.At(i).Attributes().Get("k8smeta.pod.name")
			require.True(t, ok)
			if prev, seen := chunkOf[pod.Str()]; seen {
				assert.Equal(t, prev, chunks, "both series of %s in one chunk", pod.Str())
			}
			chunkOf[pod.Str()] = chunks
		}
		return nil
	}))
	assert.Equal(t, 6, chunks, "one chunk per pod")
}
