// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package falcoreceiver

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.uber.org/zap"

	"github.com/otelcol-falco/otelcol-falco/receiver/falcoreceiver/internal/metadata"
)

// memStorage is a storage.Client over a map, with failures on demand.
type memStorage struct {
	mu       sync.Mutex
	kv       map[string][]byte
	failSets bool // refuse batches that set an entry (a full disk)
}

func newMemStorage() *memStorage { return &memStorage{kv: map[string][]byte{}} }

func (m *memStorage) Get(ctx context.Context, key string) ([]byte, error) {
	op := storage.GetOperation(key)
	return op.Value, m.Batch(ctx, op)
}

func (m *memStorage) Set(ctx context.Context, key string, v []byte) error {
	return m.Batch(ctx, storage.SetOperation(key, v))
}

func (m *memStorage) Delete(ctx context.Context, key string) error {
	return m.Batch(ctx, storage.DeleteOperation(key))
}

func (m *memStorage) Batch(_ context.Context, ops ...*storage.Operation) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, op := range ops {
		if op.Type == storage.Set && m.failSets && op.Key != spoolHeadKey {
			return errors.New("no space left on device")
		}
	}
	for _, op := range ops {
		switch op.Type {
		case storage.Get:
			op.Value = m.kv[op.Key]
		case storage.Set:
			m.kv[op.Key] = append([]byte(nil), op.Value...)
		case storage.Delete:
			delete(m.kv, op.Key)
		}
	}
	return nil
}

func (m *memStorage) Close(context.Context) error { return nil }

func (m *memStorage) keys() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.kv)
}

func (m *memStorage) setFailing(fail bool) {
	m.mu.Lock()
	m.failSets = fail
	m.mu.Unlock()
}

// gatedLogs refuses (retryably) while closed, and records what it took.
type gatedLogs struct {
	consumertest.LogsSink
	mu     sync.Mutex
	closed bool
	offers int
}

func (g *gatedLogs) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	g.mu.Lock()
	g.offers++
	closed := g.closed
	g.mu.Unlock()
	// Like a processor that changed the data before the exporter refused it.
	ld.ResourceLogs().At(0).Resource().Attributes().PutStr("touched", "yes")
	if closed {
		return errors.New("gateway down")
	}
	return g.LogsSink.ConsumeLogs(ctx, ld)
}

func (g *gatedLogs) setClosed(closed bool) {
	g.mu.Lock()
	g.closed = closed
	g.mu.Unlock()
}

func (g *gatedLogs) bodies() []string {
	var out []string
	for _, ld := range g.AllLogs() {
		for i := 0; i < ld.ResourceLogs().Len(); i++ {
			sl := ld.ResourceLogs().At(i).ScopeLogs()
			for j := 0; j < sl.Len(); j++ {
				lrs := sl.At(j).LogRecords()
				for k := 0; k < lrs.Len(); k++ {
					out = append(out, lrs.At(k).Body().Str())
				}
			}
		}
	}
	return out
}

func numberedLogs(from, n int) plog.Logs {
	ld := plog.NewLogs()
	lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	for i := from; i < from+n; i++ {
		lrs.AppendEmpty().Body().SetStr(strconv.Itoa(i))
	}
	return ld
}

func numbers(from, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = strconv.Itoa(from + i)
	}
	return out
}

type runningSpool struct {
	*spool
	cancel context.CancelFunc
	done   chan struct{}
}

func startSpool(t *testing.T, st storage.Client, next consumer.Logs, cfg SpoolConfig) *runningSpool {
	t.Helper()
	sp := newSpool(st, next, zap.NewNop(), cfg)
	require.NoError(t, sp.open(context.Background()))
	ctx, cancel := context.WithCancel(context.Background())
	rs := &runningSpool{spool: sp, cancel: cancel, done: make(chan struct{})}
	go func() { sp.run(ctx); close(rs.done) }()
	t.Cleanup(rs.stop)
	return rs
}

func (rs *runningSpool) stop() {
	rs.cancel()
	<-rs.done
}

func spoolConfig(maxBytes int64, batch int) SpoolConfig {
	return SpoolConfig{MaxBytes: maxBytes, BatchSize: batch}
}

func TestSpoolDeliversEachAlertOnceInBatches(t *testing.T) {
	st, sink := newMemStorage(), &gatedLogs{}
	sp := startSpool(t, st, sink, spoolConfig(1<<20, 10))
	for i := range 100 {
		require.NoError(t, sp.ConsumeLogs(context.Background(), numberedLogs(i*3, 3)))
	}
	require.Eventually(t, func() bool { return sink.LogRecordCount() == 300 }, 5*time.Second, 5*time.Millisecond)
	assert.ElementsMatch(t, numbers(0, 300), sink.bodies())
	for _, ld := range sink.AllLogs() {
		assert.LessOrEqual(t, ld.LogRecordCount(), 10, "a hand-off holds at most batch_size records")
	}
	require.Eventually(t, func() bool { return sp.usage() == 0 && st.keys() == 1 }, 5*time.Second, 5*time.Millisecond,
		"delivered entries are deleted; only the head is left")
}

func TestSpoolKeepsAlertsAcrossRestartWhilePipelineRefuses(t *testing.T) {
	st, sink := newMemStorage(), &gatedLogs{}
	sink.setClosed(true)
	first := startSpool(t, st, sink, spoolConfig(1<<20, 7))
	for i := range 50 {
		require.NoError(t, first.ConsumeLogs(context.Background(), numberedLogs(i, 1)))
	}
	require.Eventually(t, func() bool { sink.mu.Lock(); defer sink.mu.Unlock(); return sink.offers > 0 }, 5*time.Second, time.Millisecond)
	first.stop() // a restart (or a crash: nothing was acknowledged by the pipeline)

	assert.Equal(t, 51, st.keys(), "50 entries and the head are stored")
	sink.setClosed(false)
	second := startSpool(t, st, sink, spoolConfig(1<<20, 7))
	require.NoError(t, second.ConsumeLogs(context.Background(), numberedLogs(50, 1)))
	require.Eventually(t, func() bool { return sink.LogRecordCount() == 51 }, 5*time.Second, 5*time.Millisecond)
	assert.ElementsMatch(t, numbers(0, 51), sink.bodies(), "every alert once")
}

func TestSpoolRetriesFromTheStoredCopy(t *testing.T) {
	st, sink := newMemStorage(), &gatedLogs{}
	sink.setClosed(true)
	sp := startSpool(t, st, sink, spoolConfig(1<<20, 100))
	require.NoError(t, sp.ConsumeLogs(context.Background(), numberedLogs(0, 5)))
	require.Eventually(t, func() bool { sink.mu.Lock(); defer sink.mu.Unlock(); return sink.offers > 0 }, 5*time.Second, time.Millisecond)
	sink.setClosed(false)
	require.Eventually(t, func() bool { return sink.LogRecordCount() == 5 }, 5*time.Second, 5*time.Millisecond)
	got := sink.AllLogs()[0].ResourceLogs()
	assert.Equal(t, 1, got.Len(), "the refused offer's changes are not offered again")
	assert.ElementsMatch(t, numbers(0, 5), sink.bodies())
}

func TestSpoolRefusesWhenFullAndAcceptsAfterDraining(t *testing.T) {
	st, sink := newMemStorage(), &gatedLogs{}
	sink.setClosed(true)
	entry := numberedLogs(0, 10)
	size, err := (&plog.ProtoMarshaler{}).MarshalLogs(entry)
	require.NoError(t, err)
	sp := startSpool(t, st, sink, spoolConfig(int64(3*len(size)), 100))
	for range 3 {
		require.NoError(t, sp.ConsumeLogs(context.Background(), numberedLogs(0, 10)))
	}
	err = sp.ConsumeLogs(context.Background(), numberedLogs(0, 10))
	require.ErrorIs(t, err, errSpoolFull)
	assert.False(t, consumererror.IsPermanent(err), "a full spool is a retryable refusal (503)")

	sink.setClosed(false)
	require.Eventually(t, func() bool { return sp.usage() == 0 }, 10*time.Second, 5*time.Millisecond)
	require.NoError(t, sp.ConsumeLogs(context.Background(), numberedLogs(0, 10)))
}

func TestSpoolStorageFailureRefusesWithoutLosingOrder(t *testing.T) {
	st, sink := newMemStorage(), &gatedLogs{}
	sp := startSpool(t, st, sink, spoolConfig(1<<20, 100))
	require.NoError(t, sp.ConsumeLogs(context.Background(), numberedLogs(0, 1)))
	st.setFailing(true)
	require.Error(t, sp.ConsumeLogs(context.Background(), numberedLogs(99, 1)), "a full disk refuses")
	st.setFailing(false)
	require.NoError(t, sp.ConsumeLogs(context.Background(), numberedLogs(1, 1)))
	require.Eventually(t, func() bool { return sink.LogRecordCount() == 2 }, 5*time.Second, 5*time.Millisecond)
	assert.ElementsMatch(t, numbers(0, 2), sink.bodies(), "the refused alert left no gap and no trace")
}

func TestSpoolReadsBackWhatMemoryCouldNotHold(t *testing.T) {
	st, sink := newMemStorage(), &gatedLogs{}
	sink.setClosed(true)
	one, err := (&plog.ProtoMarshaler{}).MarshalLogs(numberedLogs(10, 1))
	require.NoError(t, err)
	sp := startSpool(t, st, sink, spoolConfig(1<<20, 4))
	sp.mu.Lock()
	sp.memLimit = 8 * len(one) // 8 entries kept decoded at most
	sp.mu.Unlock()
	for i := range 40 {
		require.NoError(t, sp.ConsumeLogs(context.Background(), numberedLogs(i, 1)))
	}
	sp.mu.Lock()
	held := len(sp.mem)
	sp.mu.Unlock()
	assert.LessOrEqual(t, held, 8)
	sink.setClosed(false)
	require.Eventually(t, func() bool { return sink.LogRecordCount() == 40 }, 10*time.Second, 5*time.Millisecond)
	assert.ElementsMatch(t, numbers(0, 40), sink.bodies())
}

func TestSpoolSkipsADamagedEntry(t *testing.T) {
	st, sink := newMemStorage(), &gatedLogs{}
	sink.setClosed(true)
	first := startSpool(t, st, sink, spoolConfig(1<<20, 100))
	for i := range 3 {
		require.NoError(t, first.ConsumeLogs(context.Background(), numberedLogs(i, 1)))
	}
	first.stop()
	require.NoError(t, st.Set(context.Background(), spoolKey(1), []byte{0xff, 0xff, 0xff}))
	sink.setClosed(false)
	startSpool(t, st, sink, spoolConfig(1<<20, 100))
	require.Eventually(t, func() bool { return sink.LogRecordCount() == 2 }, 5*time.Second, 5*time.Millisecond)
	assert.ElementsMatch(t, []string{"0", "2"}, sink.bodies())
}

// memStorageExtension hands out one memStorage, as pebble_storage or file_storage would.
type memStorageExtension struct {
	component.StartFunc
	component.ShutdownFunc
	st *memStorage
}

func (e memStorageExtension) GetClient(context.Context, component.Kind, component.ID, string) (storage.Client, error) {
	return e.st, nil
}

func startSpooledHTTPReceiver(t *testing.T, next consumer.Logs, host component.Host, maxBytes int64) (*httpFixture, error) {
	t.Helper()
	cfg := createDefaultConfig().(*Config)
	httpCfg := defaultHTTPConfig()
	httpCfg.ServerConfig.NetAddr.Endpoint = "127.0.0.1:0"
	cfg.HTTP, cfg.GRPC = configoptional.Some(httpCfg), configoptional.None[GRPCConfig]()
	id := component.MustNewID("pebble_storage")
	cfg.Spool.Storage, cfg.Spool.MaxBytes = &id, maxBytes
	rcv, err := NewFactory().CreateLogs(context.Background(), receivertest.NewNopSettings(metadata.Type), cfg, next)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, rcv.Shutdown(context.Background())) })
	if err := rcv.Start(context.Background(), host); err != nil {
		return nil, err
	}
	r := rcv.(*falcoReceiver)
	return &httpFixture{r: r, url: "http://" + r.http.addr.String(), client: &http.Client{Timeout: 10 * time.Second}}, nil
}

func TestReceiverAcknowledgesOnceSpooled(t *testing.T) {
	st, sink := newMemStorage(), &gatedLogs{}
	sink.setClosed(true) // the next hop is down: 200 all the same, the spool holds the alert
	f, err := startSpooledHTTPReceiver(t, sink, hostWithExtensions{component.MustNewID("pebble_storage"): memStorageExtension{st: st}}, 1<<20)
	require.NoError(t, err)
	resp, err := f.client.Post(f.url+"/", "application/json", strings.NewReader(minimalAlert))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, 2, st.keys(), "the alert and the head are stored")

	st.setFailing(true) // a full disk
	resp, err = f.client.Post(f.url+"/", "application/json", strings.NewReader(minimalAlert))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	assert.NotEmpty(t, resp.Header.Get("Retry-After"))

	sink.setClosed(false)
	require.Eventually(t, func() bool { return sink.LogRecordCount() == 1 }, 5*time.Second, 5*time.Millisecond)
}

func TestReceiverSpoolNeedsAStorageExtension(t *testing.T) {
	_, err := startSpooledHTTPReceiver(t, consumertest.NewNop(), componenttest.NewNopHost(), 1<<20)
	require.ErrorContains(t, err, `spool.storage: no extension "pebble_storage"`)
	_, err = startSpooledHTTPReceiver(t, consumertest.NewNop(), hostWithExtensions{component.MustNewID("pebble_storage"): tokenAuth{}}, 1<<20)
	require.ErrorContains(t, err, "is not a storage extension")
}

// holdFirst blocks the hand-off holding record "0" until ctx ends, and takes every other one.
type holdFirst struct{ consumertest.LogsSink }

func (h *holdFirst) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	if ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Body().Str() == "0" {
		<-ctx.Done()
		return ctx.Err()
	}
	return h.LogsSink.ConsumeLogs(ctx, ld)
}

func TestSpoolDeletesOnlyBehindTheOldestExport(t *testing.T) {
	st := newMemStorage()
	held := &holdFirst{}
	first := startSpool(t, st, held, spoolConfig(1<<20, 1)) // one record per hand-off
	for i := range 4 {
		require.NoError(t, first.ConsumeLogs(context.Background(), numberedLogs(i, 1)))
	}
	require.Eventually(t, func() bool { return held.LogRecordCount() == 3 }, 5*time.Second, time.Millisecond)
	assert.Equal(t, 5, st.keys(), "the later entries stay stored while the first is being exported")
	first.stop() // a crash in the middle of the first export

	sink := &gatedLogs{}
	startSpool(t, st, sink, spoolConfig(1<<20, 1))
	require.Eventually(t, func() bool { return sink.LogRecordCount() == 4 }, 5*time.Second, time.Millisecond)
	assert.ElementsMatch(t, numbers(0, 4), sink.bodies(), "nothing lost; those exported before the crash go again")
	require.Eventually(t, func() bool { return st.keys() == 1 }, 5*time.Second, time.Millisecond)
}

func TestSpoolHoldsGRPCOnlyWhileTheDrainMoves(t *testing.T) {
	st, sink := newMemStorage(), &gatedLogs{}
	sink.setClosed(true) // the next hop is down: every export hangs in retries
	sp := startSpool(t, st, sink, spoolConfig(1<<20, 1))
	sp.mu.Lock()
	sp.memLimit = 1 // nothing is kept decoded: the drain is always behind
	sp.mu.Unlock()
	for i := range 10 {
		require.NoError(t, sp.ConsumeLogs(context.Background(), numberedLogs(i, 1)))
	}
	time.Sleep(1100 * time.Millisecond) // the drain took nothing for a second
	started := time.Now()
	sp.awaitRoom(context.Background(), 5*time.Second)
	assert.Less(t, time.Since(started), time.Second, "a stuck drain holds nobody: the spool takes the alerts")
}

func TestSpoolHoldsHTTPBatchesButNeverSingleAlerts(t *testing.T) {
	st, sink := newMemStorage(), &gatedLogs{}
	f, err := startSpooledHTTPReceiver(t, sink, hostWithExtensions{component.MustNewID("pebble_storage"): memStorageExtension{st: st}}, 1<<20)
	require.NoError(t, err)
	behindButMoving := func() {
		f.r.spool.mu.Lock()
		f.r.spool.memLimit = 1 // nothing is kept decoded: the drain is always behind
		f.r.spool.lastTake = time.Now()
		f.r.spool.mu.Unlock()
	}
	post := func(body string) time.Duration {
		behindButMoving()
		started := time.Now()
		resp, err := f.client.Post(f.url+"/", "application/json", strings.NewReader(body))
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		return time.Since(started)
	}
	post(minimalAlert) // the spool's first entry: from here on the drain is behind
	assert.Less(t, post(minimalAlert), 500*time.Millisecond, "Falco's single-alert POSTs are never held")
	assert.GreaterOrEqual(t, post(minimalAlert+"\n"+minimalAlert), 900*time.Millisecond, "a batch waits for the drain")
	require.Eventually(t, func() bool { return sink.LogRecordCount() == 4 }, 5*time.Second, 5*time.Millisecond)
}

func TestSpoolReadsEntriesAnEarlierVersionStoredUncompressed(t *testing.T) {
	st, sink := newMemStorage(), &gatedLogs{}
	for i := range 2 { // as a spool without compression left them
		otlp, err := (&plog.ProtoMarshaler{}).MarshalLogs(numberedLogs(i, 1))
		require.NoError(t, err)
		require.NoError(t, st.Set(context.Background(), spoolKey(uint64(i)), otlp))
	}
	require.NoError(t, st.Set(context.Background(), spoolHeadKey, binary.BigEndian.AppendUint64(nil, 0)))
	sp := startSpool(t, st, sink, spoolConfig(1<<20, 100))
	require.NoError(t, sp.ConsumeLogs(context.Background(), numberedLogs(2, 1)))
	require.Eventually(t, func() bool { return sink.LogRecordCount() == 3 }, 5*time.Second, 5*time.Millisecond)
	assert.Equal(t, numbers(0, 3), sink.bodies(), "old entries first, in order, then the new one")
}

func TestSpoolEntryCodec(t *testing.T) {
	otlp, err := (&plog.ProtoMarshaler{}).MarshalLogs(numberedLogs(0, 1000))
	require.NoError(t, err)
	tests := []struct {
		name    string
		stored  []byte
		want    []byte
		wantErr string
	}{
		{name: "compressed", stored: encodeSpoolEntry(otlp), want: otlp},
		{name: "uncompressed (large, from an earlier version)", stored: otlp, want: otlp},
		{name: "one alert, kept uncompressed", stored: encodeSpoolEntry(otlp[:300]), want: otlp[:300]},
		{name: "empty OTLP message", stored: encodeSpoolEntry(nil), want: nil},
		{name: "damaged compressed entry", stored: []byte{spoolEntryS2, 0xff, 0xff}, wantErr: "decompressing a stored entry"},
	}
	require.Greater(t, len(otlp), spoolCompressFromSize)
	require.Equal(t, byte(spoolEntryS2), encodeSpoolEntry(otlp)[0], "a batch is compressed")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeSpoolEntry(tt.stored)
			if tt.wantErr == "" {
				assert.Equal(t, len(tt.want), spoolEntrySize(tt.stored), "max_bytes counts the OTLP size")
			}
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, len(tt.want), len(got))
			assert.Equal(t, string(tt.want), string(got))
		})
	}
}

// BenchmarkSpoolEntryEncode reports what compressing a stored entry costs and saves, for one
// alert (a Falco >= 0.44 POST) and for a batch (gRPC, NDJSON).
func BenchmarkSpoolEntryEncode(b *testing.B) {
	for _, n := range []int{1, 100} {
		b.Run(fmt.Sprintf("alerts=%d", n), func(b *testing.B) {
			alerts := make([]*alert, n)
			for i := range alerts {
				alerts[i] = terminalShellAlert()
				alerts[i].Fields = append(alerts[i].Fields, field{"proc.pid", fieldValue{Kind: kindInt, Int: int64(1000 + i)}})
			}
			otlp, err := (&plog.ProtoMarshaler{}).MarshalLogs(alertsToLogs(alerts, observedTime))
			require.NoError(b, err)
			b.SetBytes(int64(len(otlp)))
			var stored []byte
			for b.Loop() {
				stored = encodeSpoolEntry(otlp)
			}
			b.ReportMetric(float64(len(otlp))/float64(n), "otlp-B/alert")
			b.ReportMetric(float64(len(stored))/float64(n), "stored-B/alert")
		})
	}
}

func TestSpoolStoresBatchesCompressedAcrossRestart(t *testing.T) {
	st, sink := newMemStorage(), &gatedLogs{}
	sink.setClosed(true)
	first := startSpool(t, st, sink, spoolConfig(1<<20, 5000))
	for i := range 3 {
		require.NoError(t, first.ConsumeLogs(context.Background(), numberedLogs(i*1000, 1000)))
	}
	first.stop()
	stored, err := st.Get(context.Background(), spoolKey(0))
	require.NoError(t, err)
	require.Equal(t, byte(spoolEntryS2), stored[0], "a batch is stored compressed")
	otlp, err := (&plog.ProtoMarshaler{}).MarshalLogs(numberedLogs(0, 1000))
	require.NoError(t, err)
	require.Less(t, len(stored), len(otlp))

	second := startSpool(t, st, sink, spoolConfig(1<<20, 5000))
	usage := second.usage()
	var otlpBytes int64
	for i := range 3 {
		buf, err := (&plog.ProtoMarshaler{}).MarshalLogs(numberedLogs(i*1000, 1000))
		require.NoError(t, err)
		otlpBytes += int64(len(buf))
	}
	assert.Equal(t, otlpBytes, usage, "after a restart, max_bytes still counts OTLP bytes")
	sink.setClosed(false)
	require.Eventually(t, func() bool { return sink.LogRecordCount() == 3000 }, 5*time.Second, 5*time.Millisecond)
	assert.Equal(t, numbers(0, 3000), sink.bodies())
	require.Eventually(t, func() bool { return second.usage() == 0 }, 5*time.Second, 5*time.Millisecond)
}
