// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bytes"
	"github.com/otelcol-falco/otelcol-falco/internal/testbed"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// procCPU is the CPU time (user + system) the process has used so far.
func procCPU(pid int) (time.Duration, error) {
	u, err := testbed.ReadProcessUsage(pid)
	return u.CPU, err
}

// peakRSSMiB is the process's peak resident set (VmHWM) in MiB, 0 when unreadable.
func peakRSSMiB(pid int) float64 {
	u, err := testbed.ReadProcessUsage(pid)
	if err != nil {
		return 0
	}
	return float64(u.PeakRSS) / (1 << 20)
}

// memPeaks tracks the largest anonymous and file-backed resident memory seen.
type memPeaks struct{ testbed.MemorySampler }

func (m *memPeaks) sample(pid int) { m.Sample(pid) }

func (m *memPeaks) anonMiB() float64 { anon, _ := m.Peaks(); return float64(anon) / (1 << 20) }
func (m *memPeaks) fileMiB() float64 { _, file := m.Peaks(); return float64(file) / (1 << 20) }

// loadAvg1 is the 1-minute load average.
func loadAvg1() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return -1
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
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
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
				if fs := strings.Fields(rest); len(fs) > 0 {
					kb, _ := strconv.ParseFloat(fs[0], 64)
					m.MemoryGiB = float64(int(kb/1024/1024*10+0.5)) / 10
				}
			}
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
