// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package pebblestorageextension

import (
	"context"
	"io/fs"
	"path/filepath"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"
)

var (
	exporterID = component.MustNewIDWithName("otlp_grpc", "gateway")
	storageID  = component.MustNewID("pebble_storage")
)

func testConfig(dir string) *Config {
	cfg := createDefaultConfig().(*Config)
	cfg.Directory = dir
	cfg.FreeSpaceReserve = 0
	return cfg
}

// startStorage starts the extension with cfg on fsys (nil: the real filesystem) and shuts it
// down when the test ends.
func startStorage(t *testing.T, cfg *Config, fsys vfs.FS) *pebbleStorage {
	t.Helper()
	s := newStorage(zaptest.NewLogger(t), cfg, fsys, storageID)
	require.NoError(t, s.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, s.Shutdown(context.Background())) })
	return s
}

func openClient(t *testing.T, s *pebbleStorage, name string) storage.Client {
	t.Helper()
	c, err := s.GetClient(context.Background(), component.KindExporter, exporterID, name)
	require.NoError(t, err)
	return c
}

// quotaFS is a filesystem of a fixed capacity for the free-space guard: it reports as free the
// capacity minus what the directory holds. It only shapes what the guard reads; the writes go to
// the real disk, so a test can also check that nothing was written past the capacity.
type quotaFS struct {
	vfs.FS
	dir      string
	capacity uint64
}

func (q quotaFS) GetDiskUsage(string) (vfs.DiskUsage, error) {
	used := dirSize(q.dir)
	avail := uint64(0)
	if used < q.capacity {
		avail = q.capacity - used
	}
	return vfs.DiskUsage{AvailBytes: avail, TotalBytes: q.capacity, UsedBytes: used}, nil
}

func dirSize(dir string) uint64 {
	var total uint64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		if info, err := d.Info(); err == nil {
			total += uint64(info.Size())
		}
		return nil
	})
	return total
}

func zapNop() *zap.Logger { return zap.NewNop() }
