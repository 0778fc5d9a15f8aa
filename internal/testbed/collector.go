// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package testbed // import "github.com/otelcol-falco/otelcol-falco/internal/testbed"

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"
)

// RepoRoot is the repository's top folder, found from this file's location.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// CollectorBinary returns dist/otelcol-falco, building it once if `make build` has not.
func CollectorBinary(tb TB) string {
	tb.Helper()
	buildOnce.Do(func() {
		bin := filepath.Join(RepoRoot(), "dist", "otelcol-falco")
		if _, err := os.Stat(bin); err == nil {
			builtBinary = bin
			return
		}
		cmd := exec.Command("go", "build", "-trimpath", "-o", "otelcol-falco", ".")
		cmd.Dir = filepath.Join(RepoRoot(), "dist")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("building the distribution: %v\n%s", err, out)
			return
		}
		builtBinary = bin
	})
	if buildErr != nil {
		tb.Fatalf("%v", buildErr)
	}
	return builtBinary
}

var (
	buildOnce   sync.Once
	builtBinary string
	buildErr    error
)

// Collector is a running dist/otelcol-falco process.
type Collector struct {
	cmd    *exec.Cmd
	output *syncBuffer
	Env    map[string]string
	done   chan struct{}
	Health string // health_check address

	featureGates []string
}

// CollectorOptions say how to start the collector.
type CollectorOptions struct {
	// Configs are --config arguments (files or yaml: snippets), merged in order.
	Configs []string
	// Env is added to the environment; the shipped configs read their addresses from it.
	Env map[string]string
	// FeatureGates are passed as --feature-gates, e.g. pdata.useProtoPooling.
	FeatureGates []string
}

// StartCollector starts the collector and waits until its health_check answers; the env var
// HEALTH_CHECK_ENDPOINT is set to a free port when the caller did not choose one.
func StartCollector(tb TB, opts CollectorOptions) *Collector {
	tb.Helper()
	env := map[string]string{}
	for k, v := range opts.Env {
		env[k] = v
	}
	if env["HEALTH_CHECK_ENDPOINT"] == "" {
		env["HEALTH_CHECK_ENDPOINT"] = FreeAddr(tb)
	}
	if env["TELEMETRY_PORT"] == "" {
		env["TELEMETRY_PORT"] = fmt.Sprint(FreePort(tb))
	}
	if env["TELEMETRY_HOST"] == "" {
		env["TELEMETRY_HOST"] = "127.0.0.1"
	}
	c := &Collector{Env: env, Health: env["HEALTH_CHECK_ENDPOINT"], featureGates: opts.FeatureGates}
	c.start(tb, opts.Configs)
	tb.Cleanup(func() { c.Stop(tb) })
	return c
}

func (c *Collector) start(tb TB, configs []string) {
	tb.Helper()
	args := []string{}
	for _, cfg := range configs {
		args = append(args, "--config", cfg)
	}
	if len(c.featureGates) > 0 {
		args = append(args, "--feature-gates", strings.Join(c.featureGates, ","))
	}
	c.cmd = exec.Command(CollectorBinary(tb), args...)
	c.cmd.Env = os.Environ()
	for k, v := range c.Env {
		c.cmd.Env = append(c.cmd.Env, k+"="+v)
	}
	c.output = &syncBuffer{}
	c.cmd.Stdout, c.cmd.Stderr = c.output, c.output
	if err := c.cmd.Start(); err != nil {
		tb.Fatalf("start collector: %v", err)
	}
	c.done = make(chan struct{})
	go func() { _ = c.cmd.Wait(); close(c.done) }()
	healthy := WaitFor(30*time.Second, func() bool {
		select {
		case <-c.done:
			return true
		default:
		}
		resp, err := http.Get("http://" + c.Health + "/")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	if c.Exited() || !healthy {
		tb.Fatalf("collector did not become healthy:\n%s", c.Output())
	}
}

// Restart starts the collector again with the same configuration, after Kill or Stop.
func (c *Collector) Restart(tb TB, configs []string) {
	tb.Helper()
	c.start(tb, configs)
}

// PID is the collector's process id, for /proc readings.
func (c *Collector) PID() int { return c.cmd.Process.Pid }

// Exited reports whether the process has ended.
func (c *Collector) Exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// Output is everything the collector logged so far.
func (c *Collector) Output() string { return c.output.String() }

// Stop asks the collector to shut down (SIGTERM) and waits up to 20 s, then kills it.
func (c *Collector) Stop(tb TB) {
	if c.cmd == nil || c.Exited() {
		return
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(20 * time.Second):
		tb.Logf("collector did not stop within 20s; killing it")
		c.Kill()
	}
}

// Kill ends the collector at once (SIGKILL), as a crash would.
func (c *Collector) Kill() {
	if c.cmd == nil || c.Exited() {
		return
	}
	_ = c.cmd.Process.Kill()
	<-c.done
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
