// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-falco/otelcol-falco/internal/testbed"
)

// scrapeMetricsText returns the agent's whole /metrics page.
func scrapeMetricsText(t testing.TB, promAddr string) string {
	t.Helper()
	client := &http.Client{Timeout: time.Minute}
	resp, err := client.Get("http://" + promAddr + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(b)
}

// hostAlerts renders alerts first to first+n-1, alert i from Falco host and pod i%distinct
// (host i%hosts, when hosts > 0).
func hostAlerts(t testing.TB, first, n, distinct, hosts int) []byte {
	at := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	var body []byte
	for i := first; i < first+n; i++ {
		host := i % distinct
		if hosts > 0 {
			host = i % hosts
		}
		body = append(body, falcoJSONAlert(t, fmt.Sprintf("attacker-host-%07d", host), "Rule 0", fmt.Sprintf("pod-%07d", i%distinct), "container plugin", at)...)
	}
	return body
}

// TestCardinalityGuardHoldsAgainstHostsAndLongValues is issue 12's cardinality attacks on the built
// agent, at modest counts: 20 alerts whose pod name is 1 MiB each, then 20,000 alerts from
// distinct hostnames. Every alert is counted, the series stay within max_series + 1 (one
// overflow series, not one per host), long values are cut, and /metrics stays small.
func TestCardinalityGuardHoldsAgainstHostsAndLongValues(t *testing.T) {
	a := startNDJSONAgent(t, nil, "metrics-max-series-500.yaml")
	const maxSeries, longValues, hosts = 500, 20, 20000
	at := time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)
	for i := range longValues {
		pod := fmt.Sprintf("pod-%02d-", i) + strings.Repeat("x", 1<<20)
		a.post(t, falcoJSONAlert(t, "node-1", "Rule 0", pod, "both", at))
	}
	url := "http://" + a.env.Prometheus + "/metrics"
	var sum float64
	require.True(t, testbed.WaitFor(60*time.Second, func() bool {
		sum, _ = testbed.ScrapeSum(url, "falco_events_total")
		return sum == longValues
	}), "falco_events_total = %v, want %d", sum, longValues)
	page := scrapeMetricsText(t, a.env.Prometheus)
	assert.Less(t, len(page), 64<<10, "/metrics with %d 1 MiB pod names", longValues)
	assert.True(t, strings.Contains(page, `k8s_pod_name="pod-00-xxxx`), "a cut pod name is a label")
	assert.True(t, strings.Contains(page, `xxx…"`), "the cut is marked")

	const perPost = 500
	for first := 0; first < hosts; first += perPost {
		a.post(t, hostAlerts(t, first, perPost, hosts, 0))
	}
	var series int
	require.True(t, testbed.WaitFor(60*time.Second, func() bool {
		sum, series, _ = testbed.ScrapeSeries(url, "falco_events_total")
		return sum == longValues+hosts
	}), "falco_events_total = %v in %d series, want %d", sum, series, longValues+hosts)
	assert.Equal(t, maxSeries+1, series, "the live series and one overflow series")
	overflow, err := testbed.ScrapeSum(url, "falco_events_total", `otel_metric_overflow="true"`)
	require.NoError(t, err)
	assert.Equal(t, float64(longValues+hosts-maxSeries), overflow)
	page = scrapeMetricsText(t, a.env.Prometheus)
	assert.Less(t, len(page), 1<<20, "/metrics with %d hosts", hosts)
	require.True(t, testbed.WaitFor(60*time.Second, func() bool { return a.sink.Count() >= longValues+hosts }),
		"sink got %d log records", a.sink.Count())
}

// BenchmarkCardinalityMillion is the large form of the test above, at the shipped defaults
// (max_series 2000, GOMEMLIMIT=200MiB GOMAXPROCS=1 as the DaemonSet runs): CARDINALITY_ALERTS
// (default 1,000,000) alerts from CARDINALITY_DISTINCT (default: as many) distinct pods, each on
// its own host unless CARDINALITY_HOSTS says how many hosts, at the shipped 10 s interval; then
// it reports the agent's peak RSS and how long one /metrics scrape takes. CARDINALITY_GOGC and
// CARDINALITY_GOMEMLIMIT try other GC settings than the DaemonSet's.
//
//	go test ./e2e -run '^$' -bench CardinalityMillion -benchtime 1x
func BenchmarkCardinalityMillion(b *testing.B) {
	n := envInt(b, "CARDINALITY_ALERTS", 1_000_000)
	distinct := envInt(b, "CARDINALITY_DISTINCT", n)
	hosts := envInt(b, "CARDINALITY_HOSTS", 0)
	for b.Loop() {
		env := daemonSetRuntime(b, map[string]string{"FALCO_METRICS_INTERVAL": "10s"})
		for name, knob := range map[string]string{"GOGC": "CARDINALITY_GOGC", "GOMEMLIMIT": "CARDINALITY_GOMEMLIMIT"} {
			if v := os.Getenv(knob); v != "" {
				env[name] = v
			}
		}
		var overlays []string
		if ms := os.Getenv("CARDINALITY_MAX_SERIES"); ms != "" {
			env["FALCO_MAX_SERIES"] = ms
			overlays = append(overlays, "metrics-max-series-env.yaml")
		}
		profDir := os.Getenv("CARDINALITY_PROFILE_DIR")
		if profDir != "" {
			env["PPROF_ENDPOINT"] = testbed.FreeAddr(b)
			env["GODEBUG"] = "gctrace=1"
			overlays = append(overlays, "pprof.yaml")
		}
		a := startNDJSONAgent(b, env, overlays...)
		anon := testbed.SampleMemory(a.col.PID(), 50*time.Millisecond)
		b.Cleanup(func() { anon.Stop() })
		if profDir != "" {
			stop := profileHeap(b, env["PPROF_ENDPOINT"], profDir)
			b.Cleanup(func() {
				stop()
				_ = os.WriteFile(filepath.Join(profDir, "agent.log"), []byte(a.col.Output()), 0o644)
			})
		}
		const perPost = 1000
		for first := 0; first < n; first += perPost {
			a.post(b, hostAlerts(b, first, min(perPost, n-first), distinct, hosts))
		}
		url := "http://" + a.env.Prometheus + "/metrics"
		var sum float64
		var series int
		require.True(b, testbed.WaitFor(2*time.Minute, func() bool {
			sum, series, _ = testbed.ScrapeSeries(url, "falco_events_total")
			return sum == float64(n)
		}), "falco_events_total = %v, want %d", sum, n)
		started := time.Now()
		page := scrapeMetricsText(b, a.env.Prometheus)
		scrape := time.Since(started)
		b.ReportMetric(float64(peakRSS(b, a.col.PID()))/(1<<20), "peak-RSS-MiB")
		peakAnon, peakFile := anon.Peaks()
		b.ReportMetric(float64(peakAnon)/(1<<20), "peak-anon-MiB")
		b.ReportMetric(float64(peakFile)/(1<<20), "peak-file-MiB")
		b.ReportMetric(scrape.Seconds(), "scrape-s")
		b.ReportMetric(float64(len(page))/(1<<20), "metrics-MiB")
		b.ReportMetric(float64(series), "series")
		a.col.Stop(b)
	}
}

// profileHeap saves the agent's heap profile every 2 s into dir (heap-NNN.pprof) until stopped:
// the one taken nearest the peak shows where the memory went.
func profileHeap(tb testing.TB, pprofAddr, dir string) (stop func()) {
	require.NoError(tb, os.MkdirAll(dir, 0o755))
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		tick := time.NewTicker(2 * time.Second)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			resp, err := http.Get("http://" + pprofAddr + "/debug/pprof/heap")
			if err != nil {
				continue
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			_ = os.WriteFile(filepath.Join(dir, fmt.Sprintf("heap-%03d.pprof", i)), body, 0o644)
		}
	}()
	return func() { close(done); <-finished }
}

func envInt(tb testing.TB, name string, dflt int) int {
	s := os.Getenv(name)
	if s == "" {
		return dflt
	}
	n, err := strconv.Atoi(s)
	require.NoError(tb, err, name)
	return n
}
