// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package pebblestorageextension

import (
	"context"
	"strconv"
	"testing"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension/xextension/storage"
)

// BenchmarkQueueItem is one item's life in the exporters' persistent queue: enqueue (metadata +
// item), dispatch (metadata + read), done (metadata + delete), with a ~1.1 KB item and the
// metadata of a queue with a 1000-item batch in flight.
//
//	go test -run '^$' -bench QueueItem -benchtime 20000x ./extension/pebblestorageextension
func BenchmarkQueueItem(b *testing.B) {
	for _, fsync := range []bool{false, true} {
		b.Run("fsync="+strconv.FormatBool(fsync), func(b *testing.B) {
			cfg := testConfig(b.TempDir())
			cfg.FSync = fsync
			c := benchClient(b, cfg)
			ctx := context.Background()
			meta := make([]byte, 2000)
			value := item(0)
			b.SetBytes(int64(len(value)))
			b.ResetTimer()
			for i := range b.N {
				key := strconv.Itoa(i)
				if err := c.Batch(ctx, storage.SetOperation("qmv0", meta), storage.SetOperation(key, value)); err != nil {
					b.Fatal(err)
				}
				read := storage.GetOperation(key)
				if err := c.Batch(ctx, storage.SetOperation("qmv0", meta), read); err != nil {
					b.Fatal(err)
				}
				if err := c.Batch(ctx, storage.SetOperation("qmv0", meta), storage.DeleteOperation(key)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSpoolEntry is one entry's life in the falco receiver's spool: a durable Set under the
// next decimal key and, every 1000 entries, one batch that deletes them and moves "head".
//
//	go test -run '^$' -bench SpoolEntry -benchtime 100000x ./extension/pebblestorageextension
func BenchmarkSpoolEntry(b *testing.B) {
	c := benchClient(b, testConfig(b.TempDir()))
	ctx := context.Background()
	const released = 1000
	value := item(0)
	b.SetBytes(int64(len(value)))
	b.ResetTimer()
	for i := range b.N {
		if err := c.Set(ctx, strconv.Itoa(i), value); err != nil {
			b.Fatal(err)
		}
		if (i+1)%released == 0 {
			ops := make([]*storage.Operation, 0, released+1)
			for k := i + 1 - released; k <= i; k++ {
				ops = append(ops, storage.DeleteOperation(strconv.Itoa(k)))
			}
			ops = append(ops, storage.SetOperation("head", []byte(strconv.Itoa(i+1))))
			if err := c.Batch(ctx, ops...); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// benchClient starts a store with cfg and opens a client of it, both closed after the benchmark.
func benchClient(b *testing.B, cfg *Config) storage.Client {
	s := newStorage(zapNop(), cfg, nil, storageID)
	ctx := context.Background()
	if err := s.Start(ctx, nil); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Shutdown(ctx) })
	c, err := s.GetClient(ctx, component.KindExporter, exporterID, "logs")
	if err != nil {
		b.Fatal(err)
	}
	return c
}
