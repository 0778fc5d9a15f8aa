// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/otelcol-falco/otelcol-falco/internal/testbed"
)

// warnings returns the collector's log lines at level warn or above.
func warnings(output string) []string {
	var out []string
	for _, l := range strings.Split(output, "\n") {
		f := strings.SplitN(l, "\t", 3)
		if len(f) == 3 && (f[1] == "warn" || f[1] == "error" || f[1] == "fatal") {
			out = append(out, l)
		}
	}
	return out
}

// TestIdleAgentIsQuiet runs the shipped config/agent.yaml as a node with Falco >= 0.44 and no
// Falco yet: no gRPC socket, no Falco /metrics, a gateway that is up. In 20 s it logs at most one
// warning (that Falco's /metrics cannot be scraped): gRPC is opt-in, so there is no reconnect
// noise (issue 13: ~86k lines per node per day before).
func TestIdleAgentIsQuiet(t *testing.T) {
	// A gRPC server stands in for the gateway, so the exporter's connection has a peer.
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	gateway := grpc.NewServer()
	go func() { _ = gateway.Serve(lis) }()
	t.Cleanup(gateway.Stop)

	missingSocket := filepath.Join(t.TempDir(), "falco.sock") // never created
	_, col := startShippedAgent(t, map[string]string{
		"FALCO_GRPC_ENDPOINT":   "unix://" + missingSocket, // what the agent would dial, were gRPC on
		"GATEWAY_OTLP_ENDPOINT": lis.Addr().String(),
	})
	time.Sleep(20 * time.Second)
	require.False(t, col.Exited(), "agent exited:\n%s", col.Output())

	warns := warnings(col.Output())
	// The one warning expected proves the count sees this log format: without it the check
	// below could pass on a log it cannot read.
	require.True(t, strings.Contains(col.Output(), "Cannot scrape Falco's /metrics"),
		"expected the falco_metrics warning in the log:\n%s", col.Output())
	require.LessOrEqual(t, len(warns), 1, "an idle agent without Falco logs at most one warning in 20 s:\n%s", strings.Join(warns, "\n"))
	require.NotContains(t, col.Output(), missingSocket, "gRPC must be off by default (Falco >= 0.44 has no gRPC output)")
}

// TestGatewayWithoutSIEM starts the shipped config/gateway.yaml the way the README's order
// leads to it, before the SIEM is configured: it must neither start (the old default sent every
// alert back to its own OTLP receiver, 51 times in 10 s and growing) nor start silently. It
// exits non-zero with a message naming SIEM_OTLP_ENDPOINT. With the variable set it starts.
func TestGatewayWithoutSIEM(t *testing.T) {
	// Loopback addresses for every listener; TELEMETRY_* and HEALTH_CHECK_ENDPOINT come from
	// testbed.StartCollector where it runs the gateway.
	gatewayVars := func(extra map[string]string) map[string]string {
		env := map[string]string{"FILE_STORAGE_DIR": t.TempDir(),
			"OTLP_GRPC_ENDPOINT": testbed.FreeAddr(t), "OTLP_HTTP_ENDPOINT": testbed.FreeAddr(t),
			"PROMETHEUS_ENDPOINT": testbed.FreeAddr(t)}
		for k, v := range extra {
			env[k] = v
		}
		return env
	}
	config := filepath.Join(testbed.RepoRoot(), "config", "gateway.yaml")

	t.Run("no SIEM configured: refuses to start, naming the setting", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, testbed.CollectorBinary(t), "--config", config)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "TELEMETRY_HOST=127.0.0.1",
			"TELEMETRY_PORT=0", "HEALTH_CHECK_ENDPOINT=" + testbed.FreeAddr(t)}
		for k, v := range gatewayVars(nil) {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		out, err := cmd.CombinedOutput()
		require.NoError(t, ctx.Err(), "the gateway kept running without a SIEM:\n%s", out)
		require.Error(t, err, "the gateway started without a SIEM:\n%s", out)
		require.Contains(t, string(out), `"name": "SIEM_OTLP_ENDPOINT"`, "the failure must name the setting")
		require.Contains(t, string(out), "otlp_http/siem")
	})

	t.Run("SIEM configured: starts", func(t *testing.T) {
		sink := testbed.StartSink(t, false)
		testbed.StartCollector(t, testbed.CollectorOptions{Configs: []string{config},
			Env: gatewayVars(map[string]string{"SIEM_OTLP_ENDPOINT": sink.Endpoint()})})
	})

	t.Run("Kafka only: SIEM_OTLP_ENDPOINT=none starts", func(t *testing.T) {
		testbed.StartCollector(t, testbed.CollectorOptions{Configs: []string{config},
			Env: gatewayVars(map[string]string{"GATEWAY_LOGS_EXPORTERS": "[kafka]", "SIEM_OTLP_ENDPOINT": "none",
				"KAFKA_BROKERS": testbed.FreeAddr(t)})})
	})
}

// TestGatewayRecyclesAgentConnections starts the shipped gateway with a short
// OTLP_GRPC_MAX_CONNECTION_AGE and holds a gRPC connection to it the way an agent does: the
// gateway closes it (GOAWAY), so behind a Service the agent's next connection can land on a
// replica the HPA added. Without keepalive.server_parameters.max_connection_age the connection
// would stay up and the wait below would fail.
func TestGatewayRecyclesAgentConnections(t *testing.T) {
	sink := testbed.StartSink(t, false)
	otlpGRPC := testbed.FreeAddr(t)
	testbed.StartCollector(t, testbed.CollectorOptions{
		Configs: []string{filepath.Join(testbed.RepoRoot(), "config", "gateway.yaml")},
		Env: map[string]string{"FILE_STORAGE_DIR": t.TempDir(), "SIEM_OTLP_ENDPOINT": sink.Endpoint(),
			"OTLP_GRPC_ENDPOINT": otlpGRPC, "OTLP_HTTP_ENDPOINT": testbed.FreeAddr(t),
			"PROMETHEUS_ENDPOINT": testbed.FreeAddr(t), "OTLP_GRPC_MAX_CONNECTION_AGE": "1s"},
	})

	conn, err := grpc.NewClient(otlpGRPC, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn.Connect()
	for s := conn.GetState(); s != connectivity.Ready; s = conn.GetState() {
		require.True(t, conn.WaitForStateChange(ctx, s), "never connected to the gateway (state %s)", s)
	}
	// Ready until the gateway ends the connection after max_connection_age.
	require.True(t, conn.WaitForStateChange(ctx, connectivity.Ready),
		"the gateway kept the connection for 30 s: agents would never move to new replicas")
	require.NotEqual(t, connectivity.Ready, conn.GetState())
}
