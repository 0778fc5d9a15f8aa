// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

// Package testbed runs the real pieces the end-to-end tests and `make bench` need, on loopback
// only: the built collector binary, a Prometheus server, and an OTLP/HTTP sink. Everything it
// starts is stopped through TB.Cleanup, and every wait is bounded.
package testbed // import "github.com/otelcol-falco/otelcol-falco/internal/testbed"

import "time"

// TB is the part of testing.TB the testbed uses, so `make bench` can drive it too.
type TB interface {
	Helper()
	Cleanup(func())
	Fatalf(format string, args ...any)
	Logf(format string, args ...any)
	TempDir() string
}

// WaitFor polls cond every 50 ms until it holds or timeout passes, and reports whether it held.
func WaitFor(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
}
