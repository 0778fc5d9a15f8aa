// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"context"
	"maps"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

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

// daemonSetRuntime is the Go runtime's environment of the agent as the DaemonSet sets it
// (deploy/kubernetes/agent-daemonset.yaml: its GO* variables, GOMAXPROCS from limits.cpu as the
// kubelet fills a resourceFieldRef; those it leaves out at Go's default), merged under env.
func daemonSetRuntime(tb testing.TB, env map[string]string) map[string]string {
	tb.Helper()
	raw, err := os.ReadFile(filepath.Join(testbed.RepoRoot(), "deploy", "kubernetes", "agent-daemonset.yaml"))
	require.NoError(tb, err)
	var ds struct {
		Spec struct {
			Template struct {
				Spec struct {
					Containers []struct {
						Name string `yaml:"name"`
						Env  []struct {
							Name      string `yaml:"name"`
							Value     string `yaml:"value"`
							ValueFrom struct {
								ResourceFieldRef struct {
									Resource string `yaml:"resource"`
								} `yaml:"resourceFieldRef"`
							} `yaml:"valueFrom"`
						} `yaml:"env"`
						Resources struct {
							Limits map[string]string `yaml:"limits"`
						} `yaml:"resources"`
					} `yaml:"containers"`
				} `yaml:"spec"`
			} `yaml:"template"`
		} `yaml:"spec"`
	}
	require.NoError(tb, yaml.Unmarshal(raw, &ds))
	out := map[string]string{}
	for _, c := range ds.Spec.Template.Spec.Containers {
		if c.Name != "otelcol-falco" {
			continue
		}
		for _, e := range c.Env {
			switch {
			case !strings.HasPrefix(e.Name, "GO"):
			case e.ValueFrom.ResourceFieldRef.Resource == "limits.cpu":
				out[e.Name] = strconv.Itoa(cpusRoundedUp(tb, c.Resources.Limits["cpu"]))
			default:
				out[e.Name] = e.Value
			}
		}
	}
	require.Contains(tb, out, "GOMEMLIMIT", "the DaemonSet's agent container")
	for _, name := range []string{"GOGC", "GOMAXPROCS", "GODEBUG"} {
		if _, set := out[name]; !set {
			out[name] = "" // Go's default, as in the pod, whatever the test's own environment says
		}
	}
	maps.Copy(out, env)
	return out
}

// cpusRoundedUp reads a CPU quantity ("1", "1.5", "500m") as the kubelet's resourceFieldRef
// with divisor 1 gives it: whole CPUs, rounded up.
func cpusRoundedUp(tb testing.TB, q string) int {
	tb.Helper()
	var milli float64
	if m, ok := strings.CutSuffix(q, "m"); ok {
		v, err := strconv.ParseFloat(m, 64)
		require.NoError(tb, err, "CPU quantity %q", q)
		milli = v
	} else {
		v, err := strconv.ParseFloat(q, 64)
		require.NoError(tb, err, "CPU quantity %q", q)
		milli = v * 1000
	}
	return int(math.Ceil(milli / 1000))
}
