// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/otelcol-falco/otelcol-falco/internal/testbed"
)

// runFloor measures the bare net/http handler with the same HTTP generator.
func (b *bench) runFloor(tb *runTB, sc scenario, r *Result) {
	self, err := os.Executable()
	if err != nil {
		tb.Fatalf("floor: %v", err)
	}
	dir := tb.TempDir()
	addr := testbed.FreeAddr(tb)
	floor := testbed.StartProcess(tb, b.envFor(sc), self, "-floor-serve", addr)
	if !testbed.WaitFor(10*time.Second, func() bool {
		resp, err := http.Post("http://"+addr+"/", "text/plain", strings.NewReader("warm-up"))
		if err == nil {
			resp.Body.Close()
		}
		return err == nil || floor.Exited()
	}) || floor.Exited() {
		tb.Fatalf("floor did not start: %s", floor.Output())
	}
	time.Sleep(200 * time.Millisecond)
	summary := filepath.Join(dir, "summary.json")
	cpu0 := mustCPU(tb, floor.PID())
	args := append(b.emulatorArgs(sc, summary), b.httpArgs(sc, "http://"+addr+"/")...)
	emu := testbed.StartProcess(tb, nil, b.o.emulator, args...)
	select {
	case <-emu.Done():
	case <-time.After(b.o.timeout):
		tb.Fatalf("floor: the sender did not finish within %v: %s", b.o.timeout, emu.Output())
	}
	cpu1 := mustCPU(tb, floor.PID())
	r.PeakRSSMiB = peakRSSMiB(floor.PID())
	s := readSummary(tb, summary, emu)
	r.Delivered = int64(s.HTTP.Acked)
	r.Seconds = s.ElapsedSeconds
	r.AlertsPerSec = float64(s.HTTP.Acked) / max(s.ElapsedSeconds, 1e-9)
	r.SenderFailed, r.SenderRetries, r.SenderStatus = s.HTTP.Failed, s.HTTP.Retries, s.HTTP.Status
	r.CPUSeconds = (cpu1 - cpu0).Seconds()
	r.CPUPer100k = r.CPUSeconds / float64(max(s.HTTP.Acked, 1)) * 1e5
	if s.HTTP.Acked != sc.Count {
		tb.Fatalf("floor: %d of %d requests answered 2xx", s.HTTP.Acked, sc.Count)
	}
}

// serveFloor is the net/http floor: a bare handler that reads the body and answers 200, in its
// own process so its CPU time can be read from /proc like the collector's. It runs until SIGTERM.
func serveFloor(addr string) int {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "floor:", err)
		return 1
	}
	var requests atomic.Int64
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			requests.Add(1)
			w.WriteHeader(http.StatusOK)
		}),
		ReadHeaderTimeout: 10 * time.Second,
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, os.Interrupt)
	go func() {
		<-stop
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}()
	if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintln(os.Stderr, "floor:", err)
		return 1
	}
	fmt.Fprintf(os.Stderr, "floor: %d requests\n", requests.Load())
	return 0
}
