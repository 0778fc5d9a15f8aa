// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-falco/otelcol-falco/internal/falcoemu"
	"github.com/otelcol-falco/otelcol-falco/internal/testbed"
)

// warnOrWorse matches a warning, error or worse line of the collector's log, console or JSON
// encoded; gRPC's own lines come through the same logger.
var warnOrWorse = regexp.MustCompile(`(?m)^\S+\t(warn|error|dpanic|panic|fatal)\t|"level":"(warn|error|dpanic|panic|fatal)"`)

func warningLines(output string) []string {
	var lines []string
	for line := range strings.Lines(output) {
		if warnOrWorse.MatchString(line) {
			lines = append(lines, strings.TrimSpace(line))
		}
	}
	return lines
}

// TestGRPCQuietWithoutFalcoSocket runs the shipped agent with gRPC on and no Falco socket, as on a
// node with Falco >= 0.44 (no gRPC output; its webserver answers): in 20 s the agent logs one
// warning, the receiver's, and none from gRPC. When the socket appears, the receiver subscribes.
func TestGRPCQuietWithoutFalcoSocket(t *testing.T) {
	socket := filepath.Join(t.TempDir(), "falco.sock")
	env := agentEnv{Socket: socket, Prometheus: testbed.FreeAddr(t), Sink: testbed.StartSink(t, false),
		Extra: map[string]string{
			"FALCO_GRPC_ENABLED":   "true",
			"FALCO_METRICS_TARGET": serveFalcoMetrics(t, falcoemu.MetricsConfig{}),
		}}
	col := testbed.StartCollector(t, testbed.CollectorOptions{Configs: agentConfigs(), Env: env.vars(t)})
	time.Sleep(20 * time.Second)
	warnings := warningLines(col.Output())
	require.Len(t, warnings, 1, "one warning per outage:\n%s", strings.Join(warnings, "\n"))
	assert.Contains(t, warnings[0], "lost Falco gRPC output", "the one warning is the receiver's")

	startEmulator(t, socket)
	require.True(t, testbed.WaitFor(15*time.Second, func() bool {
		return strings.Contains(col.Output(), "reconnected to Falco gRPC output")
	}), "the receiver did not subscribe once Falco's socket appeared:\n%s", col.Output())
	assert.Len(t, warningLines(col.Output()), 1)
}
