// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package falcoreceiver

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/otelcol-falco/otelcol-falco/internal/falcoemu"
	"github.com/otelcol-falco/otelcol-falco/receiver/falcoreceiver/internal/metadata"
)

func TestStatusFanoutReachesEveryHost(t *testing.T) {
	first := &statusHost{Host: componenttest.NewNopHost()}
	fanout := newStatusFanout(first)
	fanout.join(first)
	fanout.Report(componentstatus.NewRecoverableErrorEvent(assert.AnError))
	late := &statusHost{Host: componenttest.NewNopHost()}
	fanout.join(late)
	fanout.join(componenttest.NewNopHost()) // takes no status: ignored
	assert.Equal(t, componentstatus.StatusRecoverableError, late.last(), "a late host learns the current state")
	fanout.Report(componentstatus.NewEvent(componentstatus.StatusOK))
	assert.Equal(t, []componentstatus.Status{componentstatus.StatusRecoverableError, componentstatus.StatusOK}, first.all())
	assert.Equal(t, []componentstatus.Status{componentstatus.StatusRecoverableError, componentstatus.StatusOK}, late.all())
}

// TestSharedReceiverReportsStatusToBothPipelines starts one receiver from its logs and its metrics
// pipeline, each with its own host as the collector does: Falco's outage and recovery reach both.
func TestSharedReceiverReportsStatusToBothPipelines(t *testing.T) {
	socket := filepath.Join(t.TempDir(), "falco.sock")
	cfg := createDefaultConfig().(*Config)
	g := defaultGRPCConfig()
	g.ClientConfig.Endpoint = "unix://" + socket
	cfg.GRPC = configoptional.Some(g)
	cfg.HTTP = configoptional.None[HTTPConfig]()
	cfg.FalcoMetrics = configoptional.None[FalcoMetricsConfig]()
	set := receivertest.NewNopSettings(metadata.Type)
	logsRcv, err := NewFactory().CreateLogs(context.Background(), set, cfg, consumertest.NewNop())
	require.NoError(t, err)
	metricsRcv, err := NewFactory().CreateMetrics(context.Background(), set, cfg, consumertest.NewNop())
	require.NoError(t, err)
	logsHost := &statusHost{Host: componenttest.NewNopHost()}
	metricsHost := &statusHost{Host: componenttest.NewNopHost()}
	require.NoError(t, logsRcv.Start(context.Background(), logsHost))
	require.NoError(t, metricsRcv.Start(context.Background(), metricsHost))
	t.Cleanup(func() {
		require.NoError(t, logsRcv.Shutdown(context.Background()))
		require.NoError(t, metricsRcv.Shutdown(context.Background()))
	})
	for _, h := range []*statusHost{logsHost, metricsHost} {
		require.Eventually(t, func() bool { return h.last() == componentstatus.StatusRecoverableError }, 5*time.Second, 10*time.Millisecond)
	}

	emu, err := falcoemu.NewGRPCServer(falcoemu.GRPCServerConfig{Addr: "unix://" + socket})
	require.NoError(t, err)
	require.NoError(t, emu.Start())
	t.Cleanup(emu.Stop)
	for _, h := range []*statusHost{logsHost, metricsHost} {
		require.Eventually(t, func() bool { return h.last() == componentstatus.StatusOK }, 5*time.Second, 10*time.Millisecond)
	}
}
