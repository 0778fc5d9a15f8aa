// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package pebblestorageextension

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/otelcol-falco/otelcol-falco/extension/pebblestorageextension/internal/metadata"
)

func TestLoadConfig(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)

	tests := []struct {
		name    string
		want    *Config
		wantErr string
	}{
		{name: "", wantErr: "directory \"/var/lib/otelcol/pebble_storage\""},
		{name: "all_settings", want: &Config{
			Directory: "/var/lib/otelcol-falco", CreateDirectory: true, FSync: true,
			FreeSpaceReserve: 128 << 20, MaxDiskUsage: 1 << 30, CacheSize: 16 << 20, MemTableSize: 8 << 20,
		}},
		{name: "small_memtable", wantErr: "memtable_size must be between 65536 and 1 GiB, got 1024"},
		{name: "negative_reserve", wantErr: "free_space_reserve must be >= 0"},
		{name: "cap_below_logs", wantErr: "max_disk_usage (1048576) must be at least 8 x memtable_size"},
		{name: "missing_directory", wantErr: "set create_directory: true to create it"},
	}
	for _, tt := range tests {
		t.Run("name="+tt.name, func(t *testing.T) {
			cfg := NewFactory().CreateDefaultConfig()
			sub, err := cm.Sub(component.NewIDWithName(metadata.Type, tt.name).String())
			require.NoError(t, err)
			require.NoError(t, sub.Unmarshal(cfg))
			err = confmap.Validate(cfg)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, cfg)
		})
	}
}

func TestDefaultConfig(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	assert.Equal(t, &Config{
		Directory:        "/var/lib/otelcol/pebble_storage",
		FreeSpaceReserve: 64 << 20,
		CacheSize:        8 << 20,
		MemTableSize:     4 << 20,
	}, cfg)
	cfg.Directory = t.TempDir()
	require.NoError(t, cfg.Validate())
}
