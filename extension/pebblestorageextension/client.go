// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package pebblestorageextension // import "github.com/otelcol-falco/otelcol-falco/extension/pebblestorageextension"

import (
	"context"
	"errors"
	"fmt"
	"sync"

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
	onClose func(*client)

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
	if wrote {
		if err := c.admit(ops, keys); err != nil {
			return err
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
	if err := batch.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("pebble_storage: %s: %w", c.dir, err)
	}
	c.guard.wrote(batch.Len())
	return nil
}

// admit refuses a batch that would add a new key while the guard refuses new keys. Deletes and
// overwrites pass: they are how a full queue drains.
func (c *client) admit(ops []*storage.Operation, keys [][]byte) error {
	refuse, why := c.guard.refuseNewKeys()
	if !refuse {
		return nil
	}
	for i, op := range ops {
		if op.Type != storage.Set {
			continue
		}
		if setEarlier(ops[:i], op.Key) {
			continue
		}
		_, closer, err := c.db.Get(keys[i])
		if errors.Is(err, pebble.ErrNotFound) {
			return why
		}
		if err != nil {
			return fmt.Errorf("pebble_storage: %s: %w", c.dir, err)
		}
		_ = closer.Close()
	}
	return nil
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

// diskUsage is what the store takes on disk. It may be called from within Batch (the guard), so it
// does not wait for the lock: a store being closed counts as empty.
func (c *client) diskUsage() uint64 {
	if !c.mu.TryRLock() {
		return 0
	}
	defer c.mu.RUnlock()
	if c.closed {
		return 0
	}
	return c.db.Metrics().DiskSpaceUsage()
}

// Close closes the store; its data stays on disk for the next GetClient with the same name.
func (c *client) Close(context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	c.onClose(c)
	return c.db.Close()
}
