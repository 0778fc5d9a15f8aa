// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

//go:build unix

package falcolabelprocessor

import (
	"syscall"
	"time"
)

// processCPUTime is the CPU time the test process used so far. Benchmarks report it beside wall
// time because on a shared machine wall time also counts waiting for a CPU.
func processCPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
