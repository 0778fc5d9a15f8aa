// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package pebblestorageextension // import "github.com/otelcol-falco/otelcol-falco/extension/pebblestorageextension"

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"go.opentelemetry.io/collector/extension/xextension/storage"
)

var errClientClosed = errors.New("pebble_storage: client is closed")

// client is one component's store. Every Batch is one atomic Pebble batch: its writes commit
// together or not at all, and its reads see the batch's earlier writes.
type client struct {
	db      *pebble.DB
	guard   *spaceGuard
	dir     string
	fsync   bool
	onClose func(*client)

	unflushed atomic.Bool // a NoSync batch may still be in Pebble's buffer
	// newDecimalsFrom: no decimal key from this number on is stored. The persistent queue and
	// the falco spool write ever larger decimal keys, so telling a new item from an overwrite
	// needs no lookup (a Get of a missing key searches every level).
	newDecimalsFrom atomic.Uint64
	stop            chan struct{}
	flusherWG       sync.WaitGroup

	mu     sync.RWMutex // Close waits for operations in flight
	closed bool
}

var _ storage.Client = (*client)(nil)

func (c *client) Get(ctx context.Context, key string) ([]byte, error) {
	op := storage.GetOperation(key)
	if err := c.Batch(ctx, op); err != nil {
		return nil, err
	}
	return op.Value, nil
}

func (c *client) Set(ctx context.Context, key string, value []byte) error {
	return c.Batch(ctx, storage.SetOperation(key, value))
}

func (c *client) Delete(ctx context.Context, key string) error {
	return c.Batch(ctx, storage.DeleteOperation(key))
}

func (c *client) Batch(ctx context.Context, ops ...*storage.Operation) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.closed {
		return errClientClosed
	}

	keys := make([][]byte, len(ops))
	readsOwnWrites, wrote := false, false
	for i, op := range ops {
		keys[i] = encodeKey(op.Key)
		switch op.Type {
		case storage.Get:
			readsOwnWrites = readsOwnWrites || wrote
		case storage.Set, storage.Delete:
			wrote = true
		default:
			return fmt.Errorf("pebble_storage: unknown operation type %d", op.Type)
		}
	}
	// A batch that adds a key (the queue's enqueue) is written to the log file before Batch
	// returns. One that only overwrites or deletes (the queue's dispatch and done) may stay in
	// Pebble's buffer until the next such write or the flusher's tick: lost in a crash, it only
	// makes the queue send an item again, and the log keeps the order, so nothing written after
	// it can survive without it.
	durable := c.fsync
	if wrote {
		adds, err := c.addsKey(ops, keys)
		if err != nil {
			return err
		}
		if adds {
			if refuse, why := c.guard.refuseNewKeys(); refuse {
				return why
			}
			durable = true
		}
	}

	var batch *pebble.Batch
	var reader pebble.Reader = c.db
	if readsOwnWrites {
		batch = c.db.NewIndexedBatch()
		reader = batch
	} else if wrote {
		batch = c.db.NewBatch()
	}
	if batch != nil {
		defer batch.Close()
	}
	for i, op := range ops {
		var err error
		switch op.Type {
		case storage.Get:
			op.Value, err = get(reader, keys[i])
		case storage.Set:
			err = batch.Set(keys[i], op.Value, nil)
		case storage.Delete:
			err = batch.Delete(keys[i], nil)
		}
		if err != nil {
			return fmt.Errorf("pebble_storage: %s: %w", c.dir, err)
		}
	}
	if !wrote {
		return nil
	}
	opts := pebble.Sync
	if !durable {
		opts = pebble.NoSync
		c.unflushed.Store(true)
	}
	if err := batch.Commit(opts); err != nil {
		return fmt.Errorf("pebble_storage: %s: %w", c.dir, err)
	}
	c.guard.wrote(batch.Len())
	c.wroteDecimals(ops, keys)
	return nil
}

// addsKey reports whether the batch creates a key that is not stored yet: such a batch must be
// durable when Batch returns, and is refused while the guard refuses new keys.
func (c *client) addsKey(ops []*storage.Operation, keys [][]byte) (bool, error) {
	newFrom := c.newDecimalsFrom.Load()
	for i, op := range ops {
		if op.Type != storage.Set || setEarlier(ops[:i], op.Key) {
			continue
		}
		if n, ok := decimalOf(keys[i]); ok && n >= newFrom && n != math.MaxUint64 {
			return true, nil
		}
		_, closer, err := c.db.Get(keys[i])
		if errors.Is(err, pebble.ErrNotFound) {
			return true, nil
		}
		if err != nil {
			return false, fmt.Errorf("pebble_storage: %s: %w", c.dir, err)
		}
		_ = closer.Close()
	}
	return false, nil
}

// wroteDecimals moves newDecimalsFrom past the decimal keys a committed batch set. Only ever
// raised: a number below it is looked up, which is always right.
func (c *client) wroteDecimals(ops []*storage.Operation, keys [][]byte) {
	for i, op := range ops {
		if op.Type != storage.Set {
			continue
		}
		n, ok := decimalOf(keys[i])
		if !ok {
			continue
		}
		for cur := c.newDecimalsFrom.Load(); n >= cur && !c.newDecimalsFrom.CompareAndSwap(cur, past(n)); cur = c.newDecimalsFrom.Load() {
		}
	}
}

// findNewDecimals sets newDecimalsFrom past the largest decimal key stored.
func (c *client) findNewDecimals() error {
	it, err := c.db.NewIter(&pebble.IterOptions{LowerBound: []byte{tagDecimal}, UpperBound: []byte{tagDecimal + 1}})
	if err != nil {
		return err
	}
	if it.Last() {
		if n, ok := decimalOf(it.Key()); ok {
			c.newDecimalsFrom.Store(past(n))
		}
	}
	return errors.Join(it.Error(), it.Close())
}

// past is the number after n; the largest number has none, so it is always looked up.
func past(n uint64) uint64 {
	if n == math.MaxUint64 {
		return n
	}
	return n + 1
}

func setEarlier(ops []*storage.Operation, key string) bool {
	for i := len(ops) - 1; i >= 0; i-- {
		if ops[i].Key == key {
			return ops[i].Type == storage.Set
		}
	}
	return false
}

// get returns a copy of the value (Pebble's buffer is only valid until closer.Close), or nil
// for a missing key, as storage.Client wants.
func get(r pebble.Reader, key []byte) ([]byte, error) {
	value, closer, err := r.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer closer.Close()
	return append([]byte(nil), value...), nil
}

// metrics are the store's Pebble metrics. It may be called from within Batch (the guard), so it
// does not wait for the lock: a store being closed has none.
func (c *client) metrics() *pebble.Metrics {
	if !c.mu.TryRLock() {
		return nil
	}
	defer c.mu.RUnlock()
	if c.closed {
		return nil
	}
	return c.db.Metrics()
}

// Close closes the store; its data stays on disk for the next GetClient with the same name.
func (c *client) Close(context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	close(c.stop)
	c.flusherWG.Wait()
	c.onClose(c)
	return c.db.Close()
}

// lazyFlushInterval bounds how long an overwrite or delete may wait in Pebble's buffer.
const lazyFlushInterval = 100 * time.Millisecond

// startFlusher writes buffered overwrites and deletes to the log file every lazyFlushInterval.
func (c *client) startFlusher() {
	c.stop = make(chan struct{})
	c.flusherWG.Go(func() {
		tick := time.NewTicker(lazyFlushInterval)
		defer tick.Stop()
		for {
			select {
			case <-c.stop:
				return
			case <-tick.C:
				if c.unflushed.Swap(false) {
					_ = c.db.LogData(nil, pebble.Sync)
				}
			}
		}
	})
}
