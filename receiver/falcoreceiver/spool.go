// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package falcoreceiver // import "github.com/otelcol-falco/otelcol-falco/receiver/falcoreceiver"

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"sync"
	"time"

	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.uber.org/zap"
)

// The spool keeps every alert the receiver acknowledged in a storage extension until the logs
// pipeline took it. Falco >= 0.44 sends one alert per POST, one POST at a time, and a 200 must
// mean the alert is safe: one storage write per request is that promise's whole price. The
// exporter's persistent queue would pay it three times per alert (enqueue, dispatch, done), plus
// a pipeline pass and an encode/decode per alert; the spool hands the pipeline batches instead.
//
// Entries are OTLP-encoded logs (batches compressed: spoolcodec.go) under consecutive sequence
// numbers; "head" is the first one not yet delivered. An entry is deleted once the pipeline
// accepted it, so a crash in between sends it again (at least once, never lost).
const (
	spoolHeadKey   = "head"
	spoolReadAhead = 64 // entries read from storage per Batch call
	// spoolMemBytes bounds the entries also kept decoded, by their encoded size (~3,000 alerts):
	// the drain takes them without reading storage, which is several times dearer once Pebble
	// has moved them from its memtable to tables. Bursts of a sender that can wait (gRPC) are
	// held back instead (awaitRoom); beyond, the drain reads back what it fell behind on.
	spoolMemBytes = 4 << 20
	spoolMaxWait  = 5 * time.Second
)

// errSpoolFull is a refusal: HTTP answers 503 with Retry-After, gRPC holds the alerts.
var errSpoolFull = errors.New("the falco receiver's spool is full (spool.max_bytes): the logs pipeline is not keeping up or its next hop is down")

// spoolKey is the entry's number in decimal, as the exporters' persistent queue names items:
// pebble_storage stores such keys in numeric order after every other key, so a new entry is
// past the end of every table and checking that it is new costs no table read.
func spoolKey(seq uint64) string { return strconv.FormatUint(seq, 10) }

// spoolEntry is one stored append, also kept decoded in memory while the drain is close behind.
type spoolEntry struct {
	seq     uint64
	logs    plog.Logs
	records int
	size    int
}

type spool struct {
	client       storage.Client
	next         consumer.Logs
	logger       *zap.Logger
	maxBytes     int64
	batchSize    int // log records per hand-off to the pipeline
	flushTimeout time.Duration

	marshaler   plog.ProtoMarshaler
	unmarshaler plog.ProtoUnmarshaler
	wake        chan struct{}

	relMu     sync.Mutex
	head      uint64            // first entry not deleted yet
	delivered uint64            // first entry not known delivered, with all before it
	finished  map[uint64]uint64 // delivered batches beyond delivered: first -> end

	mu       sync.Mutex
	claimed  uint64        // first entry the drain has not taken yet
	tail     uint64        // next sequence number
	bytes    int64         // stored bytes of the entries not delivered yet
	lastTake time.Time     // when the drain last took entries: it is keeping up, or not
	lastSize int           // the last entry's encoded size
	room     chan struct{} // signalled when the drain takes entries
	mem      []spoolEntry  // kept decoded beside their stored copy
	memBytes int           // their encoded size
	memRecs  int           // their log records
	memLimit int           // spoolMemBytes; smaller in tests
}

func newSpool(client storage.Client, next consumer.Logs, logger *zap.Logger, cfg SpoolConfig) *spool {
	return &spool{
		client: client, next: next, logger: logger,
		maxBytes: cfg.MaxBytes, batchSize: cfg.BatchSize, flushTimeout: cfg.FlushTimeout,
		wake: make(chan struct{}, 1), room: make(chan struct{}, 1), finished: map[uint64]uint64{}, memLimit: spoolMemBytes,
	}
}

// open finds what an earlier run left: the entries from head on, until the first missing one.
func (s *spool) open(ctx context.Context) error {
	v, err := s.client.Get(ctx, spoolHeadKey)
	if err != nil {
		return fmt.Errorf("spool: reading its head: %w", err)
	}
	if len(v) == 8 {
		s.head = binary.BigEndian.Uint64(v)
	} else if err := s.client.Set(ctx, spoolHeadKey, binary.BigEndian.AppendUint64(nil, 0)); err != nil {
		// Written now, so that delivering never adds a key: a storage that refuses new keys
		// on a full disk still lets the spool delete what it delivered.
		return fmt.Errorf("spool: initializing: %w", err)
	}
	s.tail = s.head
	for {
		ops := make([]*storage.Operation, spoolReadAhead)
		for i := range ops {
			ops[i] = storage.GetOperation(spoolKey(s.tail + uint64(i)))
		}
		if err := s.client.Batch(ctx, ops...); err != nil {
			return fmt.Errorf("spool: reading stored alerts: %w", err)
		}
		for _, op := range ops {
			if op.Value == nil {
				s.claimed, s.delivered = s.head, s.head
				if s.tail > s.head {
					s.logger.Info("delivering alerts stored by an earlier run first",
						zap.Uint64("entries", s.tail-s.head), zap.Int64("bytes", s.bytes))
				}
				return nil
			}
			s.tail++
			s.bytes += int64(spoolEntrySize(op.Value))
		}
	}
}

var _ consumer.Logs = (*spool)(nil)

// Capabilities: the spool keeps the logs it is given (decoded, for the drain).
func (*spool) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }

// ConsumeLogs stores logs and returns once they are in storage: the receiver hands its alerts
// to the spool as it would to the pipeline.
func (s *spool) ConsumeLogs(ctx context.Context, logs plog.Logs) error {
	records := logs.LogRecordCount()
	buf, err := s.marshaler.MarshalLogs(logs)
	if err != nil {
		return consumererror.NewPermanent(fmt.Errorf("spool: encoding alerts: %w", err))
	}
	stored := encodeSpoolEntry(buf)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.bytes+int64(len(buf)) > s.maxBytes {
		return errSpoolFull
	}
	seq := s.tail
	// Not cancelled with the request: an entry half-written is one the next append overwrites.
	if err := s.client.Set(context.WithoutCancel(ctx), spoolKey(seq), stored); err != nil {
		return fmt.Errorf("spool: storing alerts: %w", err)
	}
	s.tail++
	s.bytes += int64(len(buf))
	s.lastSize = len(buf)
	// Kept decoded only where the drain will look next: right after the last kept entry, or
	// as the first entry it has not taken. Otherwise the drain reads it back from storage.
	contiguous := (len(s.mem) == 0 && seq == s.claimed) || (len(s.mem) > 0 && s.mem[len(s.mem)-1].seq+1 == seq)
	if contiguous && s.memBytes+len(buf) <= s.memLimit {
		s.mem = append(s.mem, spoolEntry{seq: seq, logs: logs, records: records, size: len(buf)})
		s.memBytes += len(buf)
		s.memRecs += records
	}
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return nil
}

func (s *spool) tookLocked() {
	s.lastTake = time.Now()
	select {
	case s.room <- struct{}{}:
	default:
	}
}

// awaitRoom holds a sender that can wait (gRPC: Falco keeps the alerts meanwhile) while the
// drain is behind but moving, at most maxWait: what it appends then stays in memory instead of
// being read back from storage. A drain that took nothing for a second (the next hop is down)
// holds nobody: the spool is there to take the alerts then.
func (s *spool) awaitRoom(ctx context.Context, maxWait time.Duration) {
	deadline := time.After(maxWait)
	for {
		s.mu.Lock()
		// Behind: the next append would not be kept decoded (entries wait on disk only, or
		// one more entry of the last one's size would not fit).
		behind := len(s.mem) == 0 && s.claimed < s.tail || s.memBytes+s.lastSize > s.memLimit
		moving := time.Since(s.lastTake) < time.Second
		s.mu.Unlock()
		if !behind || !moving {
			return
		}
		select {
		case <-s.room:
		case <-deadline:
			return
		case <-ctx.Done():
			return
		}
	}
}

// pending reports whether entries wait that the drain has not taken.
func (s *spool) pending() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.claimed < s.tail
}

// usage is the stored bytes, for the receiver's telemetry.
func (s *spool) usage() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bytes
}

// spoolExports is how many hand-offs to the pipeline run at once (an exporter's num_consumers):
// with a synchronous exporter, one export waiting for the next hop would otherwise hold up the
// rest, and a drain slower than the alerts arrive reads them back from disk.
const spoolExports = 4

// run hands stored alerts to the pipeline, oldest first, until ctx ends: it takes batches and
// spoolExports workers deliver them.
func (s *spool) run(ctx context.Context) {
	batches := make(chan spoolBatch)
	var workers sync.WaitGroup
	for range spoolExports {
		workers.Go(func() {
			for b := range batches {
				if s.deliver(ctx, b) {
					s.release(ctx, b)
				} // else: shutting down; it stays stored and the next run delivers it
			}
		})
	}
	defer workers.Wait()
	defer close(batches)
	for {
		b, ok := s.take(ctx)
		if !ok {
			return
		}
		select {
		case batches <- b:
		case <-ctx.Done():
			return
		}
		if b.records < s.batchSize && s.flushTimeout > 0 && !s.pending() {
			// The spool ran dry before the batch filled: let the next one gather for a while,
			// so that a steady stream of single alerts costs the pipeline and the next hop a
			// request per flush_timeout, not one per alert. A lone alert after a quiet spell
			// goes out at once.
			if !s.gather(ctx) {
				return
			}
		}
	}
}

// gather waits flush_timeout for entries, or less once a full batch or the memory bound is
// reached (a sender may be waiting for room). It reports false when ctx ended.
func (s *spool) gather(ctx context.Context) bool {
	timer := time.NewTimer(s.flushTimeout)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return false
		case <-timer.C:
			return true
		case <-s.wake:
			s.mu.Lock()
			enough := s.memRecs >= s.batchSize || s.memBytes+s.lastSize > s.memLimit || len(s.mem) == 0 && s.claimed < s.tail
			s.mu.Unlock()
			if enough {
				select { // for take
				case s.wake <- struct{}{}:
				default:
				}
				return true
			}
		}
	}
}

// spoolBatch is a run of consecutive entries taken by the drain.
type spoolBatch struct {
	first, end uint64
	logs       plog.Logs
	records    int
	size       int64
}

// take waits for entries and claims up to batchSize records of them, from memory when they
// are there, else from storage.
func (s *spool) take(ctx context.Context) (spoolBatch, bool) {
	s.mu.Lock()
	for s.claimed == s.tail {
		s.mu.Unlock()
		select {
		case <-ctx.Done():
			return spoolBatch{}, false
		case <-s.wake:
		}
		s.mu.Lock()
	}
	b := spoolBatch{first: s.claimed, end: s.claimed, logs: plog.NewLogs()}
	if len(s.mem) > 0 && s.mem[0].seq == s.claimed {
		n := 0
		for n < len(s.mem) && (n == 0 || b.records+s.mem[n].records <= s.batchSize) {
			e := s.mem[n]
			e.logs.ResourceLogs().MoveAndAppendTo(b.logs.ResourceLogs())
			b.records += e.records
			b.size += int64(e.size)
			s.memBytes -= e.size
			s.memRecs -= e.records
			s.mem[n] = spoolEntry{}
			n++
		}
		s.mem = s.mem[n:]
		b.end = b.first + uint64(n)
		s.claimed = b.end
		s.tookLocked()
		s.mu.Unlock()
		return b, true
	}
	stop := s.tail
	if len(s.mem) > 0 {
		stop = s.mem[0].seq
	}
	s.mu.Unlock()

	for !s.load(ctx, &b, stop, s.batchSize) {
		select { // a storage error: try again later, the entries stay
		case <-ctx.Done():
			return spoolBatch{}, false
		case <-time.After(spoolMaxWait):
		}
	}
	s.mu.Lock()
	s.claimed = b.end
	s.tookLocked()
	s.mu.Unlock()
	return b, true
}

// load reads entries from b.end on (at most up to stop) into b until it holds limit records.
func (s *spool) load(ctx context.Context, b *spoolBatch, stop uint64, limit int) bool {
	for b.end < stop && b.records < limit {
		ops := make([]*storage.Operation, 0, spoolReadAhead)
		for seq := b.end; seq < stop && len(ops) < spoolReadAhead; seq++ {
			ops = append(ops, storage.GetOperation(spoolKey(seq)))
		}
		if err := s.client.Batch(ctx, ops...); err != nil {
			s.logger.Warn("spool: reading stored alerts failed; retrying", zap.Error(err))
			return false
		}
		for _, op := range ops {
			otlp, err := decodeSpoolEntry(op.Value)
			var logs plog.Logs
			if err == nil {
				logs, err = s.unmarshaler.UnmarshalLogs(otlp)
			}
			if op.Value == nil {
				err = errors.New("missing")
			}
			if err == nil && b.records > 0 && b.records+logs.LogRecordCount() > limit {
				return true // the next batch starts here
			}
			b.end++
			b.size += int64(spoolEntrySize(op.Value))
			if err != nil {
				// Nothing a peer sent can cause this: only a damaged store. Skip the entry.
				s.logger.Error("spool: dropping an unreadable stored entry", zap.String("key", op.Key), zap.Error(err))
				continue
			}
			b.records += logs.LogRecordCount()
			logs.ResourceLogs().MoveAndAppendTo(b.logs.ResourceLogs())
		}
	}
	return true
}

// deliver offers b to the pipeline until it is taken (or refused permanently) or ctx ends. A
// refused offer is retried from the stored copy: processors may have changed the first one.
func (s *spool) deliver(ctx context.Context, b spoolBatch) bool {
	wait := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := s.next.ConsumeLogs(ctx, b.logs)
		switch {
		case err != nil && ctx.Err() != nil:
			return false // shutting down: the entries wait for the next run
		case err == nil:
			if attempt > 1 {
				s.logger.Info("the logs pipeline takes alerts again", zap.Int("attempts", attempt))
			}
			return true
		case consumererror.IsPermanent(err):
			s.logger.Error("the logs pipeline permanently refused alerts; dropped", zap.Int("alerts", b.records), zap.Error(err))
			return true
		case attempt == 1:
			s.logger.Warn("the logs pipeline refuses alerts; they stay in the spool and are offered again", zap.Error(err))
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(wait):
		}
		wait = min(2*wait, spoolMaxWait)
		reloaded := spoolBatch{first: b.first, end: b.first, logs: plog.NewLogs()}
		if s.load(ctx, &reloaded, b.end, math.MaxInt) {
			b = reloaded
		}
	}
}

// release records b as delivered and deletes the delivered entries before the first one still
// being exported (and any an earlier release failed to delete): the stored entries stay one run
// from head, so a restart finds all that was not delivered. Until deleted, an entry is sent
// again after a restart.
func (s *spool) release(ctx context.Context, b spoolBatch) {
	s.relMu.Lock()
	defer s.relMu.Unlock()
	s.finished[b.first] = b.end
	for end, ok := s.finished[s.delivered]; ok; end, ok = s.finished[s.delivered] {
		delete(s.finished, s.delivered)
		s.delivered = end
	}
	if s.delivered > s.head {
		ops := make([]*storage.Operation, 0, s.delivered-s.head+1)
		for seq := s.head; seq < s.delivered; seq++ {
			ops = append(ops, storage.DeleteOperation(spoolKey(seq)))
		}
		ops = append(ops, storage.SetOperation(spoolHeadKey, binary.BigEndian.AppendUint64(nil, s.delivered)))
		if err := s.client.Batch(context.WithoutCancel(ctx), ops...); err != nil {
			s.logger.Warn("spool: deleting delivered alerts failed; retried with the next delivery", zap.Error(err))
		} else {
			s.head = s.delivered
		}
	}
	s.mu.Lock()
	s.bytes -= b.size
	s.mu.Unlock()
}
