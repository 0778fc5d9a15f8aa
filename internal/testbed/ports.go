// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package testbed // import "github.com/otelcol-falco/otelcol-falco/internal/testbed"

import (
	"net"
	"strconv"
	"sync"
)

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort(tb TB) int {
	tb.Helper()
	// The kernel may hand a closed port out again: never give one port to two callers of a run,
	// or one collector's health check and receiver would race for it.
	for range 100 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			tb.Fatalf("free port: %v", err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		handedOutMu.Lock()
		seen := handedOut[port]
		handedOut[port] = true
		handedOutMu.Unlock()
		if !seen {
			return port
		}
	}
	tb.Fatalf("free port: no unused port in 100 tries")
	return 0
}

var (
	handedOutMu sync.Mutex
	handedOut   = map[int]bool{}
)

// FreeAddr returns "127.0.0.1:<free port>".
func FreeAddr(tb TB) string {
	tb.Helper()
	return "127.0.0.1:" + strconv.Itoa(FreePort(tb))
}
