// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-falco/otelcol-falco/dashboards"
	"github.com/otelcol-falco/otelcol-falco/internal/falcoemu"
	"github.com/otelcol-falco/otelcol-falco/internal/testbed"
)

// TestDashboardQueriesAgainstLivePrometheus feeds the built collector a known alert mix, has a
// real Prometheus scrape the collector (alerts and its own telemetry, with Falco's /metrics
// re-exported), and runs every target of every dashboard panel through Prometheus' HTTP API: each
// must return data, and the totals, by-priority and by-rule panels must match the mix.
func TestDashboardQueriesAgainstLivePrometheus(t *testing.T) {
	socket := filepath.Join(t.TempDir(), "falco.sock")
	emu := startEmulator(t, socket)
	// Several namespaces, pods, rules, all eight priorities, syscalls and tags; plus k8s_audit.
	syscalls := newGenerator(t, falcoemu.GeneratorConfig{Seed: 11, Pods: 12, RuleCount: 20, Priorities: falcoemu.AllPriorities()})
	audit := newGenerator(t, falcoemu.GeneratorConfig{Seed: 12, Sources: []string{"k8s_audit"}})
	falcoMetrics := serveFalcoMetrics(t, falcoemu.MetricsConfig{Matches: syscalls.Tally(), KernelDropsPerSec: 3})

	env := agentEnv{Socket: socket, Prometheus: testbed.FreeAddr(t), Sink: testbed.StartSink(t, false),
		Extra: map[string]string{"FALCO_METRICS_TARGET": falcoMetrics, "FALCO_METRICS_SCRAPE_INTERVAL": "1s"}}
	configs := append(agentConfigs(), filepath.Join(testbed.RepoRoot(), "e2e", "testdata", "metrics-max-series-10000.yaml"))
	col := testbed.StartCollector(t, testbed.CollectorOptions{Configs: configs, Env: env.vars(t)})
	prom := testbed.StartPrometheus(t, []testbed.ScrapeTarget{
		{Job: "otelcol-falco", Addr: env.Prometheus},
		{Job: "otelcol", Addr: "127.0.0.1:" + col.Env["TELEMETRY_PORT"]},
	})

	feed(t, emu, syscalls, 3000, 0)
	feed(t, emu, audit, 500, 0)
	const total = 3500
	var sum float64
	require.True(t, testbed.WaitFor(60*time.Second, func() bool {
		sum, _ = prom.QueryScalar(`sum(falco_events_total)`)
		return sum == total
	}), "sum(falco_events_total) = %v", sum)
	queries, err := dashboards.PanelQueries(dashboards.Dashboard(), map[string]string{
		"__interval": "5s", "__rate_interval": "30s", "__range": "10m",
	})
	require.NoError(t, err)
	require.NotEmpty(t, queries)
	// Every metric a panel needs must have been scraped a few times (rate() and increase() need two
	// samples in their window) before the panels are judged.
	needed := map[string]bool{}
	for _, q := range queries {
		if !q.MayBeEmpty {
			for _, m := range q.Metrics {
				needed[m] = !slices.Contains(dashboards.EventOnlyMetrics, m)
			}
		}
	}
	for m, wait := range needed {
		if !wait {
			continue
		}
		var n float64
		require.True(t, testbed.WaitFor(30*time.Second, func() bool {
			n, _ = prom.QueryScalar(`min(count_over_time(` + m + `[30s]))`)
			return n >= 3
		}), "metric %s was scraped %v times", m, n)
	}
	end := time.Now()
	for _, q := range queries {
		name := q.PanelTitle + "/" + q.RefID
		if q.Instant {
			samples, err := prom.Query(q.Expr)
			require.NoError(t, err, name)
			if !q.MayBeEmpty {
				assert.NotEmpty(t, samples, "panel %q returned no series:\n%s", name, q.Expr)
			}
			continue
		}
		series, _, err := prom.QueryRange(q.Expr, end.Add(-2*time.Minute), end, 5*time.Second)
		require.NoError(t, err, name)
		if !q.MayBeEmpty {
			assert.Positive(t, series, "panel %q returned no series:\n%s", name, q.Expr)
		}
	}

	want := mergeTallies(syscalls.Tally().Snapshot(), audit.Tally().Snapshot())
	byTitle := map[string]dashboards.PanelQuery{}
	for _, q := range queries {
		byTitle[q.PanelTitle] = q
	}
	total1, err := prom.QueryScalar(byTitle["Alerts in range"].Expr)
	require.NoError(t, err)
	assert.Equal(t, float64(total), total1, "Alerts in range")

	severe, err := prom.QueryScalar(byTitle["Emergency, alert, critical"].Expr)
	require.NoError(t, err)
	assert.Equal(t, float64(want.ByPriority["emergency"]+want.ByPriority["alert"]+want.ByPriority["critical"]), severe)

	assert.Equal(t, want.ByPriority, panelSums(t, prom, byTitle["By priority"], "falco_priority"), "By priority")
	assert.Equal(t, want.BySource, panelSums(t, prom, byTitle["By source"], "falco_source"), "By source")

	topRules, err := prom.Query(byTitle["Top rules"].Expr)
	require.NoError(t, err)
	require.NotEmpty(t, topRules)
	wantRulePrio := map[string]uint64{}
	for _, rp := range want.ByRulePrio {
		wantRulePrio[rp.Rule+"|"+rp.Priority] = rp.Count
	}
	for _, s := range topRules {
		key := s.Metric["falco_rule"] + "|" + trimPriorityPrefix(s.Metric["falco_priority"])
		assert.Equal(t, float64(wantRulePrio[key]), s.Value, "Top rules: %s", key)
	}
}

// panelSums runs an instant panel query and indexes its values by one label.
func panelSums(t *testing.T, prom *testbed.Prometheus, q dashboards.PanelQuery, label string) map[string]uint64 {
	t.Helper()
	samples, err := prom.Query(q.Expr)
	require.NoError(t, err, q.PanelTitle)
	out := map[string]uint64{}
	for _, s := range samples {
		out[trimPriorityPrefix(s.Metric[label])] += uint64(s.Value)
	}
	return out
}

// trimPriorityPrefix undoes a sort prefix a panel may add to labels ("2 critical" → "critical").
func trimPriorityPrefix(v string) string {
	if i := strings.IndexByte(v, ' '); i > 0 && v[0] >= '0' && v[0] <= '9' {
		return v[i+1:]
	}
	return v
}

func mergeTallies(a, b falcoemu.TallySnapshot) falcoemu.TallySnapshot {
	out := a
	out.ByPriority, out.BySource = map[string]uint64{}, map[string]uint64{}
	for _, s := range []falcoemu.TallySnapshot{a, b} {
		for k, v := range s.ByPriority {
			out.ByPriority[k] += v
		}
		for k, v := range s.BySource {
			out.BySource[k] += v
		}
	}
	out.ByRulePrio = append(append([]falcoemu.RulePriorityCount(nil), a.ByRulePrio...), b.ByRulePrio...)
	return out
}

// serveFalcoMetrics serves the emulator's Falco /metrics on a loopback port and returns host:port.
func serveFalcoMetrics(t *testing.T, cfg falcoemu.MetricsConfig) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := &http.Server{Handler: falcoemu.NewMetrics(cfg).Handler(), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return l.Addr().String()
}
