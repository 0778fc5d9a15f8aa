// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package pebblestorageextension

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension/xextension/storage"
)

func TestClientGetSetDelete(t *testing.T) {
	s := startStorage(t, testConfig(t.TempDir()), nil)
	c := openClient(t, s, "logs")
	ctx := context.Background()

	got, err := c.Get(ctx, "missing")
	require.NoError(t, err)
	assert.Nil(t, got, "a missing key reads as nil")

	for _, key := range []string{"qmv0", "0", "7", "10", "007", "18446744073709551616", "", "a/b"} {
		require.NoError(t, c.Set(ctx, key, []byte("v-"+key)))
	}
	for _, key := range []string{"qmv0", "0", "7", "10", "007", "18446744073709551616", "", "a/b"} {
		got, err = c.Get(ctx, key)
		require.NoError(t, err)
		assert.Equal(t, "v-"+key, string(got), "key %q", key)
	}

	require.NoError(t, c.Set(ctx, "7", []byte("overwritten")))
	got, err = c.Get(ctx, "7")
	require.NoError(t, err)
	assert.Equal(t, "overwritten", string(got))

	require.NoError(t, c.Delete(ctx, "7"))
	require.NoError(t, c.Delete(ctx, "never-set"), "deleting a missing key is not an error")
	got, err = c.Get(ctx, "7")
	require.NoError(t, err)
	assert.Nil(t, got)
	got, err = c.Get(ctx, "007")
	require.NoError(t, err)
	assert.Equal(t, "v-007", string(got), "\"007\" and \"7\" are different keys")
}

func TestClientBatch(t *testing.T) {
	s := startStorage(t, testConfig(t.TempDir()), nil)
	c := openClient(t, s, "logs")
	ctx := context.Background()
	require.NoError(t, c.Set(ctx, "1", []byte("one")))

	// The persistent queue's three batches: enqueue, dispatch, done.
	before := storage.GetOperation("1")
	after := storage.GetOperation("2")
	require.NoError(t, c.Batch(ctx,
		before,
		storage.SetOperation("qmv0", []byte("meta-1")),
		storage.SetOperation("2", []byte("two")),
		storage.DeleteOperation("1"),
		after,
	))
	assert.Equal(t, "one", string(before.Value), "a read sees what preceded it in the batch")
	assert.Equal(t, "two", string(after.Value), "a read sees the batch's earlier writes")

	gone := storage.GetOperation("1")
	meta := storage.GetOperation("qmv0")
	require.NoError(t, c.Batch(ctx, gone, meta))
	assert.Nil(t, gone.Value)
	assert.Equal(t, "meta-1", string(meta.Value))

	require.Error(t, c.Batch(ctx, &storage.Operation{Type: storage.OpType(99), Key: "x"}))
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	require.ErrorIs(t, c.Batch(cancelled, storage.SetOperation("x", nil)), context.Canceled)
}

func TestRestartKeepsData(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()

	first := newStorage(zapNop(), testConfig(dir), nil, storageID)
	require.NoError(t, first.Start(ctx, nil))
	c, err := first.GetClient(ctx, component.KindExporter, exporterID, "logs")
	require.NoError(t, err)
	for i := range 100 {
		require.NoError(t, c.Set(ctx, fmt.Sprint(i), []byte(fmt.Sprint("item-", i))))
	}
	require.NoError(t, c.Delete(ctx, "50"))
	require.NoError(t, c.Close(ctx))
	require.NoError(t, first.Shutdown(ctx))

	second := startStorage(t, testConfig(dir), nil)
	c = openClient(t, second, "logs")
	for i := range 100 {
		got, err := c.Get(ctx, fmt.Sprint(i))
		require.NoError(t, err)
		if i == 50 {
			assert.Nil(t, got)
			continue
		}
		assert.Equal(t, fmt.Sprint("item-", i), string(got))
	}
}

func TestClientsAreSeparate(t *testing.T) {
	s := startStorage(t, testConfig(t.TempDir()), nil)
	ctx := context.Background()
	logs := openClient(t, s, "logs")
	metrics := openClient(t, s, "metrics")
	other, err := s.GetClient(ctx, component.KindReceiver, exporterID, "logs")
	require.NoError(t, err)

	require.NoError(t, logs.Set(ctx, "k", []byte("logs")))
	require.NoError(t, metrics.Set(ctx, "k", []byte("metrics")))
	for c, want := range map[storage.Client]string{logs: "logs", metrics: "metrics"} {
		got, err := c.Get(ctx, "k")
		require.NoError(t, err)
		assert.Equal(t, want, string(got))
	}
	got, err := other.Get(ctx, "k")
	require.NoError(t, err)
	assert.Nil(t, got, "a receiver of the same name has its own store")

	_, err = s.GetClient(ctx, component.KindExporter, exporterID, "logs")
	require.Error(t, err, "a store has one client at a time")
}

func TestClosedClientRefuses(t *testing.T) {
	s := startStorage(t, testConfig(t.TempDir()), nil)
	c := openClient(t, s, "logs")
	ctx := context.Background()
	require.NoError(t, c.Close(ctx))
	require.NoError(t, c.Close(ctx), "closing twice is harmless")
	_, err := c.Get(ctx, "k")
	require.ErrorIs(t, err, errClientClosed)
	require.ErrorIs(t, c.Set(ctx, "k", nil), errClientClosed)

	reopened := openClient(t, s, "logs")
	require.NoError(t, reopened.Set(ctx, "k", []byte("v")), "the store opens again after Close")
}

func TestConcurrentClients(t *testing.T) {
	s := startStorage(t, testConfig(t.TempDir()), nil)
	ctx := context.Background()
	clients := []storage.Client{openClient(t, s, "logs"), openClient(t, s, "traces")}
	const writers, items = 4, 200

	var wg sync.WaitGroup
	errs := make(chan error, len(clients)*writers)
	for ci, c := range clients {
		for w := range writers {
			wg.Go(func() {
				for i := range items {
					key := fmt.Sprint(w*items + i)
					meta := fmt.Sprintf("meta-%d-%d", w, i)
					if err := c.Batch(ctx, storage.SetOperation(fmt.Sprint("meta", w), []byte(meta)),
						storage.SetOperation(key, []byte(fmt.Sprint(ci, "/", key)))); err != nil {
						errs <- err
						return
					}
					if i%3 == 0 {
						if err := c.Delete(ctx, key); err != nil {
							errs <- err
							return
						}
					}
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	for ci, c := range clients {
		for n := range writers * items {
			got, err := c.Get(ctx, fmt.Sprint(n))
			require.NoError(t, err)
			if n%items%3 == 0 {
				assert.Nil(t, got, "client %d key %d was deleted", ci, n)
			} else {
				assert.Equal(t, fmt.Sprint(ci, "/", n), string(got))
			}
		}
	}
}

func TestStoreNames(t *testing.T) {
	assert.Equal(t, "exporter_otlp_grpc_gateway_logs", storeName(component.KindExporter, exporterID, "logs"))
	assert.Equal(t, "receiver_falco_", storeName(component.KindReceiver, component.MustNewID("falco"), ""))
	assert.Equal(t, "exporter_otlp_a~002F..~002Fb", storeName(component.KindExporter, component.MustNewIDWithName("otlp", "a/../b"), ""))
}

func TestEncodeKeyIsOneToOne(t *testing.T) {
	seen := map[string]string{}
	for _, key := range []string{"0", "1", "00", "01", "10", "18446744073709551615", "18446744073709551616", "", "qmv0", "\x01", "\x00"} {
		enc := string(encodeKey(key))
		prev, dup := seen[enc]
		require.False(t, dup, "%q and %q encode alike", prev, key)
		seen[enc] = key
	}
	assert.Less(t, string(encodeKey("9")), string(encodeKey("10")), "queue items are stored in index order")
}

// A batch deleting a run of keys (the spool's release) removes exactly them, and what the batch
// writes after the deletes stands.
func TestBatchDeletesARunThenWrites(t *testing.T) {
	s := startStorage(t, testConfig(t.TempDir()), nil)
	c := openClient(t, s, "spool")
	ctx := context.Background()
	for i := range 20 {
		require.NoError(t, c.Set(ctx, fmt.Sprint(i), []byte(fmt.Sprint("item-", i))))
	}
	require.NoError(t, c.Set(ctx, "010", []byte("text key")))

	ops := []*storage.Operation{storage.DeleteOperation("3")}
	for i := 5; i < 15; i++ {
		ops = append(ops, storage.DeleteOperation(fmt.Sprint(i)))
	}
	inBatch := storage.GetOperation("12")
	ops = append(ops, storage.SetOperation("10", []byte("again")), inBatch)
	require.NoError(t, c.Batch(ctx, ops...))
	assert.Nil(t, inBatch.Value, "the batch reads its own deletes")

	for i := range 20 {
		got, err := c.Get(ctx, fmt.Sprint(i))
		require.NoError(t, err)
		switch {
		case i == 10:
			assert.Equal(t, "again", string(got))
		case i == 3 || i >= 5 && i < 15:
			assert.Nil(t, got, "key %d", i)
		default:
			assert.Equal(t, fmt.Sprint("item-", i), string(got), "key %d", i)
		}
	}
	got, err := c.Get(ctx, "010")
	require.NoError(t, err)
	assert.Equal(t, "text key", string(got))
	require.NoError(t, c.Set(ctx, "12", []byte("later")))
	got, err = c.Get(ctx, "12")
	require.NoError(t, err)
	assert.Equal(t, "later", string(got), "a key set again after its deletion is kept")
}
