// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"context"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/otelcol-falco/otelcol-falco/internal/falcoemu"
	"github.com/otelcol-falco/otelcol-falco/internal/testbed"
)

// TestAgentFullQueueFigures fills the agent's shipped 512 MiB queue with the gateway down, kills
// and restarts the agent on it, then drains it, and reports the disk and memory it took:
//
//	QUEUE_FIGURES=1 go test -count=1 -run TestAgentFullQueueFigures -v -timeout 30m ./e2e/
//
// The agent runs as the DaemonSet runs it (GOMEMLIMIT=200MiB GOMAXPROCS=1); the "gateway" is a bare
// OTLP relay to a counting sink, so the drain measures the agent.
func TestAgentFullQueueFigures(t *testing.T) {
	if os.Getenv("QUEUE_FIGURES") == "" {
		t.Skip("set QUEUE_FIGURES=1 to fill, restart and drain a full agent queue")
	}
	queueDir := t.TempDir()
	sink := testbed.StartSink(t, false)
	gwEnv := map[string]string{"OTLP_GRPC_ENDPOINT": testbed.FreeAddr(t), "SINK_ENDPOINT": sink.Endpoint()}
	relay := filepath.Join(t.TempDir(), "relay.yaml")
	require.NoError(t, os.WriteFile(relay, []byte(`receivers:
  otlp:
    protocols:
      grpc:
        endpoint: ${env:OTLP_GRPC_ENDPOINT}
exporters:
  otlp_http:
    endpoint: ${env:SINK_ENDPOINT}
    sending_queue:
      enabled: false
extensions:
  health_check:
    endpoint: ${env:HEALTH_CHECK_ENDPOINT}
service:
  extensions: [health_check]
  pipelines:
    logs:
      receivers: [otlp]
      exporters: [otlp_http]
  telemetry:
    metrics:
      level: none
`), 0o600))

	httpAddr := testbed.FreeAddr(t)
	agentConfigs := []string{filepath.Join(testbed.RepoRoot(), "config", "agent.yaml")}
	agent := testbed.StartCollector(t, testbed.CollectorOptions{Configs: agentConfigs, Env: daemonSetRuntime(t, map[string]string{
		"FALCO_GRPC_ENABLED":    "false",
		"FALCO_METRICS_ENABLED": "false",
		"FALCO_HTTP_ENDPOINT":   httpAddr,
		"PROMETHEUS_ENDPOINT":   testbed.FreeAddr(t),
		"GATEWAY_OTLP_ENDPOINT": gwEnv["OTLP_GRPC_ENDPOINT"],
		"FILE_STORAGE_DIR":      queueDir,
	})})
	peakDisk := atomic.Int64{}
	stopWatch := watchDisk(queueDir, &peakDisk)
	defer stopWatch()

	// Fill: NDJSON over 4 connections until the queue refuses.
	g := newGenerator(t, falcoemu.GeneratorConfig{Seed: 3, Pods: 100, Priorities: falcoemu.AllPriorities(), Hostname: "figures"})
	sender := newSender(t, falcoemu.HTTPSenderConfig{URL: "http://" + httpAddr + "/", Mode: falcoemu.ModeNDJSON, Batch: 500, Connections: 4, MaxRetries: -1})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	start := time.Now()
	st := sender.Run(ctx, g, 600_000, 0)
	queued := spoolBytes(agent)
	size, alloc := dirUsage(t, queueDir)
	t.Logf("FIGURE fill: %d alerts answered 200, %d refused in %v; queue %.0f bytes (%.1f%% of 512 MiB); directory %d bytes (%d allocated); agent peak RSS %d MiB",
		st.Acked, st.Failed, time.Since(start).Round(time.Second), queued, 100*queued/(512<<20), size, alloc, peakRSSMiB(agent.PID()))

	// SIGKILL and restart on the full queue, gateway still down.
	agent.Kill()
	agent.Restart(t, agentConfigs)
	time.Sleep(5 * time.Second)
	size, alloc = dirUsage(t, queueDir)
	t.Logf("FIGURE restart on the full queue: agent peak RSS %d MiB after 5 s; directory %d bytes (%d allocated)", peakRSSMiB(agent.PID()), size, alloc)

	// Drain through the relay.
	relayCol := testbed.StartCollector(t, testbed.CollectorOptions{Configs: []string{relay}, Env: gwEnv})
	defer relayCol.Stop(t)
	back := time.Now()
	require.True(t, testbed.WaitFor(15*time.Minute, func() bool { return sink.Count() >= int64(st.Acked) }),
		"drained %d of %d", sink.Count(), st.Acked)
	drained := time.Since(back)
	time.Sleep(10 * time.Second) // compactions after the drain
	size, alloc = dirUsage(t, queueDir)
	t.Logf("FIGURE drain: %d records in %v (%.0f alerts/s); agent peak RSS %d MiB; directory peak %d bytes, %d after the drain (%d allocated)",
		sink.Count(), drained.Round(time.Second), float64(sink.Count())/drained.Seconds(), peakRSSMiB(agent.PID()), peakDisk.Load(), size, alloc)
}

// watchDisk records the largest size the directory reached, every 200 ms.
func watchDisk(dir string, peak *atomic.Int64) (stop func()) {
	done := make(chan struct{})
	go func() {
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				var total int64
				_ = filepath.WalkDir(dir, func(_ string, e os.DirEntry, err error) error {
					if err == nil && !e.IsDir() {
						if info, err := e.Info(); err == nil {
							total += info.Size()
						}
					}
					return nil
				})
				if total > peak.Load() {
					peak.Store(total)
				}
			}
		}
	}()
	return func() { close(done) }
}
