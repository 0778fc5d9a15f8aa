// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-falco/otelcol-falco/internal/falcoemu"
	"github.com/otelcol-falco/otelcol-falco/internal/testbed"
	"github.com/otelcol-falco/otelcol-falco/processor/falcolabelprocessor"
)

// TestGRPCAlertsReachPrometheusAndLogs is the spine: 20,000 alerts over Falco's unix socket become
// falco_events_total in a real Prometheus and 20,000 log records carrying every output field.
func TestGRPCAlertsReachPrometheusAndLogs(t *testing.T) {
	const total = 20000
	socket := filepath.Join(t.TempDir(), "falco.sock")
	emu := startEmulator(t, socket)
	sink := testbed.StartSink(t, true)
	env := agentEnv{Socket: socket, Prometheus: testbed.FreeAddr(t), Sink: sink}
	configs := append(agentConfigs(), filepath.Join(testbed.RepoRoot(), "e2e", "testdata", "metrics-max-series-10000.yaml"))
	testbed.StartCollector(t, testbed.CollectorOptions{Configs: configs, Env: env.vars(t)})
	prom := testbed.StartPrometheus(t, []testbed.ScrapeTarget{{Job: "otelcol-falco", Addr: env.Prometheus}})

	// 25 rules × 20 pods × 8 priorities stays under the overlay's max_series (10,000).
	gen := newGenerator(t, falcoemu.GeneratorConfig{Seed: 1, Pods: 20, RuleCount: 25, Priorities: falcoemu.AllPriorities()})
	sent := map[string]falcoemu.Alert{} // by output line, which carries the alert's nanosecond time
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for range total {
		a := gen.Next()
		sent[a.Output()] = a
		require.True(t, emu.Enqueue(ctx, a))
	}
	require.Len(t, sent, total, "alerts must be distinguishable by output")

	require.True(t, testbed.WaitFor(60*time.Second, func() bool { return sink.Count() >= total }),
		"sink got %d of %d log records", sink.Count(), total)
	var sum float64
	require.True(t, testbed.WaitFor(60*time.Second, func() bool {
		sum, _ = prom.QueryScalar(`sum(falco_events_total)`)
		return sum == total
	}), "sum(falco_events_total) = %v, want %d", sum, total)

	want := gen.Tally().Snapshot()
	assertSeriesSums(t, prom, `sum by (falco_rule) (falco_events_total)`, "falco_rule", want.ByRule)
	assertSeriesSums(t, prom, `sum by (falco_priority) (falco_events_total)`, "falco_priority", want.ByPriority)
	assertSeriesSums(t, prom, `sum by (k8s_namespace_name) (falco_events_total)`, "k8s_namespace_name", want.ByNamespace)
	byPod, err := prom.Query(`sum by (k8s_namespace_name, k8s_pod_name) (falco_events_total)`)
	require.NoError(t, err)
	require.Len(t, byPod, len(want.ByPod))
	for _, s := range byPod {
		assert.Equal(t, float64(want.PodCount(s.Metric["k8s_namespace_name"], s.Metric["k8s_pod_name"])), s.Value, "%v", s.Metric)
	}

	records := sink.Records()
	require.Len(t, records, total)
	assert.Equal(t, 0, sink.Duplicates())
	for _, lr := range records {
		a, ok := sent[lr.Body().Str()]
		require.True(t, ok, "a record no alert was sent for: %q", lr.Body().Str())
		assertCarriesFields(t, lr, a)
	}
}

// assertSeriesSums checks a `sum by (label)` query against the emulator's tally.
func assertSeriesSums(t *testing.T, prom *testbed.Prometheus, query, label string, want map[string]uint64) {
	t.Helper()
	samples, err := prom.Query(query)
	require.NoError(t, err)
	got := map[string]uint64{}
	for _, s := range samples {
		got[s.Metric[label]] = uint64(s.Value)
	}
	assert.Equal(t, want, got, query)
}

// assertCarriesFields checks that every output field of the alert that has a value is on the log
// record or its resource, under its Falco key or the semantic-convention key falcolabel maps it to.
func assertCarriesFields(t *testing.T, lr plog.LogRecord, a falcoemu.Alert) {
	t.Helper()
	targets := falcolabelprocessor.DefaultTargets()
	attrs := lr.Attributes()
	for _, f := range a.Fields() {
		if f.Value == nil || f.Value == falcoemu.NA || f.Value == "" {
			continue // Falco's "no value": never an attribute
		}
		keys := []string{f.Key}
		if to, ok := targets[f.Key]; ok {
			keys = append(keys, to, "resource."+to)
		}
		found := slices.ContainsFunc(keys, func(k string) bool { _, ok := attrs.Get(k); return ok })
		if !found && f.Key == "container.id" && f.Value == "host" {
			found = true // a host alert: no container identity
		}
		if !found && (f.Key == "container.name" && f.Value == "host") {
			found = true
		}
		require.True(t, found, "%s: field %s=%v missing from %v", a.Rule.Name, f.Key, f.Value, attrs.AsRaw())
	}
	for _, k := range []string{"falco.rule", "falco.priority", "falco.source", "falco.tags"} {
		_, ok := attrs.Get(k)
		require.True(t, ok, "missing %s", k)
	}
	assert.Equal(t, "falco.alert", lr.EventName())
}

// TestGRPCReconnects stops and restarts Falco five times during a stream: the collector never
// exits, resubscribes within 2 s each time, and counts every alert Falco handed out.
func TestGRPCReconnects(t *testing.T) {
	socket := filepath.Join(t.TempDir(), "falco.sock")
	emu := startEmulator(t, socket)
	sink := testbed.StartSink(t, false)
	env := agentEnv{Socket: socket, Prometheus: testbed.FreeAddr(t), Sink: sink}
	col := testbed.StartCollector(t, testbed.CollectorOptions{Configs: agentConfigs(), Env: env.vars(t)})

	gen := newGenerator(t, falcoemu.GeneratorConfig{Seed: 2, Pods: 10})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	feeding := make(chan uint64)
	go func() { feeding <- emu.Feed(ctx, gen, 0, 2000) }()

	var reconnects []time.Duration
	for i := range 5 {
		require.True(t, testbed.WaitFor(10*time.Second, func() bool { return emu.Subscribers() == 1 }), "round %d: no subscriber", i)
		time.Sleep(300 * time.Millisecond) // let alerts flow
		emu.Stop()
		time.Sleep(time.Duration(200+150*i) * time.Millisecond) // Falco is away for a while
		require.NoError(t, emu.Start())
		restarted := time.Now()
		require.True(t, testbed.WaitFor(10*time.Second, func() bool { return emu.Subscribers() == 1 }), "round %d: no resubscription", i)
		reconnects = append(reconnects, time.Since(restarted))
		require.False(t, col.Exited(), "collector exited:\n%s", col.Output())
	}
	cancel()
	<-feeding
	// Let the stream drain what is still queued, then compare with what Falco handed out.
	require.True(t, testbed.WaitFor(20*time.Second, func() bool { return emu.QueueLen() == 0 }))
	handed := emu.HandedOut()
	got := waitScrapeSum(t, env.Prometheus, float64(handed), 20*time.Second)
	t.Logf("handed out %d alerts over 6 sessions; reconnect times %v", handed, reconnects)
	assert.Equal(t, float64(handed), got, "falco_events_total vs alerts handed out")
	// The logs leave the agent's spool in batches (up to spool.flush_timeout later than the counts).
	testbed.WaitFor(10*time.Second, func() bool { return sink.Count() >= int64(handed) })
	assert.Equal(t, int64(handed), sink.Count(), "log records vs alerts handed out")
	for i, d := range reconnects {
		assert.Less(t, d, 2*time.Second, "reconnect %d took %v", i, d)
	}
	assert.False(t, col.Exited())
}

// TestGRPCLatency measures alert → exported log latency at 100 alerts/s. It reports p50/p99 and
// asserts only a generous bound, so CI noise cannot flake it.
func TestGRPCLatency(t *testing.T) {
	socket := filepath.Join(t.TempDir(), "falco.sock")
	emu := startEmulator(t, socket)
	sink := testbed.StartSink(t, true)
	env := agentEnv{Socket: socket, Prometheus: testbed.FreeAddr(t), Sink: sink}
	testbed.StartCollector(t, testbed.CollectorOptions{Configs: agentConfigs(), Env: env.vars(t)})
	require.True(t, testbed.WaitFor(10*time.Second, func() bool { return emu.Subscribers() == 1 }))

	const count = 500 // 5 s at 100/s
	feed(t, emu, newGenerator(t, falcoemu.GeneratorConfig{Seed: 3, Pods: 5}), count, 100)
	require.True(t, testbed.WaitFor(20*time.Second, func() bool { return sink.Count() >= count }))

	lat := sink.Latencies(time.Time{})
	require.Len(t, lat, count)
	slices.Sort(lat)
	p50, p99 := lat[len(lat)/2], lat[len(lat)*99/100]
	t.Logf("alert → exported log latency at 100 alerts/s: p50 %v, p99 %v, max %v", p50, p99, lat[len(lat)-1])
	assert.Less(t, p99, time.Second, "p99 latency (target 200 ms)")
}

// TestTwoReceivers runs falco/a and falco/b on two sockets in one collector.
func TestTwoReceivers(t *testing.T) {
	dir := t.TempDir()
	sockA, sockB := filepath.Join(dir, "a.sock"), filepath.Join(dir, "b.sock")
	emuA, emuB := startEmulator(t, sockA), startEmulator(t, sockB)
	sink := testbed.StartSink(t, false)
	env := agentEnv{Socket: sockA, Prometheus: testbed.FreeAddr(t), Sink: sink,
		Extra: map[string]string{"FALCO_B_GRPC_ENDPOINT": "unix://" + sockB}}
	configs := append(agentConfigs(), filepath.Join(testbed.RepoRoot(), "e2e", "testdata", "two-receivers.yaml"))
	testbed.StartCollector(t, testbed.CollectorOptions{Configs: configs, Env: env.vars(t)})

	feed(t, emuA, newGenerator(t, falcoemu.GeneratorConfig{Seed: 4, Pods: 5, Hostname: "node-a"}), 3000, 0)
	feed(t, emuB, newGenerator(t, falcoemu.GeneratorConfig{Seed: 5, Pods: 5, Hostname: "node-b"}), 2000, 0)

	url := "http://" + env.Prometheus + "/metrics"
	for host, want := range map[string]float64{"node-a": 3000, "node-b": 2000} {
		var got float64
		testbed.WaitFor(30*time.Second, func() bool {
			got, _ = testbed.ScrapeSum(url, "falco_events_total", fmt.Sprintf(`host_name=%q`, host))
			return got == want
		})
		assert.Equal(t, want, got, "falco_events_total for %s", host)
	}
	require.True(t, testbed.WaitFor(20*time.Second, func() bool { return sink.Count() == 5000 }), "logs: %d", sink.Count())
}
