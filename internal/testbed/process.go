// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package testbed // import "github.com/otelcol-falco/otelcol-falco/internal/testbed"

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// stopTimeout is how long a process gets to end after SIGTERM before it is killed.
const stopTimeout = 20 * time.Second

// Process is a child process the testbed started (the collector, Prometheus, the emulator),
// with everything it writes kept.
type Process struct {
	cmd    *exec.Cmd
	output syncBuffer
	done   chan struct{}
	err    error
}

// StartProcess starts bin with args and env added to this process's environment. TB.Cleanup
// stops it.
func StartProcess(tb TB, env map[string]string, bin string, args ...string) *Process {
	tb.Helper()
	p := &Process{cmd: exec.Command(bin, args...), done: make(chan struct{})}
	p.cmd.Env = os.Environ()
	for k, v := range env {
		p.cmd.Env = append(p.cmd.Env, k+"="+v)
	}
	p.cmd.Stdout, p.cmd.Stderr = &p.output, &p.output
	if err := p.cmd.Start(); err != nil {
		tb.Fatalf("start %s: %v", bin, err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	tb.Cleanup(func() {
		if !p.Stop(stopTimeout) {
			tb.Logf("%s did not stop within %v; killed it", filepath.Base(bin), stopTimeout)
		}
	})
	return p
}

// PID is the process id, for /proc readings.
func (p *Process) PID() int { return p.cmd.Process.Pid }

// Done is closed when the process has ended.
func (p *Process) Done() <-chan struct{} { return p.done }

// Exited reports whether the process has ended.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Err is how the process ended (nil for exit status 0); read it after Done.
func (p *Process) Err() error { return p.err }

// Output is everything the process wrote to stdout and stderr so far.
func (p *Process) Output() string { return p.output.String() }

// Stop sends SIGTERM and waits up to timeout, then kills the process. It reports whether the
// process ended by itself.
func (p *Process) Stop(timeout time.Duration) bool {
	if p.Exited() {
		return true
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return true
	case <-time.After(timeout):
		p.Kill()
		return false
	}
}

// Kill ends the process at once (SIGKILL), as a crash would.
func (p *Process) Kill() {
	if !p.Exited() {
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
