// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

// Package e2e runs the built distribution (dist/otelcol-falco) against the Falco emulator, a real
// Prometheus and OTLP sinks, all on loopback.
package e2e

import (
	"os"
	"testing"
)

func TestMain(m *testing.M) {
	// testbed.CollectorBinary builds dist/otelcol-falco once per run when `make build` has not.
	os.Exit(m.Run())
}
