// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/otelcol-falco/otelcol-falco/internal/testbed"
)

// peakRSS is the process's resident high-water mark (VmHWM) in bytes, which includes the pages
// of a memory-mapped queue file.
func peakRSS(tb testing.TB, pid int) int64 {
	tb.Helper()
	u, err := testbed.ReadProcessUsage(pid)
	require.NoError(tb, err)
	return int64(u.PeakRSS)
}

// peakRSSMiB is peakRSS in MiB for figures, -1 when unreadable.
func peakRSSMiB(pid int) int64 {
	u, err := testbed.ReadProcessUsage(pid)
	if err != nil {
		return -1
	}
	return int64(u.PeakRSS >> 20)
}
