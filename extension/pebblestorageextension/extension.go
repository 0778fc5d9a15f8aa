// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package pebblestorageextension // import "github.com/otelcol-falco/otelcol-falco/extension/pebblestorageextension"

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.uber.org/zap"
)

// pebbleStorage is the extension: one Pebble store per client, in a directory named after the
// client's component (as file_storage names its files), sharing one block cache and one guard
// of the free space.
type pebbleStorage struct {
	cfg     *Config
	logger  *zap.Logger
	fs      vfs.FS // the real filesystem, or a fault-injecting one in tests
	ballast string // a file of spare room, given back when the disk fills anyway

	mu      sync.Mutex
	cache   *pebble.Cache
	guard   *spaceGuard
	clients map[*client]struct{}
}

var _ storage.Extension = (*pebbleStorage)(nil)

func newStorage(logger *zap.Logger, cfg *Config, fs vfs.FS, id component.ID) *pebbleStorage {
	if fs == nil {
		fs = vfs.Default
	}
	return &pebbleStorage{
		cfg: cfg, logger: logger, fs: fs, clients: map[*client]struct{}{},
		ballast: filepath.Join(cfg.Directory, sanitize(id.String())+".ballast"),
	}
}

func (s *pebbleStorage) Start(context.Context, component.Host) error {
	if s.cfg.CreateDirectory {
		if err := os.MkdirAll(s.cfg.Directory, 0o750); err != nil {
			return fmt.Errorf("creating directory %q: %w", s.cfg.Directory, err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cache = pebble.NewCache(s.cfg.CacheSize)
	s.guard = newSpaceGuard(s.fs, s.cfg.Directory, s.cfg, s.diskUsage, s.recyclableLogs, s.logger)
	if size := ballastSize(s.cfg); size > 0 {
		if err := writeBallast(s.ballast, size); err != nil {
			s.logger.Warn("No ballast for a full disk", zap.String("file", s.ballast), zap.Error(err))
		} else {
			s.guard.ballast.Store(size)
		}
	}
	return nil
}

// ballastSize is the part of the reserve set aside in a file for when the disk fills although
// new keys are refused (another writer filled it, or a compaction's output outgrew the reserve):
// a quarter of the reserve, at most 8 MiB.
func ballastSize(cfg *Config) int64 { return min(cfg.FreeSpaceReserve/4, 8<<20) }

func writeBallast(path string, size int64) error {
	if info, err := os.Stat(path); err == nil && info.Size() == size {
		return nil
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	zeros := make([]byte, 64<<10)
	for written := int64(0); written < size; {
		n, err := f.Write(zeros[:min(int64(len(zeros)), size-written)])
		if err != nil {
			_ = f.Close()
			_ = os.Remove(path)
			return err
		}
		written += int64(n)
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

// diskFull runs when a write met ENOSPC: Pebble cannot survive a failed log write, so the ballast
// goes (the write is retried once, into its room) and new keys are refused from now on. The
// ballast comes back at the next start.
func (s *pebbleStorage) diskFull() {
	s.guard.diskFull()
	s.guard.ballast.Store(0)
	if err := os.Remove(s.ballast); err == nil {
		s.logger.Warn("The disk is full: removed the ballast file to finish the write", zap.String("file", s.ballast))
	}
}

func (s *pebbleStorage) Shutdown(context.Context) error {
	s.mu.Lock()
	open := make([]*client, 0, len(s.clients))
	for c := range s.clients {
		open = append(open, c)
	}
	s.mu.Unlock()
	var errs []error
	for _, c := range open {
		errs = append(errs, c.Close(context.Background()))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cache != nil {
		s.cache.Unref()
		s.cache = nil
	}
	return errors.Join(errs...)
}

// GetClient opens the store of one component (and name) for its exclusive use.
func (s *pebbleStorage) GetClient(_ context.Context, kind component.Kind, id component.ID, name string) (storage.Client, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cache == nil {
		return nil, errors.New("pebble_storage: GetClient before Start or after Shutdown")
	}
	// The suffix keeps a store from colliding with file_storage's bbolt file of the same component
	// when both use one directory (an agent switched from file_storage).
	dir := filepath.Join(s.cfg.Directory, storeName(kind, id, name)+".pebble")
	db, err := pebble.Open(dir, s.pebbleOptions())
	if err != nil {
		return nil, fmt.Errorf("pebble_storage: opening %s: %w", dir, err)
	}
	c := &client{db: db, guard: s.guard, dir: dir, fsync: s.cfg.FSync, onClose: s.forget}
	if err := c.findNewDecimals(); err != nil {
		return nil, errors.Join(fmt.Errorf("pebble_storage: reading %s: %w", dir, err), db.Close())
	}
	c.startFlusher()
	s.clients[c] = struct{}{}
	return c, nil
}

func (s *pebbleStorage) forget(c *client) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.clients, c)
}

// diskUsage is what the open stores take on disk.
func (s *pebbleStorage) diskUsage() uint64 {
	return s.sumMetrics(func(m *pebble.Metrics) uint64 { return m.DiskSpaceUsage() })
}

// recyclableLogs is what the open stores' spare log files take.
func (s *pebbleStorage) recyclableLogs() uint64 {
	return s.sumMetrics(func(m *pebble.Metrics) uint64 { return m.WAL.ObsoletePhysicalSize })
}

func (s *pebbleStorage) sumMetrics(f func(*pebble.Metrics) uint64) uint64 {
	s.mu.Lock()
	open := make([]*client, 0, len(s.clients))
	for c := range s.clients {
		open = append(open, c)
	}
	s.mu.Unlock()
	var total uint64
	for _, c := range open {
		if m := c.metrics(); m != nil {
			total += f(m)
		}
	}
	return total
}

func (s *pebbleStorage) pebbleOptions() *pebble.Options {
	fs := s.fs
	if !s.cfg.FSync {
		fs = walWithoutFsync{FS: fs}
	}
	// A write that meets a full disk would be fatal to Pebble (its commit pipeline cannot undo
	// a half-written log record); the reserve keeps that from happening, and should another
	// writer fill the disk anyway, the guard stops new keys at the first ENOSPC.
	fs = vfs.OnDiskFull(fs, s.diskFull)
	opts := &pebble.Options{
		FS:                  fs,
		Cache:               s.cache,
		MemTableSize:        uint64(s.cfg.MemTableSize),
		MaxManifestFileSize: 8 << 20,
		FormatMajorVersion:  pebble.FormatNewest,
		Logger:              zapLogger{s.logger.Sugar()},
	}
	return opts
}

func storeName(kind component.Kind, id component.ID, name string) string {
	raw := kindString(kind) + "_" + id.Type().String() + "_" + id.Name()
	if name != "" {
		raw += "_" + name
	}
	return sanitize(raw)
}

func kindString(k component.Kind) string {
	switch k {
	case component.KindReceiver:
		return "receiver"
	case component.KindProcessor:
		return "processor"
	case component.KindExporter:
		return "exporter"
	case component.KindExtension:
		return "extension"
	case component.KindConnector:
		return "connector"
	default:
		return "other"
	}
}

// sanitize keeps letters, digits, '.', '-' and '_' and spells anything else (including '~')
// as ~XXXX, its code point: distinct names stay distinct, and no name escapes the directory.
func sanitize(name string) string {
	out := make([]byte, 0, len(name))
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.' && len(out) > 0, r == '-', r == '_':
			out = append(out, byte(r))
		default:
			out = fmt.Appendf(out, "~%04X", r)
		}
	}
	return string(out)
}

// zapLogger routes Pebble's log lines to the collector's logger.
type zapLogger struct{ *zap.SugaredLogger }

func (l zapLogger) Infof(format string, args ...any)  { l.Debugf(format, args...) }
func (l zapLogger) Errorf(format string, args ...any) { l.SugaredLogger.Errorf(format, args...) }
func (l zapLogger) Fatalf(format string, args ...any) { l.SugaredLogger.Fatalf(format, args...) }

// compactAll flushes and compacts every open store (tests).
func (s *pebbleStorage) compactAll() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.clients {
		if err := c.db.Compact(context.Background(), []byte{0}, []byte{0xff}, true); err != nil {
			return err
		}
	}
	return nil
}
