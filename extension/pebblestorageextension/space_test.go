// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package pebblestorageextension

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/extension/xextension/storage"
)

// fillAndDrain runs the persistent queue's pattern against a volume too small for the offered
// items: enqueue (metadata + new item) until the storage refuses, then dispatch (metadata + read)
// and finish (metadata + delete) every acknowledged item. The metadata grows with the items in
// flight, as the queue's list of dispatched items does (up to a few batches). Every refusal must be ErrNoSpace, and
// every acknowledged item must come back intact.
func fillAndDrain(t *testing.T, c storage.Client, offered int) (acknowledged int) {
	t.Helper()
	ctx := context.Background()
	meta := func(n int) []byte { return []byte(strings.Repeat("m", 16+4*min(n, 500))) }

	var stored []int
	refused := 0
	for i := range offered {
		err := c.Batch(ctx, storage.SetOperation("qmv0", meta(len(stored))), storage.SetOperation(strconv.Itoa(i), item(i)))
		if err != nil {
			require.ErrorIs(t, err, ErrNoSpace, "item %d", i)
			refused++
			continue
		}
		stored = append(stored, i)
	}
	require.NotZero(t, refused, "the volume was meant to fill up")
	require.NotEmpty(t, stored, "the volume was meant to take some items first")

	for n, i := range stored {
		read := storage.GetOperation(strconv.Itoa(i))
		require.NoError(t, c.Batch(ctx, storage.SetOperation("qmv0", meta(len(stored)-n)), read), "dispatching item %d", i)
		require.Equal(t, string(item(i)), string(read.Value), "item %d", i)
	}
	for n, i := range stored {
		require.NoError(t, c.Batch(ctx, storage.SetOperation("qmv0", meta(len(stored)-n)), storage.DeleteOperation(strconv.Itoa(i))),
			"finishing item %d", i)
	}
	return len(stored)
}

func TestFullDiskRefusesNewKeysAndDrains(t *testing.T) {
	dir := t.TempDir()
	const capacity = 3 << 20
	cfg := testConfig(dir)
	cfg.MemTableSize = 256 << 10
	cfg.FreeSpaceReserve = 1 << 20
	s := startStorage(t, cfg, quotaFS{FS: vfs.Default, dir: dir, capacity: capacity})
	c := openClient(t, s, "logs")

	acknowledged := fillAndDrain(t, c, 4000)
	t.Logf("%d of 4000 items acknowledged on a %d-byte volume; the directory holds %d bytes after the drain", acknowledged, capacity, dirSize(dir))
	assert.LessOrEqual(t, dirSize(dir), uint64(capacity), "the store stayed within the volume")
}

func TestMaxDiskUsageRefusesNewKeys(t *testing.T) {
	cfg := testConfig(t.TempDir())
	cfg.MemTableSize = 256 << 10
	cfg.MaxDiskUsage = 4 << 20
	s := startStorage(t, cfg, nil)
	c := openClient(t, s, "logs")
	fillAndDrain(t, c, 8000)
}

func TestRefusalLiftsOnceSpaceIsBack(t *testing.T) {
	dir := t.TempDir()
	qfs := &quotaFS{FS: vfs.Default, dir: dir, capacity: 1 << 40}
	cfg := testConfig(dir)
	cfg.FreeSpaceReserve = 1 << 20
	s := startStorage(t, cfg, qfs)
	c := openClient(t, s, "logs")
	ctx := context.Background()
	require.NoError(t, c.Set(ctx, "0", []byte("first")))

	qfs.capacity = dirSize(dir) + 512<<10 // another writer took the disk
	s.guard.refresh()
	err := c.Set(ctx, "1", []byte("second"))
	require.ErrorIs(t, err, ErrNoSpace)
	require.NoError(t, c.Set(ctx, "0", []byte("overwrite")), "existing keys can be overwritten")
	got, err := c.Get(ctx, "1")
	require.NoError(t, err)
	assert.Nil(t, got, "a refused batch wrote nothing")

	qfs.capacity = 1 << 40
	s.guard.refresh()
	require.NoError(t, c.Set(ctx, "1", []byte("second")))
}

// item is an incompressible stand-in for a serialized alert (~1.1 KB).
func item(i int) []byte {
	var seed [32]byte
	binary.LittleEndian.PutUint64(seed[:], uint64(i))
	buf := make([]byte, 1100)
	_, _ = rand.NewChaCha8(seed).Read(buf)
	return buf
}

// mountTmpfs mounts a tmpfs of size (e.g. "3m") for the test, or skips it when not root.
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs needs root; TestFullDiskRefusesNewKeysAndDrains covers the same with a fault-injecting filesystem")
	}
	dir := filepath.Join(t.TempDir(), "queue")
	require.NoError(t, os.Mkdir(dir, 0o750))
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", "-l", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

// TestTmpfsFilledByAnotherWriter: another process takes the last byte of the volume between two
// checks of the free space. The write that meets ENOSPC finishes in the ballast's room (Pebble
// would otherwise stop the process), new keys are refused from then on, and what is stored
// drains.
func TestTmpfsFilledByAnotherWriter(t *testing.T) {
	dir := mountTmpfs(t, "3m")
	cfg := testConfig(dir)
	cfg.MemTableSize = 256 << 10
	cfg.FreeSpaceReserve = 1 << 20
	s := startStorage(t, cfg, nil)
	c := openClient(t, s, "logs")
	ctx := context.Background()
	for i := range 50 {
		require.NoError(t, c.Batch(ctx, storage.SetOperation("qmv0", []byte("meta")), storage.SetOperation(strconv.Itoa(i), item(i))))
	}

	filler, err := os.Create(filepath.Join(dir, "other-writer"))
	require.NoError(t, err)
	chunk := make([]byte, 4096)
	for {
		if _, err := filler.Write(chunk); err != nil {
			require.ErrorIs(t, err, syscall.ENOSPC)
			break
		}
	}
	require.NoError(t, filler.Close())

	// Writes go on into room Pebble already holds (its recycled log files) or the ballast's, until
	// the guard refuses; none fails otherwise, and every acknowledged one is kept.
	stored := 50
	for ; stored < 2000; stored++ {
		err = c.Batch(ctx, storage.SetOperation("qmv0", []byte("meta")), storage.SetOperation(strconv.Itoa(stored), item(stored)))
		if err != nil {
			require.ErrorIs(t, err, ErrNoSpace)
			break
		}
	}
	require.Less(t, stored, 2000, "new keys are refused on the full disk")
	t.Logf("%d items acknowledged after the other writer filled the disk", stored-50)
	for i := range stored {
		read := storage.GetOperation(strconv.Itoa(i))
		require.NoError(t, c.Batch(ctx, storage.SetOperation("qmv0", []byte("meta")), read))
		require.Equal(t, item(i), read.Value)
		require.NoError(t, c.Batch(ctx, storage.SetOperation("qmv0", []byte("meta")), storage.DeleteOperation(strconv.Itoa(i))))
	}

	require.NoError(t, os.Remove(filepath.Join(dir, "other-writer")))
	s.guard.refresh()
	require.NoError(t, c.Batch(ctx, storage.SetOperation("qmv0", []byte("meta")), storage.SetOperation("next", item(0))))
}

// TestTmpfsVolume fills a real 3 MiB tmpfs (needs root, as in CI).
func TestTmpfsVolume(t *testing.T) {
	dir := mountTmpfs(t, "3m")
	cfg := testConfig(dir)
	cfg.MemTableSize = 256 << 10
	cfg.FreeSpaceReserve = 1 << 20
	s := startStorage(t, cfg, nil)
	c := openClient(t, s, "logs")
	acknowledged := fillAndDrain(t, c, 4000)
	t.Logf("%d of 4000 items acknowledged on a 3 MiB tmpfs", acknowledged)

	// After the drain, room comes back and new items are taken again.
	ctx := context.Background()
	var err error
	for i := range 100 {
		if err = c.Set(ctx, strconv.Itoa(100000+i), []byte("after the drain")); err == nil {
			break
		}
		require.True(t, errors.Is(err, ErrNoSpace), "%v", err)
		require.NoError(t, s.compactAll())
		time.Sleep(50 * time.Millisecond) // Pebble deletes obsolete files in the background
	}
	require.NoError(t, err, "new items are accepted once the drained items' space is reclaimed")
}

// While new keys are refused, a restarted store still tells them from overwrites: decimal keys
// past the largest stored one are known new without a lookup, any other is looked up.
func TestRefusalTellsNewKeysAfterRestart(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	first := startStorage(t, testConfig(dir), nil)
	c := openClient(t, first, "logs")
	for i := range 6 {
		require.NoError(t, c.Set(ctx, fmt.Sprint(i), item(i)))
	}
	require.NoError(t, c.Delete(ctx, "3"))
	require.NoError(t, c.Close(ctx))
	require.NoError(t, first.Shutdown(ctx))

	qfs := &quotaFS{FS: vfs.Default, dir: dir, capacity: 1 << 40}
	cfg := testConfig(dir)
	cfg.FreeSpaceReserve = 1 << 20
	second := startStorage(t, cfg, qfs)
	c = openClient(t, second, "logs")
	qfs.capacity = dirSize(dir) + 512<<10
	second.guard.refresh()
	for _, key := range []string{"0", "5"} {
		assert.NoError(t, c.Set(ctx, key, []byte("overwrite")), "key %s is stored", key)
	}
	for _, key := range []string{"3", "6", "1000"} {
		assert.ErrorIs(t, c.Set(ctx, key, []byte("new")), ErrNoSpace, "key %s is new", key)
	}
}
