// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package pebblestorageextension // import "github.com/otelcol-falco/otelcol-falco/extension/pebblestorageextension"

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"go.uber.org/zap"
)

// ErrNoSpace is returned for a write that would add a new key while the free space of the
// directory's filesystem is below free_space_reserve or the stores are at max_disk_usage. The
// write changed nothing; it may succeed later, once stored items are deleted.
var ErrNoSpace = errors.New("pebble_storage: no room for new keys")

const (
	minCheckBytes = 4 << 10
	maxCheckBytes = 1 << 20
	// With plenty of room the free space is still re-read this often: other writers share a
	// node's disk.
	idleCheckInterval = time.Second
	// While refusing, how often the free space is re-read at most (compactions give room back).
	lowCheckInterval = 100 * time.Millisecond
)

// spaceGuard decides whether new keys may be written. It re-reads the free space (statfs) and
// the stores' size after every checkEvery bytes written, a step of an eighth of the remaining
// headroom: rare with room to spare, at every write near the reserve.
type spaceGuard struct {
	fs        vfs.FS
	dir       string
	reserve   uint64
	maxUsage  uint64
	diskUsage func() uint64
	// recyclable is what the stores' spare log files take: Pebble writes its next logs into
	// them, so that room is as good as free.
	recyclable func() uint64
	logger     *zap.Logger

	// ballast is the size of the ballast file while it exists: room inside the reserve, counted
	// as free.
	ballast atomic.Int64

	written    atomic.Int64
	checkEvery atomic.Int64
	lastCheck  atomic.Int64 // unix nanoseconds
	low        atomic.Bool

	mu     sync.Mutex // serializes refresh
	reason string     // why new keys are refused; guarded by mu
}

func newSpaceGuard(fs vfs.FS, dir string, cfg *Config, diskUsage, recyclable func() uint64, logger *zap.Logger) *spaceGuard {
	return &spaceGuard{
		fs:         fs,
		dir:        dir,
		reserve:    uint64(cfg.FreeSpaceReserve),
		maxUsage:   uint64(cfg.MaxDiskUsage),
		diskUsage:  diskUsage,
		recyclable: recyclable,
		logger:     logger,
	}
}

func (g *spaceGuard) enabled() bool { return g.reserve > 0 || g.maxUsage > 0 }

// refuseNewKeys reports whether new keys are refused now, and why.
func (g *spaceGuard) refuseNewKeys() (bool, error) {
	if !g.enabled() {
		return false, nil
	}
	interval := idleCheckInterval
	if g.low.Load() {
		interval = lowCheckInterval
	}
	if g.written.Load() >= g.checkEvery.Load() || time.Now().UnixNano()-g.lastCheck.Load() >= int64(interval) {
		g.refresh()
	}
	if !g.low.Load() {
		return false, nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return true, fmt.Errorf("%w: %s", ErrNoSpace, g.reason)
}

// wrote accounts for bytes committed to the stores.
func (g *spaceGuard) wrote(n int) { g.written.Add(int64(n)) }

// diskFull is called when the filesystem answered ENOSPC: refuse new keys at once.
func (g *spaceGuard) diskFull() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.setLow(true, fmt.Sprintf("the filesystem of %s is full (ENOSPC)", g.dir))
	g.checkEvery.Store(0)
}

func (g *spaceGuard) refresh() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.lastCheck.Store(time.Now().UnixNano())
	g.written.Store(0)

	headroom := uint64(maxCheckBytes * 8)
	low, reason := false, ""
	if g.reserve > 0 {
		usage, err := g.fs.GetDiskUsage(g.dir)
		if err != nil {
			g.logger.Warn("Cannot read the free space of the storage directory; keeping the previous decision",
				zap.String("directory", g.dir), zap.Error(err))
			g.checkEvery.Store(minCheckBytes)
			return
		}
		avail := usage.AvailBytes + uint64(g.ballast.Load()) + g.recyclable()
		if avail < g.reserve {
			low = true
			reason = fmt.Sprintf("%d bytes free on the filesystem of %s, below free_space_reserve (%d)", avail, g.dir, g.reserve)
		} else {
			headroom = min(headroom, avail-g.reserve)
		}
	}
	if g.maxUsage > 0 && !low {
		used, spare := g.diskUsage(), g.recyclable()
		used -= min(used, spare)
		if used >= g.maxUsage {
			low = true
			reason = fmt.Sprintf("the stores take %d bytes on disk, max_disk_usage is %d", used, g.maxUsage)
		} else {
			headroom = min(headroom, g.maxUsage-used)
		}
	}
	g.setLow(low, reason)
	if low {
		g.checkEvery.Store(minCheckBytes)
		return
	}
	g.checkEvery.Store(int64(min(max(headroom/8, minCheckBytes), maxCheckBytes)))
}

// setLow records the decision and logs its changes. Callers hold mu.
func (g *spaceGuard) setLow(low bool, reason string) {
	was := g.low.Swap(low)
	g.reason = reason
	switch {
	case low && !was:
		g.logger.Warn("Refusing new items until stored ones are deleted: "+reason, zap.String("directory", g.dir))
	case !low && was:
		g.logger.Info("Accepting new items again", zap.String("directory", g.dir))
	}
}
