// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package pebblestorageextension // import "github.com/otelcol-falco/otelcol-falco/extension/pebblestorageextension"

import (
	"errors"
	"fmt"
	"os"
)

// Config is the pebble_storage extension's configuration. Sizes are in bytes.
type Config struct {
	// Directory holds one Pebble store per client (component and name), like file_storage's files.
	Directory string `mapstructure:"directory"`
	// CreateDirectory creates Directory (0750) when it is missing.
	CreateDirectory bool `mapstructure:"create_directory"`
	// FSync flushes every write to stable storage before it is acknowledged (fdatasync of the
	// write-ahead log, shared by concurrent writers). Off, every write still reaches the
	// operating system before it is acknowledged: it survives a crash or SIGKILL of the
	// collector, but not a power loss of the machine.
	FSync bool `mapstructure:"fsync"`
	// FreeSpaceReserve is the free space to keep on Directory's filesystem. Below it, writes that
	// would add a new key fail with ErrNoSpace, while deletes and overwrites of existing keys
	// (a queue's own bookkeeping) still succeed, so what is stored can always be drained.
	// 0 turns the check off.
	FreeSpaceReserve int64 `mapstructure:"free_space_reserve"`
	// MaxDiskUsage caps the bytes the stores take on disk (write-ahead logs and tables included);
	// at the cap new keys fail like below FreeSpaceReserve. 0 is no cap.
	MaxDiskUsage int64 `mapstructure:"max_disk_usage"`
	// CacheSize is the block cache shared by every store of this extension.
	CacheSize int64 `mapstructure:"cache_size"`
	// MemTableSize is the size of one in-memory write buffer of a store; a store holds at most
	// three, and as many write-ahead log files of that size sit on disk.
	MemTableSize int64 `mapstructure:"memtable_size"`
}

const minMemTableSize = 64 << 10

// Validate checks the configuration.
func (c *Config) Validate() error {
	var errs []error
	if c.Directory == "" {
		errs = append(errs, errors.New("directory must be set"))
	} else if !c.CreateDirectory {
		info, err := os.Stat(c.Directory)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("directory %q: %w (set create_directory: true to create it)", c.Directory, err))
		case !info.IsDir():
			errs = append(errs, fmt.Errorf("directory %q is not a directory", c.Directory))
		}
	}
	if c.FreeSpaceReserve < 0 {
		errs = append(errs, fmt.Errorf("free_space_reserve must be >= 0, got %d", c.FreeSpaceReserve))
	}
	if c.MaxDiskUsage < 0 {
		errs = append(errs, fmt.Errorf("max_disk_usage must be >= 0, got %d", c.MaxDiskUsage))
	}
	if c.CacheSize < 0 {
		errs = append(errs, fmt.Errorf("cache_size must be >= 0, got %d", c.CacheSize))
	}
	if c.MemTableSize < minMemTableSize || c.MemTableSize >= 1<<30 {
		errs = append(errs, fmt.Errorf("memtable_size must be between %d and 1 GiB, got %d", minMemTableSize, c.MemTableSize))
	}
	if c.MaxDiskUsage > 0 && c.MaxDiskUsage < 8*c.MemTableSize {
		errs = append(errs, fmt.Errorf("max_disk_usage (%d) must be at least 8 x memtable_size (%d): the write-ahead logs alone take up to 6", c.MaxDiskUsage, c.MemTableSize))
	}
	return errors.Join(errs...)
}
