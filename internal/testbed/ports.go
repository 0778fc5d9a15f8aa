// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package testbed // import "github.com/otelcol-falco/otelcol-falco/internal/testbed"

import (
	"net"
	"strconv"
)

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort(tb TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// FreeAddr returns "127.0.0.1:<free port>".
func FreeAddr(tb TB) string {
	tb.Helper()
	return "127.0.0.1:" + strconv.Itoa(FreePort(tb))
}
