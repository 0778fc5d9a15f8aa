// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

// Package falcofields is the one place that knows Falco's output fields: their declared types,
// what Falco writes for "no value", the OpenTelemetry semantic-convention attribute each maps to
// (and so which Falco spellings name the same identity), which alerts are file events, and how
// MITRE ATT&CK references appear in rule tags. The falco receiver, the falcolabel processor and
// the Falco emulator all read it, so a new field is one row of Table.
package falcofields // import "github.com/otelcol-falco/otelcol-falco/internal/falcofields"
