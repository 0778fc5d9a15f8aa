// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package falcoreceiver

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

var testTarget = scrapeTarget{instance: "127.0.0.1:8765", host: "127.0.0.1", port: "8765", scheme: "http"}

func metricsByName(md pmetric.Metrics) map[string]pmetric.Metric {
	out := map[string]pmetric.Metric{}
	ms := md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics()
	for i := range ms.Len() {
		out[ms.At(i).Name()] = ms.At(i)
	}
	return out
}

// TestFalcoMetricsFromFalco041 converts a whole /metrics page in Falco 0.41's shape (a HELP and
// TYPE line before every series, families split in two places, integer and %f values).
func TestFalcoMetricsFromFalco041(t *testing.T) {
	body, err := os.ReadFile(filepath.Join("testdata", "falco-0.41-metrics.prom"))
	require.NoError(t, err)
	families, err := parseFalcoMetrics(body)
	require.NoError(t, err)
	now := pcommon.Timestamp(1_800_000_000_000_000_000)
	md, skipped := falcoMetricsToPdata(families, testTarget, now)
	assert.Empty(t, skipped)
	assert.Equal(t, 168+1, md.DataPointCount(), "every sample, and up")

	res := md.ResourceMetrics().At(0).Resource().Attributes().AsRaw()
	assert.Equal(t, map[string]any{"service.name": "falco", "service.instance.id": "127.0.0.1:8765",
		"server.address": "127.0.0.1", "server.port": int64(8765), "url.scheme": "http"}, res)

	byName := metricsByName(md)
	evts := byName["falcosecurity_scap_n_evts"]
	require.Equal(t, pmetric.MetricTypeSum, evts.Type(), "counters lose _total; the exporter adds it back")
	assert.True(t, evts.Sum().IsMonotonic())
	assert.Equal(t, pmetric.AggregationTemporalityCumulative, evts.Sum().AggregationTemporality())
	dp := evts.Sum().DataPoints().At(0)
	assert.InDelta(t, 101970, dp.DoubleValue(), 0)
	// Falco's start time, to the microsecond (the text format's values are float64).
	assert.InDelta(t, 1795685037061014990, float64(dp.StartTimestamp()), 1e3)
	assert.Equal(t, now, dp.Timestamp())

	drops := byName["falcosecurity_scap_n_drops_buffer"].Sum().DataPoints()
	assert.Equal(t, 14, drops.Len(), "exit and enter series, written apart, in one family")
	dirs := map[string]int{}
	for i := range drops.Len() {
		d, _ := drops.At(i).Attributes().Get("dir")
		dirs[d.Str()]++
	}
	assert.Equal(t, map[string]int{"exit": 8, "enter": 6}, dirs)

	assert.Equal(t, 105, byName["falcosecurity_falco_rules_matches"].Sum().DataPoints().Len())
	rss := byName["falcosecurity_falco_memory_rss_bytes"]
	require.Equal(t, pmetric.MetricTypeGauge, rss.Type())
	assert.InDelta(t, 26402816, rss.Gauge().DataPoints().At(0).DoubleValue(), 0)
	host, _ := byName["falcosecurity_evt_hostname_info"].Gauge().DataPoints().At(0).Attributes().Get("hostname")
	assert.Equal(t, "vm", host.Str())
	up := byName["up"].Gauge().DataPoints().At(0)
	assert.InDelta(t, 1, up.DoubleValue(), 0)
}

func TestFalcoMetricsShapes(t *testing.T) {
	tests := []struct {
		name        string
		body        string
		wantErr     string
		wantPoints  int
		wantSkipped []string
		check       func(t *testing.T, byName map[string]pmetric.Metric)
	}{
		{
			name:       "empty page: only up",
			body:       "",
			wantPoints: 1,
		},
		{
			name: "no start time: counters start unknown",
			body: "# TYPE falcosecurity_scap_n_drops_total counter\nfalcosecurity_scap_n_drops_total 3\n",
			check: func(t *testing.T, byName map[string]pmetric.Metric) {
				assert.Equal(t, pcommon.Timestamp(0), byName["falcosecurity_scap_n_drops"].Sum().DataPoints().At(0).StartTimestamp())
			},
			wantPoints: 2,
		},
		{
			name: "untyped sample becomes a gauge, explicit timestamp kept",
			body: "falco_custom{a=\"x y\",b=\"q\\\"uote\"} 2.5 1700000000000\n",
			check: func(t *testing.T, byName map[string]pmetric.Metric) {
				dp := byName["falco_custom"].Gauge().DataPoints().At(0)
				assert.Equal(t, pcommon.Timestamp(1700000000000*1e6), dp.Timestamp())
				assert.Equal(t, map[string]any{"a": "x y", "b": `q"uote`}, dp.Attributes().AsRaw())
			},
			wantPoints: 2,
		},
		{
			name:        "summary skipped and named",
			body:        "# TYPE lat summary\nlat{quantile=\"0.5\"} 1\nlat_sum 2\nlat_count 3\n# TYPE g gauge\ng 1\n",
			wantPoints:  2,
			wantSkipped: []string{"lat"},
		},
		{
			name:    "not the text format",
			body:    "<html>login</html>\n",
			wantErr: "falco /metrics",
		},
		{
			name:    "conflicting types of one name",
			body:    "# TYPE a counter\na 1\n# TYPE b gauge\nb 1\n# TYPE a gauge\n",
			wantErr: "", // the repeat is Falco's style and is dropped; a stays a counter
			check: func(t *testing.T, byName map[string]pmetric.Metric) {
				assert.Equal(t, pmetric.MetricTypeSum, byName["a"].Type())
			},
			wantPoints: 3,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			families, err := parseFalcoMetrics([]byte(tt.body))
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			md, skipped := falcoMetricsToPdata(families, testTarget, 1)
			assert.Equal(t, tt.wantSkipped, skipped)
			assert.Equal(t, tt.wantPoints, md.DataPointCount())
			if tt.check != nil {
				tt.check(t, metricsByName(md))
			}
		})
	}
}

func TestFalcoUnreachableIsUpZero(t *testing.T) {
	md := falcoUnreachable(testTarget, 5)
	require.Equal(t, 1, md.DataPointCount())
	up := metricsByName(md)["up"].Gauge().DataPoints().At(0)
	assert.InDelta(t, 0, up.DoubleValue(), 0)
	assert.Equal(t, pcommon.Timestamp(5), up.Timestamp())
}

func TestScrapeTarget(t *testing.T) {
	for endpoint, want := range map[string]scrapeTarget{
		"http://localhost:8765/metrics":   {instance: "localhost:8765", host: "localhost", port: "8765", scheme: "http"},
		"https://falco.falco.svc/metrics": {instance: "falco.falco.svc:443", host: "falco.falco.svc", port: "443", scheme: "https"},
		"http://[::1]:8765/metrics":       {instance: "[::1]:8765", host: "::1", port: "8765", scheme: "http"},
	} {
		got, err := newScrapeTarget(endpoint)
		require.NoError(t, err)
		assert.Equal(t, want, got, endpoint)
	}
}
