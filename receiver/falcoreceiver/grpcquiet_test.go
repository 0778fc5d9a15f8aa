// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package falcoreceiver

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zapgrpc"
	"go.uber.org/zap/zaptest/observer"
	"google.golang.org/grpc/grpclog"

	"github.com/otelcol-falco/otelcol-falco/internal/falcoemu"
	"github.com/otelcol-falco/otelcol-falco/receiver/falcoreceiver/internal/metadata"
)

// grpcLogs receives gRPC's own log lines, as the collector routes them through zap: warnings and
// above (the collector raises gRPC's level to WARN when its own is INFO). It is installed before
// any gRPC use, since grpclog's logger must not change while gRPC runs.
var grpcLogs = &switchCore{}

func init() {
	grpclog.SetLoggerV2(fixedVerbosity{zapgrpc.NewLogger(zap.New(grpcLogs))})
}

// fixedVerbosity keeps gRPC's verbose (V) lines off, as the collector's grpc logger does.
type fixedVerbosity struct{ grpclog.LoggerV2 }

func (fixedVerbosity) V(level int) bool { return level <= 0 }

// switchCore sends warnings and above to the core a test sets, or nowhere.
type switchCore struct{ target atomic.Pointer[zapcore.Core] }

func (s *switchCore) core() zapcore.Core {
	if c := s.target.Load(); c != nil {
		return *c
	}
	return zapcore.NewNopCore()
}
func (s *switchCore) Enabled(l zapcore.Level) bool                   { return s.core().Enabled(l) }
func (s *switchCore) With(f []zapcore.Field) zapcore.Core            { return s.core().With(f) }
func (s *switchCore) Write(e zapcore.Entry, f []zapcore.Field) error { return s.core().Write(e, f) }
func (s *switchCore) Sync() error                                    { return s.core().Sync() }
func (s *switchCore) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if !s.Enabled(e.Level) {
		return ce
	}
	return s.core().Check(e, ce)
}

// route sends gRPC's log lines to core until the test ends.
func (s *switchCore) route(t *testing.T, core zapcore.Core) {
	s.target.Store(&core)
	t.Cleanup(func() { s.target.Store(nil) })
}

// TestGRPCQuietWhileFalcoIsAway points the receiver at a unix socket nobody listens on for 5 s:
// one warning in all (the receiver's and gRPC's own lines together), then Falco appears and the
// receiver subscribes without another one.
func TestGRPCQuietWhileFalcoIsAway(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	grpcLogs.route(t, core)
	socket := filepath.Join(t.TempDir(), "falco.sock")
	cfg := createDefaultConfig().(*Config)
	g := defaultGRPCConfig()
	g.ClientConfig.Endpoint = "unix://" + socket
	cfg.GRPC = configoptional.Some(g)
	cfg.HTTP = configoptional.None[HTTPConfig]()
	set := receivertest.NewNopSettings(metadata.Type)
	set.Logger = zap.New(core)
	r, err := NewFactory().CreateLogs(context.Background(), set, cfg, consumertest.NewNop())
	require.NoError(t, err)
	require.NoError(t, r.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, r.Shutdown(context.Background())) })

	warnings := func() []observer.LoggedEntry {
		return logs.Filter(func(e observer.LoggedEntry) bool { return e.Level >= zapcore.WarnLevel }).All()
	}
	// The warning comes within the first attempt; then 5 s of retries (about 8 at the 1 s cap).
	require.Eventually(t, func() bool { return len(warnings()) > 0 }, 5*time.Second, 10*time.Millisecond)
	time.Sleep(5 * time.Second)
	require.Positive(t, logs.FilterMessageSnippet("still unreachable").Len(), "the receiver kept retrying")
	assert.Len(t, warnings(), 1, "one warning per outage: %v", warnings())

	emu, err := falcoemu.NewGRPCServer(falcoemu.GRPCServerConfig{Addr: "unix://" + socket})
	require.NoError(t, err)
	require.NoError(t, emu.Start())
	t.Cleanup(emu.Stop)
	require.Eventually(t, func() bool { return emu.Subscribers() == 1 }, 5*time.Second, 10*time.Millisecond)
	require.Eventually(t, func() bool { return logs.FilterMessageSnippet("reconnected to Falco").Len() == 1 }, 5*time.Second, 10*time.Millisecond)
	assert.Len(t, warnings(), 1, "%v", warnings())
}

// TestGRPCBadSettingsFailStart: a missing CA file is a Start error naming the file, not a
// later fatal event.
func TestGRPCBadSettingsFailStart(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	g := defaultGRPCConfig()
	g.ClientConfig.Endpoint = "unix://" + filepath.Join(t.TempDir(), "falco.sock")
	g.ClientConfig.TLS.Insecure = false
	g.ClientConfig.TLS.CAFile = filepath.Join(t.TempDir(), "missing-ca.crt")
	cfg.GRPC = configoptional.Some(g)
	cfg.HTTP = configoptional.None[HTTPConfig]()
	r, err := NewFactory().CreateLogs(context.Background(), receivertest.NewNopSettings(metadata.Type), cfg, consumertest.NewNop())
	require.NoError(t, err)
	err = r.Start(context.Background(), componenttest.NewNopHost())
	require.ErrorContains(t, err, "missing-ca.crt")
	require.NoError(t, r.Shutdown(context.Background()))
}

// blockingLogs holds every ConsumeLogs call until released, as a stuck exporter would.
type blockingLogs struct {
	consumertest.LogsSink
	entered chan struct{}
	release chan struct{}
}

func (b *blockingLogs) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	select {
	case b.entered <- struct{}{}:
	default:
	}
	<-b.release
	return b.LogsSink.ConsumeLogs(ctx, ld)
}

// TestShutdownHonoursItsContext: with the logs pipeline stuck on a batch, Shutdown returns when
// its context ends, with an error that says why.
func TestShutdownHonoursItsContext(t *testing.T) {
	stuck := &blockingLogs{entered: make(chan struct{}, 1), release: make(chan struct{})}
	f := newGRPCFixture(t, stuck)
	f.feed(t, 10, 0)
	select {
	case <-stuck.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the pipeline never got the alerts")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- f.rcv.Shutdown(ctx) }()
	select {
	case err := <-done:
		require.ErrorIs(t, err, context.DeadlineExceeded)
	case <-time.After(10 * time.Second):
		t.Fatal("Shutdown ignored its context")
	}
	close(stuck.release) // the held batch goes through and the receiver's goroutines end
	require.Eventually(t, func() bool { return stuck.LogRecordCount() > 0 }, 5*time.Second, 10*time.Millisecond)
}
