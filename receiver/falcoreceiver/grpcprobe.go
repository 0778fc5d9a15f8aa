// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package falcoreceiver // import "github.com/otelcol-falco/otelcol-falco/receiver/falcoreceiver"

import (
	"context"
	"net"
	"net/url"
	"strings"
	"time"
)

// endpointProbe checks that something accepts connections at Falco's gRPC endpoint before the
// receiver opens a gRPC channel to it. A refused or missing socket is then one quiet failed
// dial, not a gRPC connection attempt that gRPC logs as a warning.
type endpointProbe struct {
	network, address string // empty: a target scheme the probe does not know; always try gRPC
}

func newEndpointProbe(endpoint string) endpointProbe {
	switch {
	case strings.HasPrefix(endpoint, "unix://"):
		return endpointProbe{network: "unix", address: strings.TrimPrefix(endpoint, "unix://")}
	case strings.HasPrefix(endpoint, "dns:"):
		if u, err := url.Parse(endpoint); err == nil {
			return endpointProbe{network: "tcp", address: strings.TrimPrefix(u.Path, "/")}
		}
		return endpointProbe{}
	case strings.Contains(endpoint, "://"):
		return endpointProbe{}
	}
	return endpointProbe{network: "tcp", address: endpoint}
}

// reachable connects to the endpoint and closes the connection at once.
func (p endpointProbe) reachable(ctx context.Context) error {
	if p.network == "" {
		return nil
	}
	conn, err := p.dial(ctx)
	if err != nil {
		return err
	}
	return conn.Close()
}

// dial connects to the endpoint, as gRPC's own dialer would.
func (p endpointProbe) dial(ctx context.Context) (net.Conn, error) {
	dialer := net.Dialer{Timeout: 5 * time.Second}
	return dialer.DialContext(ctx, p.network, p.address)
}
