// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package falcolabelprocessor

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/otelcol-falco/otelcol-falco/processor/falcolabelprocessor/internal/metadata"
)

// TestFactoryConcurrentBatches runs the processors the way a pipeline does, with batches
// arriving on several goroutines at once.
func TestFactoryConcurrentBatches(t *testing.T) {
	factory := NewFactory()
	cfg := factory.CreateDefaultConfig().(*Config)
	cfg.K8sNodeName = "worker-1"
	logsSink, metricsSink := new(consumertest.LogsSink), new(consumertest.MetricsSink)
	set := processortest.NewNopSettings(metadata.Type)

	lp, err := factory.CreateLogs(t.Context(), set, cfg, logsSink)
	require.NoError(t, err)
	mp, err := factory.CreateMetrics(t.Context(), set, cfg, metricsSink)
	require.NoError(t, err)
	assert.True(t, lp.Capabilities().MutatesData)
	require.NoError(t, lp.Start(t.Context(), componenttest.NewNopHost()))
	require.NoError(t, mp.Start(t.Context(), componenttest.NewNopHost()))

	const workers, batches = 4, 25
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Go(func() {
			for i := 0; i < batches; i++ {
				assert.NoError(t, lp.ConsumeLogs(t.Context(), newAlertLogs(t, "node-1", interleavedAlerts(40, 5)...)))
				assert.NoError(t, mp.ConsumeMetrics(t.Context(), newEventsMetrics(t, "node-1", tick1, eventSeries(1)...)))
			}
		})
	}
	wg.Wait()
	require.NoError(t, lp.Shutdown(t.Context()))
	require.NoError(t, mp.Shutdown(t.Context()))

	assert.Equal(t, workers*batches*40, logsSink.LogRecordCount())
	for _, ld := range logsSink.AllLogs() {
		require.Equal(t, 5, ld.ResourceLogs().Len())
		for _, rl := range ld.ResourceLogs().All() {
			node, _ := rl.Resource().Attributes().Get("k8s.node.name")
			assert.Equal(t, "worker-1", node.Str())
		}
	}
	assert.Equal(t, workers*batches*5, metricsSink.DataPointCount())
}
