// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package falcoreceiver

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/otelcol-falco/otelcol-falco/receiver/falcoreceiver/internal/metadata"
)

// falcoMetricsConfig is an HTTP-only receiver that scrapes endpoint every interval.
func falcoMetricsConfig(endpoint string, interval time.Duration) *Config {
	cfg := createDefaultConfig().(*Config)
	httpCfg := defaultHTTPConfig()
	httpCfg.ServerConfig.NetAddr.Endpoint = "127.0.0.1:0"
	cfg.HTTP = configoptional.Some(httpCfg)
	cfg.GRPC = configoptional.None[GRPCConfig]()
	fm := defaultFalcoMetricsConfig()
	fm.ClientConfig.Endpoint = endpoint
	fm.CollectionInterval = interval
	fm.InitialDelay = 0
	cfg.FalcoMetrics = configoptional.Some(fm)
	return cfg
}

// upValues returns the up values of every scrape the sink saw, in order.
func upValues(sink *consumertest.MetricsSink) []float64 {
	var ups []float64
	for _, md := range sink.AllMetrics() {
		if m, ok := metricsByName(md)["up"]; ok {
			ups = append(ups, m.Gauge().DataPoints().At(0).DoubleValue())
		}
	}
	return ups
}

// TestFalcoMetricsScrape runs the receiver against a Falco /metrics that answers, fails with 503,
// serves garbage, and answers again: up follows, Falco's metrics flow only from good scrapes, and
// the outage is logged once as a warning.
func TestFalcoMetricsScrape(t *testing.T) {
	page, err := os.ReadFile(filepath.Join("testdata", "falco-0.41-metrics.prom"))
	require.NoError(t, err)
	var mode atomic.Int32 // 0 good, 1 503, 2 garbage
	falco := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		switch mode.Load() {
		case 1:
			http.Error(w, "starting", http.StatusServiceUnavailable)
		case 2:
			_, _ = w.Write([]byte("{\"not\": \"prometheus\"}\n"))
		default:
			_, _ = w.Write(page)
		}
	}))
	defer falco.Close()

	cfg := falcoMetricsConfig(falco.URL+"/metrics", 20*time.Millisecond)
	require.NoError(t, cfg.Validate())

	core, logs := observer.New(zap.InfoLevel)
	set := receivertest.NewNopSettings(metadata.Type)
	set.Logger = zap.New(core)
	sink := new(consumertest.MetricsSink)
	rcv, err := NewFactory().CreateMetrics(context.Background(), set, cfg, sink)
	require.NoError(t, err)
	require.NoError(t, rcv.Start(context.Background(), componenttest.NewNopHost()))
	defer func() { require.NoError(t, rcv.Shutdown(context.Background())) }()

	waitForUps := func(n int) {
		t.Helper()
		require.Eventually(t, func() bool { return len(upValues(sink)) >= n }, 10*time.Second, 5*time.Millisecond)
	}
	waitForUps(2)
	first := sink.AllMetrics()[0]
	assert.Equal(t, 169, first.DataPointCount())
	assert.Contains(t, metricsByName(first), "falcosecurity_scap_n_drops")

	for _, bad := range []int32{1, 2} {
		mode.Store(bad)
		before := len(upValues(sink))
		require.Eventually(t, func() bool {
			ups := upValues(sink)
			return len(ups) > before+2 && ups[len(ups)-1] == 0
		}, 10*time.Second, 5*time.Millisecond)
	}
	mode.Store(0)
	require.Eventually(t, func() bool { ups := upValues(sink); return ups[len(ups)-1] == 1 }, 10*time.Second, 5*time.Millisecond)

	for _, md := range sink.AllMetrics() {
		if up := metricsByName(md)["up"].Gauge().DataPoints().At(0).DoubleValue(); up == 0 {
			assert.Equal(t, 1, md.DataPointCount(), "a failed scrape reports only up")
		}
	}
	assert.Equal(t, 1, logs.FilterMessageSnippet("Cannot scrape Falco's /metrics").FilterLevelExact(zap.WarnLevel).Len(),
		"one warning per outage")
	assert.Equal(t, 1, logs.FilterMessageSnippet("Scraping Falco's /metrics again").Len())
}

// TestFalcoMetricsNeedAMetricsPipeline: with only a logs pipeline nothing scrapes Falco. A receiver
// with a metrics pipeline scrapes the same server meanwhile, so the check runs while scrapes happen.
func TestFalcoMetricsNeedAMetricsPipeline(t *testing.T) {
	var logsOnlyHits, metricsHits atomic.Int32
	falco := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, req *http.Request) {
		if req.URL.Path == "/logs-only" {
			logsOnlyHits.Add(1)
		} else {
			metricsHits.Add(1)
		}
	}))
	defer falco.Close()
	set := receivertest.NewNopSettings(metadata.Type)
	logsOnly, err := NewFactory().CreateLogs(context.Background(), set, falcoMetricsConfig(falco.URL+"/logs-only", time.Millisecond), consumertest.NewNop())
	require.NoError(t, err)
	require.NoError(t, logsOnly.Start(context.Background(), componenttest.NewNopHost()))
	withMetrics, err := NewFactory().CreateMetrics(context.Background(), set, falcoMetricsConfig(falco.URL+"/metrics", time.Millisecond), new(consumertest.MetricsSink))
	require.NoError(t, err)
	require.NoError(t, withMetrics.Start(context.Background(), componenttest.NewNopHost()))
	require.Eventually(t, func() bool { return metricsHits.Load() >= 20 }, 10*time.Second, time.Millisecond)
	require.NoError(t, withMetrics.Shutdown(context.Background()))
	require.NoError(t, logsOnly.Shutdown(context.Background()))
	assert.Zero(t, logsOnlyHits.Load())
}
