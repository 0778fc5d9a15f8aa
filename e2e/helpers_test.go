// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"context"
	"maps"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/otelcol-falco/otelcol-falco/internal/falcoemu"
	"github.com/otelcol-falco/otelcol-falco/internal/testbed"
)

// agentConfigs are the shipped agent config plus the overlay that sends logs to a test sink.
func agentConfigs() []string {
	root := testbed.RepoRoot()
	return []string{filepath.Join(root, "config", "agent.yaml"), filepath.Join(root, "e2e", "testdata", "logs-to-sink.yaml")}
}

// agentEnv points the shipped agent config at loopback addresses of this test.
type agentEnv struct {
	Socket     string // Falco gRPC unix socket path
	Prometheus string // exporter host:port
	Sink       *testbed.Sink
	Extra      map[string]string
}

func (e agentEnv) vars(t *testing.T) map[string]string {
	env := map[string]string{
		"FILE_STORAGE_DIR":       t.TempDir(), // the agent's persistent queue
		"FALCO_GRPC_ENABLED":     "true",      // gRPC is opt-in (Falco <= 0.43); these tests feed the emulator's
		"FALCO_GRPC_ENDPOINT":    "unix://" + e.Socket,
		"PROMETHEUS_ENDPOINT":    e.Prometheus,
		"FALCO_METRICS_INTERVAL": "1s",
		"FALCO_HTTP_ENDPOINT":    "127.0.0.1:0",
		"K8S_NODE_NAME":          "e2e-node",
	}
	if e.Sink != nil {
		env["SINK_ENDPOINT"] = e.Sink.Endpoint()
	}
	for k, v := range e.Extra {
		env[k] = v
	}
	return env
}

// startEmulator starts a Falco gRPC server on a unix socket in a temp dir.
func startEmulator(t *testing.T, socket string) *falcoemu.GRPCServer {
	t.Helper()
	srv, err := falcoemu.NewGRPCServer(falcoemu.GRPCServerConfig{Addr: "unix://" + socket})
	require.NoError(t, err)
	require.NoError(t, srv.Start())
	t.Cleanup(srv.Stop)
	return srv
}

func newGenerator(t *testing.T, cfg falcoemu.GeneratorConfig) *falcoemu.Generator {
	t.Helper()
	g, err := falcoemu.NewGenerator(cfg)
	require.NoError(t, err)
	return g
}

// waitScrapeSum waits until the exporter's falco_events_total sums to want.
func waitScrapeSum(t *testing.T, promAddr string, want float64, timeout time.Duration) float64 {
	t.Helper()
	var got float64
	testbed.WaitFor(timeout, func() bool {
		got, _ = testbed.ScrapeSum("http://"+promAddr+"/metrics", "falco_events_total")
		return got == want
	})
	return got
}

func feed(t *testing.T, srv *falcoemu.GRPCServer, g *falcoemu.Generator, count uint64, rate float64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	require.Equal(t, count, srv.Feed(ctx, g, count, rate))
}

// daemonSetRuntime is the Go runtime's environment of the agent as the DaemonSet runs it
// (deploy/kubernetes/agent-daemonset.yaml, 256Mi and 1 CPU limits), merged into env.
func daemonSetRuntime(env map[string]string) map[string]string {
	out := map[string]string{"GOMEMLIMIT": "200MiB", "GOGC": "200", "GOMAXPROCS": "1"}
	maps.Copy(out, env)
	return out
}
