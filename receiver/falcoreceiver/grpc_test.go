// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package falcoreceiver

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/otelcol-falco/otelcol-falco/internal/falcoemu"
	"github.com/otelcol-falco/otelcol-falco/receiver/falcoreceiver/internal/metadata"
)

// grpcFixture is a Falco emulator on a unix socket and a falco receiver subscribed to it.
type grpcFixture struct {
	emu     *falcoemu.GRPCServer
	gen     *falcoemu.Generator
	logs    *consumertest.LogsSink
	metrics *consumertest.MetricsSink
	rcv     receiver.Logs
}

func newGRPCFixture(t *testing.T, logsConsumer consumer.Logs) *grpcFixture {
	t.Helper()
	socket := filepath.Join(t.TempDir(), "falco.sock")
	emu, err := falcoemu.NewGRPCServer(falcoemu.GRPCServerConfig{Addr: "unix://" + socket})
	require.NoError(t, err)
	require.NoError(t, emu.Start())
	t.Cleanup(emu.Stop)
	gen, err := falcoemu.NewGenerator(falcoemu.GeneratorConfig{Seed: 7, Pods: 10})
	require.NoError(t, err)

	cfg := createDefaultConfig().(*Config)
	g := defaultGRPCConfig()
	g.ClientConfig.Endpoint = "unix://" + socket
	cfg.GRPC = configoptional.Some(g)
	cfg.Metrics.CollectionInterval = 50 * time.Millisecond
	cfg.Metrics.InitialDelay = 0

	f := &grpcFixture{emu: emu, gen: gen, logs: new(consumertest.LogsSink), metrics: new(consumertest.MetricsSink)}
	if logsConsumer == nil {
		logsConsumer = f.logs
	}
	set := receivertest.NewNopSettings(metadata.Type)
	factory := NewFactory()
	f.rcv, err = factory.CreateLogs(context.Background(), set, cfg, logsConsumer)
	require.NoError(t, err)
	mrcv, err := factory.CreateMetrics(context.Background(), set, cfg, f.metrics)
	require.NoError(t, err)
	require.Same(t, f.rcv, mrcv, "logs and metrics share one receiver")
	require.NoError(t, f.rcv.Start(context.Background(), componenttest.NewNopHost()))
	require.NoError(t, mrcv.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, f.rcv.Shutdown(context.Background())) })
	return f
}

func (f *grpcFixture) feed(t *testing.T, n uint64, rate float64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.Equal(t, n, f.emu.Feed(ctx, f.gen, n, rate))
}

// countedEvents is the sum of the last falco.events emission.
func (f *grpcFixture) countedEvents() int64 {
	all := f.metrics.AllMetrics()
	if len(all) == 0 {
		return 0
	}
	var sum int64
	rms := all[len(all)-1].ResourceMetrics()
	for i := 0; i < rms.Len(); i++ {
		dps := rms.At(i).ScopeMetrics().At(0).Metrics().At(0).Sum().DataPoints()
		for j := 0; j < dps.Len(); j++ {
			sum += dps.At(j).IntValue()
		}
	}
	return sum
}

func TestGRPCDeliversLogsAndCounts(t *testing.T) {
	f := newGRPCFixture(t, nil)
	f.feed(t, 2000, 0)
	require.Eventually(t, func() bool { return f.logs.LogRecordCount() == 2000 }, 10*time.Second, 10*time.Millisecond)
	require.Eventually(t, func() bool { return f.countedEvents() == 2000 }, 10*time.Second, 10*time.Millisecond)
	assert.Equal(t, uint64(2000), f.emu.HandedOut())
}

// TestGRPCLowRateAlertsArriveWithoutPolling1s: a lone alert after a quiet spell waits in Falco's
// queue for the receiver's next request. client-go's OutputsWatch asks once a second; the
// receiver asks every poll_interval (50 ms) once a second has passed without alerts, so a quiet
// second then holds some 20 requests where a 1 s poll holds one. The alert then arrives.
func TestGRPCLowRateAlertsArriveWithoutPolling1s(t *testing.T) {
	f := newGRPCFixture(t, nil)
	require.Eventually(t, func() bool { return f.emu.Subscribers() == 1 }, 5*time.Second, 5*time.Millisecond)
	grpc := f.rcv.(*falcoReceiver).grpc
	for i := range 2 {
		time.Sleep(activeWindow + 100*time.Millisecond) // past the fast pace that follows an alert
		before := grpc.requests.Load()
		time.Sleep(time.Second)
		polls := grpc.requests.Load() - before
		assert.GreaterOrEqual(t, polls, uint64(8), "requests in a quiet second at poll_interval 50ms")
		start := time.Now()
		f.feed(t, 1, 0)
		require.Eventually(t, func() bool { return f.logs.LogRecordCount() == i+1 }, 5*time.Second, time.Millisecond)
		t.Logf("%d requests in a quiet second; alert %d forwarded in %v", polls, i, time.Since(start))
	}
}

func TestGRPCResubscribesAfterFalcoRestarts(t *testing.T) {
	f := newGRPCFixture(t, nil)
	f.feed(t, 100, 0)
	require.Eventually(t, func() bool { return f.logs.LogRecordCount() == 100 }, 10*time.Second, 10*time.Millisecond)
	for range 3 {
		f.emu.Stop()
		time.Sleep(150 * time.Millisecond)
		require.NoError(t, f.emu.Start())
		require.Eventually(t, func() bool { return f.emu.Subscribers() == 1 }, 5*time.Second, 10*time.Millisecond)
	}
	f.feed(t, 100, 0)
	require.Eventually(t, func() bool { return f.logs.LogRecordCount() == 200 }, 10*time.Second, 10*time.Millisecond)
}

// refusingLogs refuses everything (a retryable error, as memory_limiter returns) while refusing
// is set, then records like a sink.
type refusingLogs struct {
	consumertest.LogsSink
	refusing atomic.Bool
	refused  atomic.Int64
}

func (r *refusingLogs) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	if r.refusing.Load() {
		r.refused.Add(1)
		return errors.New("data refused due to high memory usage")
	}
	return r.LogsSink.ConsumeLogs(ctx, ld)
}

func TestGRPCHoldsTheStreamWhileThePipelineRefuses(t *testing.T) {
	sink := &refusingLogs{}
	sink.refusing.Store(true)
	f := newGRPCFixture(t, sink)
	f.feed(t, 5000, 0)
	require.Eventually(t, func() bool { return sink.refused.Load() >= 3 }, 10*time.Second, 10*time.Millisecond)
	// The receiver stopped reading: most alerts wait in Falco's queue, nothing was counted
	// (a refused batch is counted only once the pipeline takes it, so no series exists yet).
	assert.Positive(t, f.emu.QueueLen(), "alerts should wait in Falco's queue")
	assert.Zero(t, f.rcv.(*falcoReceiver).counter.seriesCount())

	sink.refusing.Store(false)
	require.Eventually(t, func() bool { return sink.LogRecordCount() == 5000 }, 20*time.Second, 10*time.Millisecond)
	require.Eventually(t, func() bool { return f.countedEvents() == 5000 }, 10*time.Second, 10*time.Millisecond)
}

func TestGRPCReportsStatusWhenFalcoIsAway(t *testing.T) {
	socket := filepath.Join(t.TempDir(), "falco.sock")
	cfg := createDefaultConfig().(*Config)
	g := defaultGRPCConfig()
	g.ClientConfig.Endpoint = "unix://" + socket
	cfg.GRPC = configoptional.Some(g)
	host := &statusHost{Host: componenttest.NewNopHost()}
	r, err := NewFactory().CreateLogs(context.Background(), receivertest.NewNopSettings(metadata.Type), cfg, consumertest.NewNop())
	require.NoError(t, err)
	require.NoError(t, r.Start(context.Background(), host), "Falco being away is not a start error")
	t.Cleanup(func() { require.NoError(t, r.Shutdown(context.Background())) })
	require.Eventually(t, func() bool { return host.last() == componentstatus.StatusRecoverableError }, 5*time.Second, 10*time.Millisecond)

	emu, err := falcoemu.NewGRPCServer(falcoemu.GRPCServerConfig{Addr: "unix://" + socket})
	require.NoError(t, err)
	require.NoError(t, emu.Start())
	t.Cleanup(emu.Stop)
	require.Eventually(t, func() bool { return host.last() == componentstatus.StatusOK }, 5*time.Second, 10*time.Millisecond)
}

// statusHost records the status events the receiver reports, as the collector's service would.
type statusHost struct {
	component.Host
	mu     sync.Mutex
	events []componentstatus.Status
}

func (h *statusHost) Report(e *componentstatus.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.events = append(h.events, e.Status())
}

func (h *statusHost) all() []componentstatus.Status {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]componentstatus.Status(nil), h.events...)
}

func (h *statusHost) last() componentstatus.Status {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.events) == 0 {
		return componentstatus.StatusNone
	}
	return h.events[len(h.events)-1]
}
