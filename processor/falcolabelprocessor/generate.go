// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

//go:generate go tool mdatagen metadata.yaml

// Package falcolabelprocessor renames Falco's alert fields to OpenTelemetry semantic conventions
// and regroups logs and metrics so that each resource holds one workload.
package falcolabelprocessor // import "github.com/otelcol-falco/otelcol-falco/processor/falcolabelprocessor"
