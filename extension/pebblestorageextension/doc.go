// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

//go:generate go tool mdatagen metadata.yaml

// Package pebblestorageextension is a storage extension (storage.Extension) on Pebble,
// CockroachDB's embedded LSM key-value engine. It is built for the exporters' persistent queue:
// a few microseconds per write, every acknowledged write on disk before it is acknowledged, and a
// free-space reserve that refuses new keys before the disk is full while deletes and overwrites
// of existing keys go on, so a queue can always drain.
package pebblestorageextension // import "github.com/otelcol-falco/otelcol-falco/extension/pebblestorageextension"
