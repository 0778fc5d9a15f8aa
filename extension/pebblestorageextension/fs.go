// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package pebblestorageextension // import "github.com/otelcol-falco/otelcol-falco/extension/pebblestorageextension"

import (
	"strings"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// Every commit asks Pebble for a synced write-ahead log (pebble.Sync): that is what makes Pebble
// write the record to the file before the commit returns (without it the record may wait in
// Pebble's buffer, and a SIGKILL loses it). With fsync off, walWithoutFsync turns the log files'
// fdatasync into a no-op, so a commit costs one write(2): the record is in the operating system,
// safe from a crash of the collector but not from a power loss. Tables, manifests and directories
// keep their real syncs, so the store stays consistent across a power loss either way.
type walWithoutFsync struct {
	vfs.FS
}

func isWALFile(name string) bool { return strings.HasSuffix(name, ".log") }

func (fs walWithoutFsync) Create(name string, category vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := fs.FS.Create(name, category)
	if err != nil || !isWALFile(name) {
		return f, err
	}
	return unsyncedFile{f}, nil
}

func (fs walWithoutFsync) ReuseForWrite(oldname, newname string, category vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := fs.FS.ReuseForWrite(oldname, newname, category)
	if err != nil || !isWALFile(newname) {
		return f, err
	}
	return unsyncedFile{f}, nil
}

func (fs walWithoutFsync) Unwrap() vfs.FS { return fs.FS }

// unsyncedFile is a write-ahead log file whose writes are not forced to stable storage.
type unsyncedFile struct {
	vfs.File
}

func (unsyncedFile) Sync() error                { return nil }
func (unsyncedFile) SyncData() error            { return nil }
func (unsyncedFile) SyncTo(int64) (bool, error) { return true, nil }
