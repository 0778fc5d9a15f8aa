// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"fmt"
	"io"
	"strings"
)

// Target is one of the performance targets and whether this run met it.
type Target struct {
	Name string `json:"name"`
	Want string `json:"want"`
	Got  string `json:"got"`
	Met  *bool  `json:"met"` // nil: its scenarios did not run (or failed)
}

func evaluateTargets(rs []Result) []Target {
	get := func(name string) *Result {
		for i := range rs {
			if rs[i].Scenario == name && rs[i].Error == "" {
				return &rs[i]
			}
		}
		return nil
	}
	var ts []Target
	add := func(name, want string, measured bool, got string, met bool) {
		t := Target{Name: name, Want: want, Got: "not measured"}
		if measured {
			t.Got, t.Met = got, &met
		}
		ts = append(ts, t)
	}
	g := get("grpc-100pods")
	add("gRPC throughput (grpc-100pods)", ">= 150000 alerts/s", g != nil,
		fmtIf(g, func(r *Result) string { return fmt.Sprintf("%.0f alerts/s", r.AlertsPerSec) }),
		g != nil && g.AlertsPerSec >= 150000)
	add("gRPC CPU, logs + metrics (grpc-100pods)", "<= 0.8 CPU-s/100k", g != nil,
		fmtIf(g, func(r *Result) string { return fmt.Sprintf("%.3f CPU-s/100k", r.CPUPer100k) }),
		g != nil && g.CPUPer100k <= 0.8)
	for _, c := range []string{"1c", "4c"} {
		h, f := get("http-single-"+c), get("floor-"+c)
		ok := h != nil && f != nil && f.CPUPer100k > 0
		ratio := 0.0
		if ok {
			ratio = h.CPUPer100k / f.CPUPer100k
		}
		add("HTTP single-alert CPU vs net/http floor ("+c+")", "<= 1.2x", ok,
			fmt.Sprintf("%.2fx (%.2f vs %.2f CPU-s/100k)", ratio, cpuOf(h), cpuOf(f)), ok && ratio <= 1.2)
	}
	// Issue 14: the shipped agent (disk spool, GOMAXPROCS as the DaemonSet) against the bare
	// handler under the same GOMAXPROCS, in one run.
	hd, f1 := get("http-single-1c-disk"), get("floor-1c-1cpu")
	okDisk := hd != nil && f1 != nil && f1.CPUPer100k > 0 && f1.AlertsPerSec > 0
	cpuRatio, rateRatio := 0.0, 0.0
	if okDisk {
		cpuRatio, rateRatio = hd.CPUPer100k/f1.CPUPer100k, hd.AlertsPerSec/f1.AlertsPerSec
	}
	add("Shipped agent, single POSTs, disk queue: CPU vs net/http floor (http-single-1c-disk / floor-1c-1cpu)", "<= 1.5x", okDisk,
		fmt.Sprintf("%.2fx (%.2f vs %.2f CPU-s/100k)", cpuRatio, cpuOf(hd), cpuOf(f1)), okDisk && cpuRatio <= 1.5)
	rates := ""
	if okDisk {
		rates = fmt.Sprintf("%.2fx (%.0f vs %.0f alerts/s)", rateRatio, hd.AlertsPerSec, f1.AlertsPerSec)
	}
	add("Shipped agent, single POSTs, disk queue: alerts/s vs net/http floor (http-single-1c-disk / floor-1c-1cpu)", ">= 0.7x", okDisk,
		rates, okDisk && rateRatio >= 0.7)
	gdisk := get("grpc-100pods-disk")
	add("gRPC through the shipped disk queue (grpc-100pods-disk)", "<= 1.2 CPU-s/100k", gdisk != nil,
		fmtIf(gdisk, func(r *Result) string { return fmt.Sprintf("%.3f CPU-s/100k", r.CPUPer100k) }),
		gdisk != nil && gdisk.CPUPer100k <= 1.2)
	n := get("http-ndjson")
	add("NDJSON throughput (http-ndjson)", ">= 100000 alerts/s", n != nil,
		fmtIf(n, func(r *Result) string { return fmt.Sprintf("%.0f alerts/s", r.AlertsPerSec) }),
		n != nil && n.AlertsPerSec >= 100000)
	s := get("grpc-100k-series")
	add("Peak RSS at 100k live series (grpc-100k-series)", "<= 150 MiB", s != nil,
		fmtIf(s, func(r *Result) string { return fmt.Sprintf("%.0f MiB at %d series", r.PeakRSSMiB, r.Series) }),
		s != nil && s.PeakRSSMiB <= 150)
	gd := get("grpc-guard")
	okGuard := gd != nil && s != nil
	add("Cardinality guard: memory flat beyond max_series (grpc-guard vs grpc-100k-series)", "<= 1.1x the 100k-series RSS", okGuard,
		func() string {
			if !okGuard {
				return ""
			}
			return fmt.Sprintf("%.0f MiB at %d series (max_series %d) vs %.0f MiB", gd.PeakRSSMiB, gd.Series, gd.MaxSeries, s.PeakRSSMiB)
		}(), okGuard && gd.PeakRSSMiB <= 1.1*s.PeakRSSMiB)
	for _, r := range rs {
		if !strings.HasPrefix(r.Scenario, "latency-") {
			continue
		}
		rr := get(r.Scenario)
		add("Latency p99 ("+r.Scenario+")", "<= 100 ms", rr != nil,
			fmtIf(rr, func(r *Result) string {
				return fmt.Sprintf("p99 %.1f ms (p50 %.1f ms)", r.LatencyP99ms, r.LatencyP50ms)
			}),
			rr != nil && rr.LatencyP99ms <= 100)
	}
	return ts
}

func fmtIf(r *Result, f func(*Result) string) string {
	if r == nil {
		return ""
	}
	return f(r)
}

func cpuOf(r *Result) float64 {
	if r == nil {
		return 0
	}
	return r.CPUPer100k
}

// printTable writes the results and the targets as Markdown.
func printTable(w io.Writer, rep *Report) {
	m := rep.Machine
	fmt.Fprintf(w, "\n## otelcol-falco benchmark, %s\n\n", rep.Time.Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(w, "Machine: %s, %d CPUs, %.1f GiB, Linux %s, %s", m.CPUModel, m.CPUs, m.MemoryGiB, m.Kernel, m.GoVersion)
	if m.GitCommit != "" {
		dirty := ""
		if m.GitDirty {
			dirty = "+changes"
		}
		fmt.Fprintf(w, ", commit %s%s", m.GitCommit, dirty)
	}
	fmt.Fprintf(w, ".\nLoad average (1 min) %.2f at start, %.2f at end. Runs per scenario: %d (medians; 100k-series and guard: %d; latency: 1). Collector env: %v.\n\n",
		rep.Load1Start, rep.Load1End, rep.Runs, rep.HeavyRuns, rep.Collector)

	fmt.Fprintln(w, "| scenario | alerts | alerts/s | CPU-s / 100k | CPU-s / 100k (logs only) | emulator CPU-s / 100k | peak RSS MiB (anon / file) | series | latency p50 / p99 ms | load |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, r := range rep.Results {
		if r.Error != "" {
			fmt.Fprintf(w, "| %s | %d | failed: %s | | | | | | | |\n", r.Scenario, r.Alerts, oneLine(r.Error, 80))
			continue
		}
		rate := fmt.Sprintf("%.0f", r.AlertsPerSec)
		if r.Rate > 0 {
			rate = fmt.Sprintf("%.0f (fixed)", r.Rate)
		}
		logsOnly, load, series, lat := "", "", "", ""
		if r.LoadCPUPer100k > 0 {
			load = fmt.Sprintf("%.3f", r.LoadCPUPer100k)
		}
		if r.CPULogsPer100k > 0 && !r.isLatency() {
			logsOnly = fmt.Sprintf("%.3f", r.CPULogsPer100k)
		}
		if r.Series > 0 {
			series = fmt.Sprint(r.Series)
		}
		if r.isLatency() {
			lat = fmt.Sprintf("%.1f / %.1f", r.LatencyP50ms, r.LatencyP99ms)
		}
		rss := fmt.Sprintf("%.0f", r.PeakRSSMiB)
		if r.PeakRSSAnonMiB > 0 {
			rss += fmt.Sprintf(" (%.0f / %.0f)", r.PeakRSSAnonMiB, r.PeakRSSFileMiB)
		}
		fmt.Fprintf(w, "| %s | %d | %s | %.3f | %s | %s | %s | %s | %s | %.1f |\n",
			r.Scenario, r.Alerts, rate, r.CPUPer100k, logsOnly, load, rss, series, lat, r.Load1Start)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| target | want | got | met |")
	fmt.Fprintln(w, "|---|---|---|---|")
	for _, t := range rep.Targets {
		met := "n/a"
		if t.Met != nil {
			met = map[bool]string{true: "yes", false: "**no**"}[*t.Met]
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s |\n", t.Name, t.Want, t.Got, met)
	}
	fmt.Fprintln(w)
}

func (r Result) isLatency() bool {
	return r.LatencyP99ms > 0 || strings.HasPrefix(r.Scenario, "latency-")
}

func oneLine(s string, n int) string {
	s = strings.ReplaceAll(strings.SplitN(s, "\n", 2)[0], "|", "/")
	if len(s) > n {
		s = s[:n] + "..."
	}
	return s
}
