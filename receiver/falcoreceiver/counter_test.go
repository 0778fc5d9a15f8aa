// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package falcoreceiver

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
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
	overflow := points[fmt.Sprint("", map[string]any{"otel.metric.overflow": true})]
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
	require.Equal(t, 2, md.ResourceMetrics().Len(), "the series and the overflow series")
	var found bool
	for i := 0; i < md.ResourceMetrics().Len(); i++ {
		rm := md.ResourceMetrics().At(i)
		dps := rm.ScopeMetrics().At(0).Metrics().At(0).Sum().DataPoints()
		require.Equal(t, 1, dps.Len())
		attrs := dps.At(0).Attributes()
		if _, overflow := attrs.Get("otel.metric.overflow"); overflow {
			continue
		}
		found = true
		host, _ := rm.Resource().Attributes().Get("host.name")
		assert.Equal(t, "node-9", host.Str())
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

// withIdentity returns a Terminal shell alert of pod in namespace shop whose identity comes in one
// of Falco's spellings: the container plugin's fields, k8smeta's, or both.
func withIdentity(pod, spelling string) *alert {
	a := terminalShellAlert()
	var kept []field
	for _, f := range a.Fields {
		if f.Key != "k8s.pod.name" && f.Key != "k8s.ns.name" {
			kept = append(kept, f)
		}
	}
	plugin := []field{{"k8s.ns.name", stringValue("shop")}, {"k8s.pod.name", stringValue(pod)}}
	meta := []field{{"k8smeta.ns.name", stringValue("shop")}, {"k8smeta.pod.name", stringValue(pod)}}
	switch spelling {
	case "plugin":
		kept = append(kept, plugin...)
	case "k8smeta":
		kept = append(kept, meta...)
	default: // both, k8smeta's first: the order of the fields does not decide
		kept = append(append(kept, meta...), plugin...)
	}
	a.Fields = kept
	return a
}

// TestCounterOneSeriesPerWorkloadWhateverTheSpelling: the same pod under the container plugin's
// fields, k8smeta's, or both is one series, named by the configured attribute; so nothing
// downstream has to add series together, and any chunking keeps the series whole.
func TestCounterOneSeriesPerWorkloadWhateverTheSpelling(t *testing.T) {
	cfg := testMetricsConfig()
	cfg.Attributes = append(cfg.Attributes, "k8smeta.pod.name", "k8smeta.ns.name") // old configs listed both
	c := newEventCounter(cfg, nil)
	for pod := range 6 {
		name := fmt.Sprintf("web-%d", pod)
		c.count([]*alert{withIdentity(name, "k8smeta"), withIdentity(name, "both"), withIdentity(name, "plugin")}, alertTime)
	}
	require.Equal(t, 6, c.seriesCount())
	pods := map[string]int64{}
	require.NoError(t, c.snapshotChunks(alertTime, 1, func(md pmetric.Metrics) error {
		require.Equal(t, 1, md.DataPointCount())
		attrs := md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(0).Sum().DataPoints().At(0).Attributes()
		pod, ok := attrs.Get("k8s.pod.name")
		require.True(t, ok)
		ns, _ := attrs.Get("k8s.ns.name")
		assert.Equal(t, "shop", ns.Str())
		_, meta := attrs.Get("k8smeta.pod.name")
		assert.False(t, meta, "one spelling per series")
		pods[pod.Str()] = md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(0).Sum().DataPoints().At(0).IntValue()
		return nil
	}))
	assert.Len(t, pods, 6)
	for pod, n := range pods {
		assert.Equal(t, int64(3), n, pod)
	}
}

// TestCounterPrefersTheContainerPluginsSpelling: with both spellings present and different, the
// container plugin's wins (falcolabel's priority), and a spelling without a value gives way.
func TestCounterPrefersTheContainerPluginsSpelling(t *testing.T) {
	c := newEventCounter(testMetricsConfig(), nil)
	a := withIdentity("web-1", "both")
	for i := range a.Fields {
		if a.Fields[i].Key == "k8smeta.pod.name" {
			a.Fields[i].Value = stringValue("stale-name")
		}
	}
	b := withIdentity("web-2", "both")
	for i := range b.Fields {
		if b.Fields[i].Key == "k8s.pod.name" {
			b.Fields[i].Value = stringValue("") // the plugin did not know it
		}
	}
	c.count([]*alert{a, b}, alertTime)
	var pods []string
	for _, dp := range pointsByAttrs(t, c.snapshot(alertTime)) {
		pod, _ := dp.Attributes().Get("k8s.pod.name")
		pods = append(pods, pod.Str())
	}
	assert.ElementsMatch(t, []string{"web-1", "web-2"}, pods)
}

// TestCounterHostnamesCountTowardMaxSeries: distinct hostnames cannot walk around the guard; the
// overflow is one series, not one per host.
func TestCounterHostnamesCountTowardMaxSeries(t *testing.T) {
	cfg := testMetricsConfig()
	cfg.MaxSeries = 50
	c := newEventCounter(cfg, nil)
	for i := range 5000 {
		a := terminalShellAlert()
		a.Hostname = fmt.Sprintf("node-%d", i)
		c.count([]*alert{a}, alertTime)
	}
	md := c.snapshot(alertTime)
	assert.Equal(t, 51, md.DataPointCount())
	assert.Equal(t, 51, md.ResourceMetrics().Len())
	overflow := pointsByAttrs(t, md)[fmt.Sprint("", map[string]any{"otel.metric.overflow": true})]
	assert.Equal(t, int64(5000-50), overflow.IntValue())
}

// TestCounterCapsLabelValues: a huge value is cut, with a marker, on a UTF-8 boundary; so is the
// host; values within the cap are untouched.
func TestCounterCapsLabelValues(t *testing.T) {
	cfg := testMetricsConfig()
	cfg.MaxLabelLength = 20
	c := newEventCounter(cfg, nil)
	a := withIdentity(strings.Repeat("é", 1<<19), "plugin") // 1 MiB
	a.Hostname = strings.Repeat("h", 1000)
	c.count([]*alert{a}, alertTime)
	md := c.snapshot(alertTime)
	require.Equal(t, 1, md.DataPointCount())
	rm := md.ResourceMetrics().At(0)
	host, _ := rm.Resource().Attributes().Get("host.name")
	assert.Equal(t, strings.Repeat("h", 17)+"…", host.Str())
	attrs := rm.ScopeMetrics().At(0).Metrics().At(0).Sum().DataPoints().At(0).Attributes()
	pod, _ := attrs.Get("k8s.pod.name")
	assert.Equal(t, strings.Repeat("é", 8)+"…", pod.Str(), "cut before a split rune")
	assert.True(t, utf8.ValidString(pod.Str()))
	rule, _ := attrs.Get("falco.rule")
	assert.Equal(t, "Terminal shell in…", rule.Str())
	ns, _ := attrs.Get("k8s.ns.name")
	assert.Equal(t, "shop", ns.Str())

	dflt := testMetricsConfig()
	assert.Equal(t, 256, dflt.maxLabelLength(), "0 is the default")
}
