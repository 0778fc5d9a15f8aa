// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"encoding/json"
	"fmt"
	"log"
	"math"
	"os"
	"slices"
	"sort"
	"time"
)

// Result is one scenario's figures (for several runs: the medians, with every run under Runs).
type Result struct {
	Scenario    string  `json:"scenario"`
	Description string  `json:"description"`
	Kind        string  `json:"kind"`
	Mode        string  `json:"mode,omitempty"`
	Alerts      uint64  `json:"alerts"`
	Rate        float64 `json:"offered_rate,omitempty"`
	Connections int     `json:"connections,omitempty"`
	Batch       int     `json:"batch,omitempty"`
	Pods        int     `json:"pods"`
	MaxSeries   int     `json:"max_series,omitempty"`

	Delivered    int64   `json:"delivered"` // log records at the sink (floor: requests answered 2xx)
	Seconds      float64 `json:"seconds"`   // first to last record at the sink (floor: the sender's)
	AlertsPerSec float64 `json:"alerts_per_second"`
	// CPUSeconds is the collector's CPU from just before the load until the metrics pipeline emitted
	// falco.events with every alert counted (logs and metrics produced); the floor's until the
	// sender finished.
	CPUSeconds float64 `json:"cpu_seconds"`
	CPUPer100k float64 `json:"cpu_seconds_per_100k"`
	// CPULogsPer100k stops the clock when the last log record reached the sink.
	CPULogsPer100k float64 `json:"cpu_seconds_per_100k_logs_only,omitempty"`
	// LoadCPUPer100k is the emulator's (Falco's stand-in) CPU over the same span: with the
	// collector's it tells whether alerts/s was bound by the 2 vCPUs the two share.
	LoadCPUPer100k float64 `json:"load_cpu_seconds_per_100k,omitempty"`
	// PeakRSSMiB is VmHWM after one scrape of the Prometheus exporter.
	PeakRSSMiB          float64 `json:"peak_rss_mib"`
	PeakRSSPreScrapeMiB float64 `json:"peak_rss_before_scrape_mib,omitempty"`
	// The largest anonymous (heap, stacks) and file-backed (the binary's pages) parts of the RSS
	// seen while sampling every few milliseconds; VmHWM is the peak of their sum.
	PeakRSSAnonMiB float64 `json:"peak_rss_anon_mib,omitempty"`
	PeakRSSFileMiB float64 `json:"peak_rss_file_mib,omitempty"`
	ScrapeCPUms    float64 `json:"scrape_cpu_ms,omitempty"`
	Series         int     `json:"series,omitempty"`       // falco_events_total series at the exporter
	EventsTotal    float64 `json:"events_total,omitempty"` // their sum (= Alerts when nothing was lost)

	LatencyP50ms float64 `json:"latency_p50_ms,omitempty"`
	LatencyP99ms float64 `json:"latency_p99_ms,omitempty"`
	LatencyMaxms float64 `json:"latency_max_ms,omitempty"`
	// LatencySamples is how many records the percentiles cover: those whose alert was raised
	// after the first record reached the sink.
	LatencySamples int `json:"latency_samples,omitempty"`
	// LatencyWithStartup is set when the run was too short for that and every record counts.
	LatencyWithStartup bool `json:"latency_with_startup,omitempty"`

	SenderFailed  uint64            `json:"sender_failed,omitempty"`
	SenderRetries uint64            `json:"sender_retries,omitempty"`
	SenderStatus  map[string]uint64 `json:"sender_status,omitempty"`

	Load1Start float64  `json:"load1_start"`
	Load1End   float64  `json:"load1_end"`
	Profiles   []string `json:"profiles,omitempty"`
	Error      string   `json:"error,omitempty"`

	Runs []Result `json:"runs,omitempty"`
}

// Report is the JSON file.
type Report struct {
	Time       time.Time         `json:"time"`
	Machine    Machine           `json:"machine"`
	Command    string            `json:"command"`
	Collector  map[string]string `json:"collector_env"`
	Config     []string          `json:"config"`
	Overlay    string            `json:"overlay"`
	Runs       int               `json:"runs"`
	HeavyRuns  int               `json:"heavy_runs"`
	Load1Start float64           `json:"load1_start"`
	Load1End   float64           `json:"load1_end"`
	Results    []Result          `json:"results"`
	Targets    []Target          `json:"targets"`
	Seconds    float64           `json:"total_seconds"`
}

func (r Result) short() string {
	if r.Error != "" {
		return "FAILED: " + r.Error
	}
	s := fmt.Sprintf("%.0f alerts/s, %.3f CPU-s/100k, peak RSS %.0f MiB", r.AlertsPerSec, r.CPUPer100k, r.PeakRSSMiB)
	if r.LoadCPUPer100k > 0 {
		s += fmt.Sprintf(", emulator %.3f CPU-s/100k", r.LoadCPUPer100k)
	}
	if r.Series > 0 {
		s += fmt.Sprintf(", %d series", r.Series)
	}
	if r.LatencyP99ms > 0 {
		s += fmt.Sprintf(", latency p50 %.1f ms p99 %.1f ms", r.LatencyP50ms, r.LatencyP99ms)
	}
	return s + fmt.Sprintf(" (load %.2f)", r.Load1Start)
}

// aggregate gives the medians of the runs (the first run's context fields).
func aggregate(rs []Result) Result {
	if len(rs) == 1 {
		return rs[0]
	}
	out := rs[0]
	var ok []Result
	for _, r := range rs {
		if r.Error == "" {
			ok = append(ok, r)
		} else {
			out.Error = r.Error
		}
	}
	if len(ok) > 0 {
		med := func(f func(Result) float64) float64 {
			v := make([]float64, len(ok))
			for i, r := range ok {
				v[i] = f(r)
			}
			sort.Float64s(v)
			if len(v)%2 == 1 {
				return v[len(v)/2]
			}
			return (v[len(v)/2-1] + v[len(v)/2]) / 2
		}
		out.AlertsPerSec = med(func(r Result) float64 { return r.AlertsPerSec })
		out.Seconds = med(func(r Result) float64 { return r.Seconds })
		out.CPUSeconds = med(func(r Result) float64 { return r.CPUSeconds })
		out.CPUPer100k = med(func(r Result) float64 { return r.CPUPer100k })
		out.CPULogsPer100k = med(func(r Result) float64 { return r.CPULogsPer100k })
		out.LoadCPUPer100k = med(func(r Result) float64 { return r.LoadCPUPer100k })
		out.PeakRSSMiB = med(func(r Result) float64 { return r.PeakRSSMiB })
		out.PeakRSSAnonMiB = med(func(r Result) float64 { return r.PeakRSSAnonMiB })
		out.PeakRSSFileMiB = med(func(r Result) float64 { return r.PeakRSSFileMiB })
		out.PeakRSSPreScrapeMiB = med(func(r Result) float64 { return r.PeakRSSPreScrapeMiB })
		out.ScrapeCPUms = med(func(r Result) float64 { return r.ScrapeCPUms })
		out.LatencyP50ms = med(func(r Result) float64 { return r.LatencyP50ms })
		out.LatencyP99ms = med(func(r Result) float64 { return r.LatencyP99ms })
		out.Load1Start = med(func(r Result) float64 { return r.Load1Start })
		out.Load1End = med(func(r Result) float64 { return r.Load1End })
	}
	out.Runs = rs
	return out
}

func percentileMs(ds []time.Duration, p float64) float64 {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(math.Ceil(p*float64(len(s)))) - 1
	i = min(max(i, 0), len(s)-1)
	return float64(s[i].Microseconds()) / 1000
}

// mergeResults puts fresh results in place of the same scenarios' results in an earlier report,
// in the earlier report's order, fresh ones it lacks at the end.
func mergeResults(path string, fresh []Result) []Result {
	var old Report
	b, err := os.ReadFile(path)
	if err != nil || json.Unmarshal(b, &old) != nil {
		log.Printf("bench: -update: no earlier report in %s; writing only this run's results", path)
		return fresh
	}
	byName := map[string]Result{}
	for _, r := range fresh {
		byName[r.Scenario] = r
	}
	var out []Result
	for _, r := range old.Results {
		if f, ok := byName[r.Scenario]; ok {
			r = f
			delete(byName, r.Scenario)
		}
		out = append(out, r)
	}
	for _, r := range fresh {
		if _, ok := byName[r.Scenario]; ok {
			out = append(out, r)
		}
	}
	return out
}
