// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-falco/otelcol-falco/internal/falcoemu"
	"github.com/otelcol-falco/otelcol-falco/internal/testbed"
)

// httpAgent is the shipped agent with its http endpoint on a free loopback port (and an idle
// Falco gRPC emulator, so the gRPC transport the config also enables has something to talk to).
type httpAgent struct {
	env  agentEnv
	url  string // http://127.0.0.1:port
	col  *testbed.Collector
	emu  *falcoemu.GRPCServer
	sink *testbed.Sink
}

func startHTTPAgent(t *testing.T, keepRecords bool, overlays ...string) *httpAgent {
	t.Helper()
	socket := filepath.Join(t.TempDir(), "falco.sock")
	a := &httpAgent{emu: startEmulator(t, socket), sink: testbed.StartSink(t, keepRecords)}
	httpAddr := testbed.FreeAddr(t)
	a.url = "http://" + httpAddr
	a.env = agentEnv{Socket: socket, Prometheus: testbed.FreeAddr(t), Sink: a.sink,
		Extra: map[string]string{"FALCO_HTTP_ENDPOINT": httpAddr, "FALCO_HTTP_TOKEN": "e2e-s3cret"}}
	configs := agentConfigs()
	for _, o := range overlays {
		configs = append(configs, filepath.Join(testbed.RepoRoot(), "e2e", "testdata", o))
	}
	a.col = testbed.StartCollector(t, testbed.CollectorOptions{Configs: configs, Env: a.env.vars(t)})
	return a
}

func newSender(t *testing.T, cfg falcoemu.HTTPSenderConfig) *falcoemu.HTTPSender {
	t.Helper()
	s, err := falcoemu.NewHTTPSender(cfg)
	require.NoError(t, err)
	return s
}

// TestHTTPAlertsReachPrometheus posts 10,000 alerts the ways senders do — Falco's one alert per
// request over keep-alive, NDJSON and array batches, gzip — and finds every one in a real
// Prometheus and in the logs sink.
func TestHTTPAlertsReachPrometheus(t *testing.T) {
	a := startHTTPAgent(t, false, "metrics-max-series-10000.yaml")
	prom := testbed.StartPrometheus(t, []testbed.ScrapeTarget{{Job: "otelcol-falco", Addr: a.env.Prometheus}})

	senders := []struct {
		name  string
		cfg   falcoemu.HTTPSenderConfig
		count uint64
	}{
		{"single over keep-alive", falcoemu.HTTPSenderConfig{URL: a.url + "/", Connections: 2}, 4000},
		{"NDJSON batches", falcoemu.HTTPSenderConfig{URL: a.url + "/v1/falco", Mode: falcoemu.ModeNDJSON, Batch: 100}, 3000},
		{"gzip array batches", falcoemu.HTTPSenderConfig{URL: a.url + "/v1/falco", Mode: falcoemu.ModeArray, Batch: 100, Gzip: true}, 2000},
		{"gzip single", falcoemu.HTTPSenderConfig{URL: a.url + "/", Gzip: true}, 1000},
	}
	var (
		wg     sync.WaitGroup
		total  uint64
		byRule = map[string]uint64{}
		mu     sync.Mutex
	)
	for i, s := range senders {
		total += s.count
		sender := newSender(t, s.cfg)
		gen := newGenerator(t, falcoemu.GeneratorConfig{Seed: int64(100 + i), Pods: 20, Priorities: falcoemu.AllPriorities()})
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			stats := sender.Run(ctx, gen, s.count, 0)
			assert.Equal(t, s.count, stats.Acked, "%s: %+v", s.name, stats)
			assert.Zero(t, stats.Failed, "%s: %+v", s.name, stats)
			mu.Lock()
			defer mu.Unlock()
			for rule, n := range sender.Tally().Snapshot().ByRule {
				byRule[rule] += n
			}
		})
	}
	wg.Wait()
	require.EqualValues(t, 10000, total)

	require.True(t, testbed.WaitFor(60*time.Second, func() bool { return a.sink.Count() >= int64(total) }),
		"sink got %d of %d log records", a.sink.Count(), total)
	var sum float64
	require.True(t, testbed.WaitFor(60*time.Second, func() bool {
		sum, _ = prom.QueryScalar(`sum(falco_events_total)`)
		return sum == float64(total)
	}), "sum(falco_events_total) = %v, want %d", sum, total)
	assert.Equal(t, int64(total), a.sink.Count(), "no duplicates")

	perRule, err := prom.Query(`sum by (falco_rule) (falco_events_total)`)
	require.NoError(t, err)
	got := map[string]uint64{}
	for _, s := range perRule {
		got[s.Metric["falco_rule"]] = uint64(s.Value)
	}
	assert.Equal(t, byRule, got)

	accepted, err := testbed.ScrapeSum("http://127.0.0.1:"+a.col.Env["TELEMETRY_PORT"]+"/metrics",
		"otelcol_receiver_accepted_log_records", `transport="http"`)
	require.NoError(t, err)
	assert.Equal(t, float64(total), accepted, "otelcol_receiver_accepted_log_records{transport=\"http\"}")
}

// TestHTTPAndGRPCGiveTheSameTelemetry sends the same alerts over Falco's gRPC output and over
// http_output: each gives the same log record, and the second copy lands in the very series of
// the first.
func TestHTTPAndGRPCGiveTheSameTelemetry(t *testing.T) {
	a := startHTTPAgent(t, true)
	base := time.Date(2026, 5, 4, 10, 11, 12, 0, time.UTC)
	var tick int
	gen := newGenerator(t, falcoemu.GeneratorConfig{Seed: 7, Pods: 12, K8sMeta: true, Priorities: falcoemu.AllPriorities(),
		Clock: func() time.Time { tick++; return base.Add(time.Duration(tick) * 1001 * time.Nanosecond) }})
	const count = 400
	alerts := make([]falcoemu.Alert, count)
	for i := range alerts {
		alerts[i] = gen.Next()
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, al := range alerts {
		require.True(t, a.emu.Enqueue(ctx, al))
	}
	require.True(t, testbed.WaitFor(30*time.Second, func() bool { return a.sink.Count() == count }), "gRPC: %d records", a.sink.Count())
	metricsURL := "http://" + a.env.Prometheus + "/metrics"
	require.True(t, testbed.WaitFor(30*time.Second, func() bool { return seriesSum(t, metricsURL) == count }))
	overGRPC := falcoSeries(t, metricsURL)

	sender := newSender(t, falcoemu.HTTPSenderConfig{URL: a.url + "/"})
	sender.Send(ctx, alerts)
	require.Equal(t, uint64(count), sender.Stats().Acked, "%+v", sender.Stats())
	require.True(t, testbed.WaitFor(30*time.Second, func() bool { return a.sink.Count() == 2*count }), "HTTP: %d records", a.sink.Count()-count)
	require.True(t, testbed.WaitFor(30*time.Second, func() bool { return seriesSum(t, metricsURL) == 2*count }))
	both := falcoSeries(t, metricsURL)

	require.Len(t, both, len(overGRPC), "HTTP added series of its own")
	for series, n := range overGRPC {
		assert.Equal(t, 2*n, both[series], "series %s", series)
	}

	byTime := map[int64][]plog.LogRecord{}
	for _, lr := range a.sink.Records() {
		byTime[int64(lr.Timestamp())] = append(byTime[int64(lr.Timestamp())], lr)
	}
	require.Len(t, byTime, count)
	var reconciled int
	for ts, pair := range byTime {
		require.Len(t, pair, 2, "alert at %d", ts)
		x, y := pair[0], pair[1]
		assert.Equal(t, x.Body().AsString(), y.Body().AsString())
		assert.Equal(t, x.SeverityNumber(), y.SeverityNumber())
		assert.Equal(t, x.SeverityText(), y.SeverityText())
		assert.Equal(t, x.EventName(), y.EventName())
		ax, ay := x.Attributes().AsRaw(), y.Attributes().AsRaw()
		reconciled += reconcileGRPCRendering(ax, ay) + reconcileGRPCRendering(ay, ax)
		require.Equal(t, ax, ay, "alert at %d", ts)
	}
	t.Logf("%d alerts gave identical records over gRPC and HTTP; %d attributes differed only in how Falco's gRPC output renders a missing value (<NA>) and evt.time", count, reconciled)
}

// reconcileGRPCRendering rewrites, in the attributes of one record of a pair, the two places
// where Falco's gRPC output itself renders an event differently from its JSON output, when the
// other record has the equivalent: a field without a value is "<NA>" over gRPC and null (dropped)
// in JSON, and evt.time is a clock string over gRPC and integer nanoseconds in JSON. Everything
// else must match as is. It returns how many attributes it rewrote.
func reconcileGRPCRendering(attrs, other map[string]any) int {
	n := 0
	for k, v := range attrs {
		_, inOther := other[k]
		switch {
		case v == "<NA>" && !inOther:
			delete(attrs, k)
			n++
		case k == "evt.time":
			clock, _ := v.(string)
			nanos, ok := other[k].(int64)
			if ok && clock == time.Unix(0, nanos).UTC().Format("15:04:05.000000000") {
				attrs[k] = nanos
				n++
			}
		}
	}
	return n
}

// falcoSeries reads every falco_events_total series from the exporter: labels -> value.
func falcoSeries(t *testing.T, url string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	series := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64*1024), 4*1024*1024)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "falco_events_total{") {
			continue
		}
		end := strings.LastIndexByte(line, '}')
		var v float64
		_, err := fmt.Sscan(strings.Fields(line[end+1:])[0], &v)
		require.NoError(t, err)
		series[line[:end+1]] = v
	}
	require.NoError(t, sc.Err())
	return series
}

func seriesSum(t *testing.T, url string) float64 {
	var sum float64
	for _, v := range falcoSeries(t, url) {
		sum += v
	}
	return sum
}

// TestHTTPBearerToken runs the distribution's bearertokenauth extension in front of the http
// endpoint: without the token a request gets 401 and nothing is counted; the token works as a
// header (senders that set headers) and in the URL (Falco, which cannot).
func TestHTTPBearerToken(t *testing.T) {
	a := startHTTPAgent(t, false, "http-bearer-token.yaml")
	gen := newGenerator(t, falcoemu.GeneratorConfig{Seed: 9, Pods: 3})
	metricsURL := "http://" + a.env.Prometheus + "/metrics"

	tests := []struct {
		name   string
		cfg    falcoemu.HTTPSenderConfig
		status string
	}{
		{"no token", falcoemu.HTTPSenderConfig{URL: a.url + "/"}, "401"},
		{"wrong token", falcoemu.HTTPSenderConfig{URL: a.url + "/", Token: "guess"}, "401"},
		{"token in the Authorization header", falcoemu.HTTPSenderConfig{URL: a.url + "/", Token: "e2e-s3cret"}, "200"},
		{"token in Falco's URL", falcoemu.HTTPSenderConfig{URL: a.url + "/?Authorization=Bearer%20e2e-s3cret"}, "200"},
	}
	var accepted uint64
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.MaxRetries = -1
			s := newSender(t, tt.cfg)
			s.Send(context.Background(), []falcoemu.Alert{gen.Next(), gen.Next()})
			stats := s.Stats()
			assert.Equal(t, map[string]uint64{tt.status: 2}, stats.Status)
			accepted += stats.Acked
		})
	}
	require.EqualValues(t, 4, accepted)
	got := waitScrapeSum(t, a.env.Prometheus, 4, 20*time.Second)
	assert.Equal(t, float64(4), got, "only the authenticated alerts are counted")
	// A last authenticated alert: once it is counted, every earlier request was handled (the
	// answers were synchronous), so a refused alert counted late would make the total pass 5.
	marker := newSender(t, falcoemu.HTTPSenderConfig{URL: a.url + "/", Token: "e2e-s3cret", MaxRetries: -1})
	marker.Send(context.Background(), []falcoemu.Alert{gen.Next()})
	require.EqualValues(t, 1, marker.Stats().Acked)
	assert.Equal(t, float64(5), waitScrapeSum(t, a.env.Prometheus, 5, 20*time.Second))
	require.True(t, testbed.WaitFor(20*time.Second, func() bool { return a.sink.Count() >= 5 }))
	assert.Equal(t, float64(5), seriesSum(t, metricsURL))
	assert.Equal(t, int64(5), a.sink.Count())

	resp, err := http.Get(a.url + "/healthz")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode, "health probes need no token")
}

// TestHTTPRejectsMalformedBatches checks the binary's answers to what a replay tool can get
// wrong: the 400 names the line, and nothing of the batch is counted.
func TestHTTPRejectsMalformedBatches(t *testing.T) {
	a := startHTTPAgent(t, false)
	good := `{"rule":"Terminal shell in container","priority":"Notice","time":"2026-05-04T10:11:12.123456789Z","hostname":"node-1","source":"syscall"}`
	bad := strings.Replace(good, "Notice", "Severe", 1)
	resp, err := http.Post(a.url+"/v1/falco", "application/x-ndjson", strings.NewReader(good+"\n"+good+"\n"+bad+"\n"))
	require.NoError(t, err)
	body := new(strings.Builder)
	_, _ = bufio.NewReader(resp.Body).WriteTo(body)
	resp.Body.Close()
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.Contains(t, body.String(), `"line":3`)
	assert.Contains(t, body.String(), `"field":"priority"`)

	resp, err = http.Post(a.url+"/v1/falco", "application/x-ndjson", strings.NewReader(good+"\n"+good+"\n"))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, float64(2), waitScrapeSum(t, a.env.Prometheus, 2, 20*time.Second), "only the good batch is counted")
}
