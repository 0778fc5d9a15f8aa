// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bytes"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"

	"github.com/prometheus/procfs"

	"github.com/otelcol-falco/otelcol-falco/internal/testbed"
)

// procCPU is the CPU time (user + system) the process has used so far.
func procCPU(pid int) (time.Duration, error) {
	u, err := testbed.ReadProcessUsage(pid)
	return u.CPU, err
}

// peakRSSMiB is the process's peak resident set (VmHWM) in MiB, 0 when unreadable.
func peakRSSMiB(pid int) float64 {
	u, _ := testbed.ReadProcessUsage(pid)
	return mib(u.PeakRSS)
}

func mib(bytes uint64) float64 { return float64(bytes) / (1 << 20) }

// loadAvg1 is the 1-minute load average, -1 when unreadable.
func loadAvg1() float64 {
	fs, err := procfs.NewDefaultFS()
	if err != nil {
		return -1
	}
	l, err := fs.LoadAvg()
	if err != nil {
		return -1
	}
	return l.Load1
}

// Machine describes where the run happened.
type Machine struct {
	CPUModel  string  `json:"cpu_model"`
	CPUs      int     `json:"cpus"`
	MemoryGiB float64 `json:"memory_gib"`
	Kernel    string  `json:"kernel"`
	GoVersion string  `json:"go_version"`
	Hostname  string  `json:"hostname"`
	GitCommit string  `json:"git_commit,omitempty"`
	GitDirty  bool    `json:"git_dirty"`
}

func describeMachine(repoRoot string) Machine {
	m := Machine{CPUs: runtime.NumCPU(), GoVersion: runtime.Version()}
	m.Hostname, _ = os.Hostname()
	if fs, err := procfs.NewDefaultFS(); err == nil {
		if cpus, err := fs.CPUInfo(); err == nil && len(cpus) > 0 {
			m.CPUModel = cpus[0].ModelName
		}
		if mem, err := fs.Meminfo(); err == nil && mem.MemTotalBytes != nil {
			m.MemoryGiB = float64(int(float64(*mem.MemTotalBytes)/(1<<30)*10+0.5)) / 10
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if out, err := exec.Command("git", "-C", repoRoot, "rev-parse", "--short", "HEAD").Output(); err == nil {
		m.GitCommit = strings.TrimSpace(string(out))
	}
	if out, err := exec.Command("git", "-C", repoRoot, "status", "--porcelain", "--untracked-files=no").Output(); err == nil {
		m.GitDirty = len(bytes.TrimSpace(out)) > 0
	}
	return m
}
