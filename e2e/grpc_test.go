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

	"github.com/otelcol-falco/otelcol-falco/internal/falcoemu"
	"github.com/otelcol-falco/otelcol-falco/internal/testbed"
)

// TestGRPCAlertsReachPrometheusAndLogs is the spine: 20,000 alerts over Falco's unix socket become
// falco_events_total in a real Prometheus and 20,000 log records with every output field.
func TestGRPCAlertsReachPrometheusAndLogs(t *testing.T) {
	const total = 20000
	socket := filepath.Join(t.TempDir(), "falco.sock")
	emu := startEmulator(t, socket)
	sink := testbed.StartSink(t, true)
	env := agentEnv{Socket: socket, Prometheus: testbed.FreeAddr(t), Sink: sink}
	testbed.StartCollector(t, testbed.CollectorOptions{Configs: agentConfigs(), Env: env.vars()})
	prom := testbed.StartPrometheus(t, []testbed.ScrapeTarget{{Job: "otelcol-falco", Addr: env.Prometheus}})

	gen := newGenerator(t, falcoemu.GeneratorConfig{Seed: 1, Pods: 30, Priorities: falcoemu.AllPriorities()})
	feed(t, emu, gen, total, 0)

	require.True(t, testbed.WaitFor(60*time.Second, func() bool { return sink.Count() >= total }),
		"sink got %d of %d log records", sink.Count(), total)
	var sum float64
	require.True(t, testbed.WaitFor(60*time.Second, func() bool {
		sum, _ = prom.QueryScalar(`sum(falco_events_total)`)
		return sum == total
	}), "sum(falco_events_total) = %v, want %d", sum, total)

	want := gen.Tally().Snapshot()
	byRule, err := prom.Query(`sum by (falco_rule) (falco_events_total)`)
	require.NoError(t, err)
	got := map[string]uint64{}
	for _, s := range byRule {
		got[s.Metric["falco_rule"]] = uint64(s.Value)
	}
	assert.Equal(t, want.ByRule, got)

	byPriority, err := prom.Query(`sum by (falco_priority) (falco_events_total)`)
	require.NoError(t, err)
	assert.Len(t, byPriority, 8, "all eight priorities")

	records := sink.Records()
	assert.Len(t, records, total)
	assert.Equal(t, 0, sink.Duplicates())
	rules := map[string]*falcoemu.Rule{}
	for _, r := range gen.Rules() {
		rules[r.Name] = r
	}
	for i, lr := range records {
		ruleAttr, ok := lr.Attributes().Get("falco.rule")
		require.True(t, ok, "record %d has no falco.rule", i)
		rule := rules[ruleAttr.Str()]
		require.NotNil(t, rule, "unknown rule %q", ruleAttr.Str())
		for _, key := range rule.Fields {
			if _, ok := lr.Attributes().Get(key); !ok {
				t.Fatalf("record %d (%s) lacks output field %q: %v", i, rule.Name, key, lr.Attributes().AsRaw())
			}
		}
		assert.Equal(t, "falco.alert", lr.EventName())
	}
}

// TestGRPCReconnects stops and restarts Falco five times during a stream: the collector never
// exits, resubscribes within 2 s each time, and counts every alert Falco handed out.
func TestGRPCReconnects(t *testing.T) {
	socket := filepath.Join(t.TempDir(), "falco.sock")
	emu := startEmulator(t, socket)
	sink := testbed.StartSink(t, false)
	env := agentEnv{Socket: socket, Prometheus: testbed.FreeAddr(t), Sink: sink}
	col := testbed.StartCollector(t, testbed.CollectorOptions{Configs: agentConfigs(), Env: env.vars()})

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
	testbed.StartCollector(t, testbed.CollectorOptions{Configs: agentConfigs(), Env: env.vars()})
	require.True(t, testbed.WaitFor(10*time.Second, func() bool { return emu.Subscribers() == 1 }))

	const count = 500 // 5 s at 100/s
	feed(t, emu, newGenerator(t, falcoemu.GeneratorConfig{Seed: 3, Pods: 5}), count, 100)
	require.True(t, testbed.WaitFor(20*time.Second, func() bool { return sink.Count() >= count }))

	lat := sink.Latencies()
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
	testbed.StartCollector(t, testbed.CollectorOptions{Configs: configs, Env: env.vars()})

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
