// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package pebblestorageextension // import "github.com/otelcol-falco/otelcol-falco/extension/pebblestorageextension"

import (
	"context"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension"

	"github.com/otelcol-falco/otelcol-falco/extension/pebblestorageextension/internal/metadata"
)

const (
	defaultDirectory        = "/var/lib/otelcol/pebble_storage"
	defaultFreeSpaceReserve = 64 << 20
	defaultCacheSize        = 8 << 20
	defaultMemTableSize     = 4 << 20
)

// NewFactory returns the pebble_storage extension factory.
func NewFactory() extension.Factory {
	return extension.NewFactory(metadata.Type, createDefaultConfig, createExtension, metadata.ExtensionStability)
}

func createDefaultConfig() component.Config {
	return &Config{
		Directory:        defaultDirectory,
		FreeSpaceReserve: defaultFreeSpaceReserve,
		CacheSize:        defaultCacheSize,
		MemTableSize:     defaultMemTableSize,
	}
}

func createExtension(_ context.Context, set extension.Settings, cfg component.Config) (extension.Extension, error) {
	return newStorage(set.Logger, cfg.(*Config), nil, set.ID), nil
}
