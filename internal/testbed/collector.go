// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package testbed // import "github.com/otelcol-falco/otelcol-falco/internal/testbed"

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
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
		// As `make build` and the image build it, so memory figures are the shipped binary's.
		cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", "otelcol-falco", ".")
		cmd.Dir = filepath.Join(RepoRoot(), "dist")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
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
	*Process
	Env    map[string]string
	Health string // health_check address

	binary       string
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
	// Binary is the collector to run; empty: CollectorBinary.
	Binary string
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
	c := &Collector{Env: env, Health: env["HEALTH_CHECK_ENDPOINT"], binary: opts.Binary, featureGates: opts.FeatureGates}
	if c.binary == "" {
		c.binary = CollectorBinary(tb)
	}
	c.start(tb, opts.Configs)
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
	c.Process = StartProcess(tb, c.Env, c.binary, args...)
	healthy := WaitFor(30*time.Second, func() bool {
		if c.Exited() {
			return true
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

// Stop asks the collector to shut down (SIGTERM) and waits up to 20 s, then kills it.
func (c *Collector) Stop(tb TB) {
	if !c.Process.Stop(stopTimeout) {
		tb.Logf("collector did not stop within %v; killed it", stopTimeout)
	}
}
