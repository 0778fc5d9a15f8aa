// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"fmt"
	"log"
	"os"
)

// runTB is the testbed.TB of one scenario run, because the bench is a program, not a test:
// Fatalf aborts the run (runScenario recovers it), Cleanup functions run when it ends, last first.
type runTB struct {
	name     string
	verbose  bool
	cleanups []func()
}

type fatalError struct{ msg string }

func (t *runTB) Helper() {}

func (t *runTB) Cleanup(f func()) { t.cleanups = append(t.cleanups, f) }

func (t *runTB) Fatalf(format string, args ...any) {
	panic(fatalError{fmt.Sprintf(format, args...)})
}

func (t *runTB) Logf(format string, args ...any) {
	if t.verbose {
		log.Printf("[%s] "+format, append([]any{t.name}, args...)...)
	}
}

func (t *runTB) TempDir() string {
	// Short paths: unix socket paths are limited to 108 bytes.
	d, err := os.MkdirTemp("", "ofb-")
	if err != nil {
		t.Fatalf("temp dir: %v", err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(d) })
	return d
}

func (t *runTB) finish() {
	for i := len(t.cleanups) - 1; i >= 0; i-- {
		t.cleanups[i]()
	}
	t.cleanups = nil
}
