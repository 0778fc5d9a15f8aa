// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package falcoreceiver // import "github.com/otelcol-falco/otelcol-falco/receiver/falcoreceiver"

// The memory bounds of the HTTP endpoint. Whatever senders do, the endpoint holds at most:
// max_connections connections, each with a small body allowance (freeBodyBytes); bodies beyond
// that allowance within one shared budget ((max_concurrent_requests+1) × max_request_body_size);
// max_concurrent_requests batches (bodies over the allowance) decoded and delivered at once,
// each of at most max_alerts_per_request alerts; and smallRequestSlots small requests (Falco's
// single alerts), which so never queue behind batches. Stalled headers and bodies are cut by the
// server's timeouts.

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

const (
	// freeBodyBytes is what any request may read without drawing on the shared body budget:
	// Falco's single-alert POSTs (1-2 KB) never wait for or fail on the budget.
	freeBodyBytes = 16 << 10
	// admissionWait is how long a read body waits for a delivery slot before the answer is
	// 503: short enough that a sender is answered well within a second.
	admissionWait = 500 * time.Millisecond
	// smallRequestSlots is how many small requests are decoded and delivered at once. At most
	// ~260 tiny alerts fit in freeBodyBytes (~3 KB each decoded): ~13 MiB for all slots.
	smallRequestSlots = 16
)

// errBusy is a request refused because the endpoint's memory bounds are reached.
var errBusy = errors.New("the receiver is at its memory bound for requests in progress, retry later")

// ingestLimits are the endpoint's shared memory bounds.
type ingestLimits struct {
	bodyBudget atomic.Int64  // body bytes beyond freeBodyBytes that may still be read
	slots      chan struct{} // batches decoded and delivered at once
	smallSlots chan struct{} // small requests decoded and delivered at once
	// The releases acquire returns, made once: a method value per request would allocate.
	releaseBatchFn, releaseSmallFn func()
}

// newIngestLimits sizes the body budget for the batches being decoded plus one being read.
func newIngestLimits(concurrent int, maxBody int64) *ingestLimits {
	l := &ingestLimits{slots: make(chan struct{}, concurrent), smallSlots: make(chan struct{}, smallRequestSlots)}
	l.bodyBudget.Store(int64(concurrent+1) * maxBody)
	l.releaseBatchFn = func() { <-l.slots }
	l.releaseSmallFn = func() { <-l.smallSlots }
	return l
}

// reserve takes n bytes of the body budget, or reports false and takes nothing.
func (l *ingestLimits) reserve(n int64) bool {
	if l.bodyBudget.Add(-n) < 0 {
		l.bodyBudget.Add(n)
		return false
	}
	return true
}

func (l *ingestLimits) unreserve(n int64) { l.bodyBudget.Add(n) }

// acquire waits up to admissionWait for a delivery slot for a body of n bytes and returns its
// release, or nil.
func (l *ingestLimits) acquire(ctx context.Context, n int) (release func()) {
	slots, release := l.slots, l.releaseBatchFn
	if n <= freeBodyBytes {
		slots, release = l.smallSlots, l.releaseSmallFn
	}
	select {
	case slots <- struct{}{}:
		return release
	default:
	}
	timer := time.NewTimer(admissionWait)
	defer timer.Stop()
	select {
	case slots <- struct{}{}:
		return release
	case <-timer.C:
	case <-ctx.Done():
	}
	return nil
}

// readBody reads the whole body into buf. Bytes beyond freeBodyBytes are reserved from the
// shared budget before they are read: up front for a declared length, in growing steps for a
// chunked or decompressed body. reserved is what the caller gives back with unreserve.
func (l *ingestLimits) readBody(req *http.Request, buf []byte, maxBody int64) (body []byte, reserved int64, err error) {
	limit := int64(freeBodyBytes) // bytes this request may hold now
	if req.ContentLength > freeBodyBytes {
		want := min(req.ContentLength, maxBody+1) - freeBodyBytes
		if !l.reserve(want) {
			return buf, 0, errBusy
		}
		reserved, limit = want, want+freeBodyBytes
	}
	if req.ContentLength > int64(cap(buf)) { // exactly the declared size (and room to see EOF)
		buf = make([]byte, 0, min(req.ContentLength, limit)+512)
	}
	for {
		if int64(len(buf)) >= limit { // draw more of the budget: as much again, up to the body limit
			step := min(max(int64(len(buf)), 64<<10), maxBody+1-limit)
			if step <= 0 { // unreachable: MaxBytesReader fails the read past maxBody first
				return buf, reserved, &http.MaxBytesError{Limit: maxBody}
			}
			if !l.reserve(step) {
				return buf, reserved, errBusy
			}
			reserved += step
			limit += step
		}
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		room := buf[len(buf):min(int64(cap(buf)), limit)]
		n, err := req.Body.Read(room)
		buf = buf[:len(buf)+n]
		if errors.Is(err, io.EOF) {
			return buf, reserved, nil
		}
		if err != nil {
			return buf, reserved, err
		}
	}
}

// limitListener closes connections beyond max connections at once: each open connection costs
// a goroutine and buffers, so their number is what bounds the memory of idle or slow senders.
type limitListener struct {
	net.Listener
	slots    chan struct{}
	onRefuse func(remote net.Addr)
}

func newLimitListener(ln net.Listener, maxConns int, onRefuse func(net.Addr)) *limitListener {
	return &limitListener{Listener: ln, slots: make(chan struct{}, maxConns), onRefuse: onRefuse}
}

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		select {
		case l.slots <- struct{}{}:
			return &limitedConn{Conn: c, release: func() { <-l.slots }}, nil
		default:
			l.onRefuse(c.RemoteAddr())
			_ = c.Close()
		}
	}
}

// limitedConn gives its slot back on the first Close.
type limitedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
