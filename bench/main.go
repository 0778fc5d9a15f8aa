// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

// Command bench is `make bench`: it runs a fixed set of scenarios against the built distribution
// (dist/otelcol-falco) with the shipped config/agent.yaml plus a bench overlay (logs to an OTLP/HTTP
// sink that counts and discards, the pprof extension), driven by the repo's Falco emulator
// (bin/falco-emulator) as a separate process. For each scenario it reports end-to-end alerts/s,
// the collector's CPU-seconds per 100k alerts (utime+stime from /proc/<pid>/stat, not wall time),
// its peak RSS (VmHWM), and for the latency scenarios the alert → exported-log latency at a fixed
// rate. It also runs a bare net/http handler (the "floor") with the same HTTP generator, so the
// HTTP ratio is measured in the same run.
//
// Output: a Markdown table and the targets on stdout, and a JSON file (-out) for comparing runs.
//
//	go run ./bench -collector dist/otelcol-falco -emulator bin/falco-emulator -out bench/results.json
//	go run ./bench -quick -scenarios grpc-100pods,http-single-1c     # a fast check of two scenarios
//	go run ./bench -runs 3 -wait-load 1.5                        # medians of 3 on a quiet machine
//	go run ./bench -scenarios grpc-100pods -profile /tmp/prof        # CPU and heap profiles per run
package main

import (
	"cmp"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/otelcol-falco/otelcol-falco/internal/testbed"
)

type options struct {
	collector, emulator, out, agentConfig string
	scenarios                             string
	runs, heavyRuns                       int
	update                                bool
	quick                                 bool

	grpcCount, httpCount, ndjsonCount, latencyCount uint64
	ndjsonBatch, ndjsonConns                        int
	pods, seriesPods, guardRules, ruleCount         int
	seriesMax, guardMax                             int
	latencyRate                                     float64

	gogc, gomemlimit string
	extraEnv         envFlag
	compression      string
	metricsInterval  time.Duration
	timeout          time.Duration
	profileDir       string
	profileSeconds   int
	heapAt           float64
	featureGates     listFlag
	waitLoad         float64
	waitLoadMax      time.Duration
	verbose          bool
	floorServe       string
}

func parseFlags() *options {
	o := &options{}
	flag.StringVar(&o.collector, "collector", "dist/otelcol-falco", "the collector binary")
	flag.StringVar(&o.emulator, "emulator", "bin/falco-emulator", "the Falco emulator binary")
	flag.StringVar(&o.out, "out", "bench/results.json", "write the results as JSON here (empty: don't)")
	flag.BoolVar(&o.update, "update", false, "keep the other scenarios' results already in -out, replacing only those run now")
	flag.StringVar(&o.agentConfig, "config", "config/agent.yaml", "the agent config the scenarios run (the bench overlay is added)")
	flag.StringVar(&o.scenarios, "scenarios", "", "comma-separated scenario names or name prefixes (default: all; -list shows them)")
	flag.IntVar(&o.runs, "runs", 1, "runs of each throughput scenario; the table shows medians")
	flag.IntVar(&o.heavyRuns, "heavy-runs", 1, "runs of the 100k-series and guard scenarios (at most -runs; they take minutes each)")
	flag.BoolVar(&o.quick, "quick", false, "a tenth of the default counts, for checking the harness")
	flag.Uint64Var(&o.grpcCount, "grpc-count", 1_000_000, "alerts per gRPC scenario")
	flag.Uint64Var(&o.httpCount, "http-count", 200_000, "alerts (POSTs) per single-alert HTTP scenario and floor")
	flag.Uint64Var(&o.ndjsonCount, "ndjson-count", 1_000_000, "alerts per NDJSON scenario")
	flag.Uint64Var(&o.latencyCount, "latency-count", 10_000, "alerts per latency scenario")
	flag.Float64Var(&o.latencyRate, "latency-rate", 1000, "alerts/s of the latency scenarios")
	flag.IntVar(&o.ndjsonBatch, "ndjson-batch", 1000, "alerts per NDJSON POST")
	flag.IntVar(&o.ndjsonConns, "ndjson-connections", 2, "connections of the NDJSON sender")
	flag.IntVar(&o.pods, "pods", 100, "pods of the 700-series scenarios (pods x rule-count series)")
	flag.IntVar(&o.ruleCount, "rule-count", 7, "rules the emulator fires")
	flag.IntVar(&o.seriesPods, "series-pods", 6_500, "pods of the 100k-series scenario (6500 pods x 7 rules give ~100.5k series in 1M alerts: rules fire with several evt.types, some on the host)")
	flag.IntVar(&o.seriesMax, "series-max", 110_000, "metrics.max_series of the 100k-series scenario")
	flag.IntVar(&o.guardRules, "guard-rules", 14, "rules of the cardinality-guard scenario: over the 100k-series scenario's pods, twice its rules offer ~2x the series, with the same workloads in the logs")
	flag.IntVar(&o.guardMax, "guard-max", 100_000, "metrics.max_series of the cardinality-guard scenario")
	flag.StringVar(&o.gogc, "gogc", "200", "GOGC of the collector process, as deploy/ sets it (empty: Go's default, 100)")
	flag.StringVar(&o.gomemlimit, "gomemlimit", "200MiB", "GOMEMLIMIT of the collector process, as deploy/ sets it (empty: none)")
	flag.Var(&o.extraEnv, "env", "extra KEY=VALUE for the collector's (and the floor's) environment, e.g. GODEBUG=gctrace=1 (repeatable)")
	flag.StringVar(&o.compression, "compression", "none", "compression of the OTLP exporter to the sink: none, zstd or gzip")
	flag.DurationVar(&o.metricsInterval, "metrics-interval", 10*time.Second, "the falco receiver's metrics.collection_interval (the shipped default is 10s)")
	flag.DurationVar(&o.timeout, "timeout", 5*time.Minute, "give up on a scenario run after this long")
	flag.StringVar(&o.profileDir, "profile", "", "save a CPU profile (from the first record at the sink) and a heap profile (half-way) of each collector run here")
	flag.IntVar(&o.profileSeconds, "profile-seconds", 5, "length of the CPU profiles")
	flag.Var(&o.featureGates, "feature-gates", "a collector feature gate to enable, e.g. pdata.useProtoPooling (repeatable)")
	flag.Float64Var(&o.heapAt, "heap-at", 0.5, "take the heap profile when this share of the alerts reached the sink")
	flag.Float64Var(&o.waitLoad, "wait-load", 0, "before each run, wait until the 1-minute load average is below this (0: don't)")
	flag.DurationVar(&o.waitLoadMax, "wait-load-max", 10*time.Minute, "wait at most this long for -wait-load per run")
	flag.BoolVar(&o.verbose, "v", false, "log progress")
	list := flag.Bool("list", false, "list the scenarios and exit")
	flag.StringVar(&o.floorServe, "floor-serve", "", "internal: serve the net/http floor on this address")
	flag.Parse()
	if *list {
		for _, sc := range scenarioSet(o) {
			fmt.Printf("%-20s %s\n", sc.Name, sc.Description)
		}
		os.Exit(0)
	}
	if o.quick {
		o.grpcCount /= 10
		o.httpCount /= 10
		o.ndjsonCount /= 10
		o.latencyCount /= 5
	}
	return o
}

type envFlag []string

func (e *envFlag) String() string { return strings.Join(*e, ",") }
func (e *envFlag) Set(s string) error {
	if !strings.Contains(s, "=") {
		return fmt.Errorf("want KEY=VALUE, got %q", s)
	}
	*e = append(*e, s)
	return nil
}

// listFlag collects a repeatable flag's values.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }
func (l *listFlag) Set(s string) error {
	*l = append(*l, s)
	return nil
}

// scenario is one measured configuration.
type scenario struct {
	Name          string
	Description   string
	Kind          string // grpc, http, floor
	Mode          string // single, ndjson (http and floor)
	Count         uint64
	Rate          float64 // 0: as fast as it goes
	Connections   int
	Batch         int
	Pods          int
	Rules         int // 0: -rule-count
	MaxSeries     int // 0: the config's
	Latency       bool
	FlushInterval time.Duration
	// ShippedQueue runs the agent's own logs exporter queue (its storage extension on disk, its
	// batching and compression) in front of the sink instead of the bench's in-memory queue.
	ShippedQueue bool
}

func scenarioSet(o *options) []scenario {
	lat := o.latencyRate
	return []scenario{
		{Name: "grpc-100pods", Kind: "grpc", Count: o.grpcCount, Pods: o.pods,
			Description: fmt.Sprintf("gRPC output, %d pods x %d rules, as fast as it goes", o.pods, o.ruleCount)},
		{Name: "grpc-100pods-disk", Kind: "grpc", Count: o.grpcCount, Pods: o.pods, ShippedQueue: true,
			Description: "as grpc-100pods, through the shipped exporter's disk queue (pebble_storage) and compression"},
		{Name: "grpc-100k-series", Kind: "grpc", Count: o.grpcCount, Pods: o.seriesPods, MaxSeries: o.seriesMax,
			Description: fmt.Sprintf("gRPC output, %d pods x %d rules (~100k series), max_series %d", o.seriesPods, o.ruleCount, o.seriesMax)},
		{Name: "grpc-guard", Kind: "grpc", Count: o.grpcCount, Pods: o.seriesPods, Rules: o.guardRules, MaxSeries: o.guardMax,
			Description: fmt.Sprintf("gRPC output, %d pods x %d rules (~2x the 100k-series scenario's series) against max_series %d: memory stays flat", o.seriesPods, o.guardRules, o.guardMax)},
		{Name: "http-single-1c", Kind: "http", Mode: "single", Count: o.httpCount, Connections: 1, Pods: o.pods,
			Description: "http_output: one alert per POST, one keep-alive connection (as Falco)"},
		{Name: "http-single-1c-disk", Kind: "http", Mode: "single", Count: o.httpCount, Connections: 1, Pods: o.pods, ShippedQueue: true,
			Description: "as http-single-1c, through the shipped exporter's disk queue (pebble_storage) and compression"},
		{Name: "http-single-4c", Kind: "http", Mode: "single", Count: o.httpCount, Connections: 4, Pods: o.pods,
			Description: "one alert per POST, 4 connections"},
		{Name: "floor-1c", Kind: "floor", Mode: "single", Count: o.httpCount, Connections: 1, Pods: o.pods,
			Description: "bare net/http handler (read body, 200), same generator, 1 connection"},
		{Name: "floor-4c", Kind: "floor", Mode: "single", Count: o.httpCount, Connections: 4, Pods: o.pods,
			Description: "bare net/http handler, 4 connections"},
		{Name: "http-ndjson", Kind: "http", Mode: "ndjson", Count: o.ndjsonCount, Connections: o.ndjsonConns, Batch: o.ndjsonBatch, Pods: o.pods,
			Description: fmt.Sprintf("NDJSON batches of %d alerts, %d connections", o.ndjsonBatch, o.ndjsonConns)},
		{Name: "http-ndjson-4c-disk", Kind: "http", Mode: "ndjson", Count: o.ndjsonCount, Connections: 4, Batch: o.ndjsonBatch, Pods: o.pods, ShippedQueue: true,
			Description: fmt.Sprintf("NDJSON batches of %d alerts, 4 connections, through the shipped disk queue", o.ndjsonBatch)},
		{Name: "latency-grpc", Kind: "grpc", Count: o.latencyCount, Rate: lat, Pods: o.pods, Latency: true,
			Description: fmt.Sprintf("gRPC at a fixed %.0f alerts/s: alert time -> log record at the sink", lat)},
		{Name: "latency-http-single", Kind: "http", Mode: "single", Count: o.latencyCount, Rate: lat, Connections: 1, Pods: o.pods, Latency: true,
			Description: fmt.Sprintf("one alert per POST at a fixed %.0f alerts/s", lat)},
		{Name: "latency-http-ndjson", Kind: "http", Mode: "ndjson", Count: o.latencyCount, Rate: lat, Connections: 1, Batch: 100, Pods: o.pods, Latency: true,
			FlushInterval: 10 * time.Millisecond,
			Description:   fmt.Sprintf("NDJSON at a fixed %.0f alerts/s (sender flushes every 10ms)", lat)},
	}
}

func selectScenarios(all []scenario, spec string) ([]scenario, error) {
	if strings.TrimSpace(spec) == "" {
		return all, nil
	}
	var out []scenario
	for _, want := range strings.Split(spec, ",") {
		want = strings.TrimSpace(want)
		// A whole name picks that scenario alone; otherwise every scenario the prefix starts.
		exact := slices.ContainsFunc(all, func(s scenario) bool { return s.Name == want })
		found := false
		for _, sc := range all {
			if sc.Name != want && (exact || !strings.HasPrefix(sc.Name, want)) {
				continue
			}
			found = true
			if !slices.ContainsFunc(out, func(s scenario) bool { return s.Name == sc.Name }) {
				out = append(out, sc)
			}
		}
		if !found && want != "" {
			return nil, fmt.Errorf("no scenario matches %q (see -list)", want)
		}
	}
	return out, nil
}

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

type bench struct {
	o       *options
	root    string
	agent   string
	overlay string // overlay text (written per run)
	shipped string // the overlay added for ShippedQueue scenarios
	env     map[string]string
}

func main() {
	log.SetFlags(log.Ltime)
	o := parseFlags()
	if o.floorServe != "" {
		os.Exit(serveFloor(o.floorServe))
	}
	os.Exit(run(o))
}

func run(o *options) int {
	started := time.Now()
	b := &bench{o: o, root: testbed.RepoRoot()}
	for _, p := range []*string{&o.collector, &o.emulator, &o.agentConfig} {
		if !filepath.IsAbs(*p) {
			*p = filepath.Join(b.root, *p)
		}
		if _, err := os.Stat(*p); err != nil {
			log.Printf("bench: %v (make build emulator)", err)
			return 2
		}
	}
	if o.out != "" && !filepath.IsAbs(o.out) {
		o.out = filepath.Join(b.root, o.out)
	}
	b.agent = o.agentConfig
	var err error
	doc, err := readAgentDoc(b.agent)
	if err == nil {
		b.overlay = buildOverlay(doc, o.compression)
		b.shipped, err = buildShippedQueueOverlay(doc, b.agent)
	}
	if err != nil {
		log.Printf("bench: %v", err)
		return 2
	}
	b.env = map[string]string{}
	if o.gogc != "" {
		b.env["GOGC"] = o.gogc
	}
	if o.gomemlimit != "" {
		b.env["GOMEMLIMIT"] = o.gomemlimit
	}
	for _, kv := range o.extraEnv {
		k, v, _ := strings.Cut(kv, "=")
		b.env[k] = v
	}
	if o.profileDir != "" {
		if err := os.MkdirAll(o.profileDir, 0o755); err != nil {
			log.Printf("bench: %v", err)
			return 2
		}
	}
	scs, err := selectScenarios(scenarioSet(o), o.scenarios)
	if err != nil {
		log.Printf("bench: %v", err)
		return 2
	}
	rep := Report{
		Time: started.UTC(), Machine: describeMachine(b.root), Command: strings.Join(os.Args, " "),
		Collector: b.env, Config: []string{rel(b.root, b.agent), "bench overlay (bench/main.go, buildOverlay; text in overlay)"}, Overlay: b.overlay,
		Runs: o.runs, HeavyRuns: max(1, min(o.runs, o.heavyRuns)), Load1Start: loadAvg1(),
	}
	if rep.Collector == nil {
		rep.Collector = map[string]string{}
	}
	m := rep.Machine
	log.Printf("bench: %d scenario(s), %d run(s) each; %s, %d CPUs, %.1f GiB; load %.2f",
		len(scs), o.runs, m.CPUModel, m.CPUs, m.MemoryGiB, rep.Load1Start)

	for _, sc := range scs {
		runs := o.runs
		if sc.Latency {
			runs = 1
		}
		if sc.MaxSeries > 0 {
			runs = max(1, min(runs, o.heavyRuns))
		}
		var rs []Result
		for i := range runs {
			b.waitForQuiet()
			r := b.runScenario(sc, i)
			rs = append(rs, r)
			log.Printf("%-20s run %d: %s", sc.Name, i+1, r.short())
		}
		rep.Results = append(rep.Results, aggregate(rs))
	}
	rep.Load1End = loadAvg1()
	if o.update && o.out != "" {
		rep.Results = mergeResults(o.out, rep.Results)
	}
	rep.Targets = evaluateTargets(rep.Results)
	rep.Seconds = time.Since(started).Seconds()

	printTable(os.Stdout, &rep)
	if o.out != "" {
		buf, _ := json.MarshalIndent(rep, "", "  ")
		if err := os.WriteFile(o.out, append(buf, '\n'), 0o644); err != nil {
			log.Printf("bench: %v", err)
			return 1
		}
		log.Printf("bench: wrote %s", o.out)
	}
	for _, r := range rep.Results {
		if r.Error != "" {
			return 1
		}
	}
	return 0
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

func rel(root, p string) string {
	if r, err := filepath.Rel(root, p); err == nil {
		return r
	}
	return p
}

func (b *bench) waitForQuiet() {
	if b.o.waitLoad <= 0 {
		return
	}
	deadline := time.Now().Add(b.o.waitLoadMax)
	for l := loadAvg1(); l >= b.o.waitLoad; l = loadAvg1() {
		if time.Now().After(deadline) {
			log.Printf("bench: load %.2f still above %.2f after %v; running anyway", l, b.o.waitLoad, b.o.waitLoadMax)
			return
		}
		log.Printf("bench: load %.2f >= %.2f; waiting", l, b.o.waitLoad)
		time.Sleep(15 * time.Second)
	}
}

// runScenario runs one scenario once; a failure is recorded in the result, not fatal to the bench.
func (b *bench) runScenario(sc scenario, runIdx int) (r Result) {
	tb := &runTB{name: sc.Name, verbose: b.o.verbose}
	r = Result{
		Scenario: sc.Name, Description: sc.Description, Kind: sc.Kind, Mode: sc.Mode, Alerts: sc.Count, Rate: sc.Rate,
		Connections: sc.Connections, Batch: sc.Batch, Pods: sc.Pods, MaxSeries: sc.MaxSeries, Load1Start: loadAvg1(),
	}
	defer func() {
		if p := recover(); p != nil {
			fe, ok := p.(fatalError)
			if !ok {
				panic(p)
			}
			r.Error = fe.msg
			log.Printf("%s: FAILED: %s", sc.Name, fe.msg)
		}
		tb.finish()
		r.Load1End = loadAvg1()
	}()
	if sc.Kind == "floor" {
		b.runFloor(tb, sc, &r)
	} else {
		b.runCollector(tb, sc, runIdx, &r)
	}
	return r
}

// emulatorArgs are the load generator's flags for a scenario.
func (b *bench) emulatorArgs(sc scenario, summary string) []string {
	args := []string{
		"-count", strconv.FormatUint(sc.Count, 10),
		"-pods", strconv.Itoa(sc.Pods),
		"-rule-count", strconv.Itoa(cmp.Or(sc.Rules, b.o.ruleCount)),
		"-seed", "1",
		"-hostname", "bench-node",
		"-progress", "0",
		"-summary", summary,
	}
	if sc.Rate > 0 {
		args = append(args, "-rate", strconv.FormatFloat(sc.Rate, 'f', -1, 64))
	}
	return args
}

func (b *bench) httpArgs(sc scenario, url string) []string {
	args := []string{"-http-url", url, "-http-mode", sc.Mode, "-connections", strconv.Itoa(max(sc.Connections, 1))}
	if sc.Batch > 0 {
		args = append(args, "-batch", strconv.Itoa(sc.Batch))
	}
	if sc.FlushInterval > 0 {
		args = append(args, "-flush-interval", sc.FlushInterval.String())
	}
	return args
}

// runCollector runs the collector with the agent config and the bench overlay under one scenario.
func (b *bench) runCollector(tb *runTB, sc scenario, runIdx int, r *Result) {
	dir := tb.TempDir()
	sink := testbed.StartSink(tb, false)
	overlay := filepath.Join(dir, "bench.yaml")
	if err := os.WriteFile(overlay, []byte(b.overlay), 0o600); err != nil {
		tb.Fatalf("overlay: %v", err)
	}
	configs := []string{b.agent, overlay}
	if sc.ShippedQueue {
		shipped := filepath.Join(dir, "shipped-queue.yaml")
		if err := os.WriteFile(shipped, []byte(b.shipped), 0o600); err != nil {
			tb.Fatalf("overlay: %v", err)
		}
		configs = append(configs, shipped)
	}
	if sc.MaxSeries > 0 {
		configs = append(configs, fmt.Sprintf("yaml:receivers::falco::metrics::max_series: %d", sc.MaxSeries))
	}
	sock := filepath.Join(dir, "falco.sock")
	httpAddr := testbed.FreeAddr(tb)
	promAddr := testbed.FreeAddr(tb)
	pprofAddr := testbed.FreeAddr(tb)
	falcoMetrics := testbed.FreeAddr(tb)
	env := map[string]string{
		"FALCO_GRPC_ENDPOINT":    "unix://" + sock,
		"FALCO_HTTP_ENDPOINT":    httpAddr,
		"FALCO_METRICS_TARGET":   falcoMetrics,
		"FALCO_METRICS_INTERVAL": b.o.metricsInterval.String(),
		"PROMETHEUS_ENDPOINT":    promAddr,
		"K8S_NODE_NAME":          "bench-node",
		"FILE_STORAGE_DIR":       filepath.Join(dir, "storage"),
		"GATEWAY_OTLP_ENDPOINT":  "127.0.0.1:1", // defined in agent.yaml, replaced by the sink here
		"SINK_ENDPOINT":          sink.Endpoint(),
		"PPROF_ENDPOINT":         pprofAddr,
	}
	// gRPC is opt-in in agent.yaml (Falco >= 0.44 has no gRPC output): on for the gRPC scenarios only.
	env["FALCO_GRPC_ENABLED"] = strconv.FormatBool(sc.Kind == "grpc")
	for k, v := range b.env {
		env[k] = v
	}
	col := testbed.StartCollector(tb, testbed.CollectorOptions{
		Binary: b.o.collector, Configs: configs, Env: env, FeatureGates: b.o.featureGates,
	})
	pid := col.PID()
	if b.o.profileDir != "" { // the collector's log, also when the run fails
		logPath := filepath.Join(b.o.profileDir, fmt.Sprintf("%s-%d.collector.log", sc.Name, runIdx+1))
		tb.Cleanup(func() { _ = os.WriteFile(logPath, []byte(col.Output()), 0o644) })
	}
	telemetry := "http://" + col.Env["TELEMETRY_HOST"] + ":" + col.Env["TELEMETRY_PORT"] + "/metrics"
	time.Sleep(500 * time.Millisecond) // let start-up work settle before the baseline

	summary := filepath.Join(dir, "summary.json")
	args := append(b.emulatorArgs(sc, summary), "-metrics-addr", falcoMetrics, "-linger")
	if sc.Kind == "grpc" {
		args = append(args, "-grpc", "unix://"+sock)
	} else { // an HTTP-only agent, as for Falco >= 0.44 (the env switch is read before start)
		args = append(args, b.httpArgs(sc, "http://"+httpAddr+"/")...)
	}
	cpu0 := mustCPU(tb, pid)
	emu := testbed.StartProcess(tb, nil, b.o.emulator, args...)

	var profiles []string
	midHeap, cpuProf := false, false
	var mem testbed.MemorySampler
	profDone := make(chan struct{})
	close(profDone)
	deadline := time.Now().Add(b.o.timeout)
	want := int64(sc.Count)
	for sink.Count() < want {
		if time.Now().After(deadline) {
			tb.Fatalf("only %d of %d log records reached the sink within %v\nemulator: %s\ncollector: %s",
				sink.Count(), want, b.o.timeout, tail(emu.Output(), 2000), tail(col.Output(), 4000))
		}
		if col.Exited() {
			tb.Fatalf("the collector exited:\n%s", tail(col.Output(), 4000))
		}
		if emu.Exited() {
			tb.Fatalf("the emulator exited early (%v):\n%s", emu.Err(), tail(emu.Output(), 2000))
		}
		if b.o.profileDir != "" && !midHeap && float64(sink.Count()) >= b.o.heapAt*float64(want) {
			// By default the heap in the middle of the load, when the pipeline holds the most.
			midHeap = true
			p := filepath.Join(b.o.profileDir, fmt.Sprintf("%s-%d.heap.pprof", sc.Name, runIdx+1))
			go fetchTo("http://"+pprofAddr+"/debug/pprof/heap", p)
			profiles = append(profiles, p)
		}
		if b.o.profileDir != "" && !cpuProf && sink.Count() > 0 {
			cpuProf = true
			p := filepath.Join(b.o.profileDir, fmt.Sprintf("%s-%d.cpu.pprof", sc.Name, runIdx+1))
			profiles = append(profiles, p)
			profDone = make(chan struct{})
			go func() {
				defer close(profDone)
				fetchTo(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", pprofAddr, b.o.profileSeconds), p)
			}()
		}
		mem.Sample(pid)
		time.Sleep(5 * time.Millisecond)
	}
	cpuLogs := mustCPU(tb, pid)
	if emuCPU, err := procCPU(emu.PID()); err == nil {
		r.LoadCPUPer100k = emuCPU.Seconds() / float64(want) * 1e5
	}
	r.PeakRSSPreScrapeMiB = peakRSSMiB(pid)
	r.Delivered = sink.Count()
	first, last := sink.FirstArrival(), sink.LastArrival()
	r.Seconds = last.Sub(first).Seconds()
	if r.Seconds > 0 {
		r.AlertsPerSec = float64(r.Delivered-sink.FirstBatch()) / r.Seconds
	}
	r.CPULogsPer100k = (cpuLogs - cpu0).Seconds() / float64(want) * 1e5

	if sc.Latency {
		// Steady state: alerts raised after the first record reached the sink. Before it the
		// collector may still be connecting (a gRPC client redials with backoff), and the alerts
		// Falco queued meanwhile would measure the start-up, not the pipeline.
		lat := sink.Latencies(first)
		if len(lat) < 100 { // a run too short to have a steady state: take every record
			lat = sink.Latencies(time.Time{})
			r.LatencyWithStartup = true
		}
		r.LatencySamples = len(lat)
		r.LatencyP50ms = percentileMs(lat, 0.50)
		r.LatencyP99ms = percentileMs(lat, 0.99)
		r.LatencyMaxms = percentileMs(lat, 1)
		r.CPUSeconds = (cpuLogs - cpu0).Seconds()
		r.CPUPer100k = r.CPULogsPer100k
		r.PeakRSSMiB = r.PeakRSSPreScrapeMiB
	} else {
		// Metrics: wait for an emission of falco.events that carries every alert, so the CPU
		// figure covers logs and metrics; the Prometheus exporter is scraped once after it.
		promURL := "http://" + promAddr + "/metrics"
		emitted := false
		for range 3 {
			before := acceptedPoints(telemetry)
			if !testbed.WaitFor(b.o.metricsInterval+10*time.Second, func() bool { return acceptedPoints(telemetry) > before }) {
				tb.Fatalf("no falco.events emission within %v", b.o.metricsInterval+10*time.Second)
			}
			// An emission comes in chunks of a few thousand points: it is complete once the
			// count stops moving.
			for last := acceptedPoints(telemetry); ; {
				time.Sleep(300 * time.Millisecond)
				now := acceptedPoints(telemetry)
				if now == last {
					break
				}
				last = now
			}
			cpuMetrics := mustCPU(tb, pid)
			var sum float64
			var series int
			var err error
			for range 3 { // a scrape of 100k series can time out under load
				if sum, series, err = testbed.ScrapeSeries(promURL, "falco_events_total"); err == nil {
					break
				}
			}
			if err != nil {
				tb.Fatalf("scraping the Prometheus exporter: %v", err)
			}
			cpuScrape := mustCPU(tb, pid)
			r.EventsTotal, r.Series = sum, series
			r.CPUSeconds = (cpuMetrics - cpu0).Seconds()
			r.ScrapeCPUms = float64((cpuScrape - cpuMetrics).Milliseconds())
			if sum >= float64(want) {
				emitted = true
				break
			}
		}
		if !emitted {
			tb.Fatalf("falco_events_total is %v after 3 emissions, want %d", r.EventsTotal, want)
		}
		r.CPUPer100k = r.CPUSeconds / float64(want) * 1e5
		r.PeakRSSMiB = peakRSSMiB(pid)
	}
	mem.Sample(pid)
	anon, file := mem.Peaks()
	r.PeakRSSAnonMiB, r.PeakRSSFileMiB = mib(anon), mib(file)
	<-profDone
	r.Profiles = profiles

	emu.Stop(10 * time.Second)
	if s, ok := tryReadSummary(summary); ok && s.HTTP != nil {
		r.SenderFailed, r.SenderRetries, r.SenderStatus = s.HTTP.Failed, s.HTTP.Retries, s.HTTP.Status
	}
	if r.Delivered != want {
		tb.Fatalf("the sink got %d log records, want %d (duplicates or extra records)", r.Delivered, want)
	}
}

func mustCPU(tb *runTB, pid int) time.Duration {
	d, err := procCPU(pid)
	if err != nil {
		tb.Fatalf("cpu of %d: %v", pid, err)
	}
	return d
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

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}

func fetchTo(url, path string) {
	resp, err := http.Get(url)
	if err != nil {
		log.Printf("profile %s: %v", url, err)
		return
	}
	defer resp.Body.Close()
	f, err := os.Create(path)
	if err != nil {
		log.Printf("profile: %v", err)
		return
	}
	defer f.Close()
	_, _ = io.Copy(f, resp.Body)
}

// acceptedPoints is the metric points the falco receiver handed to its metrics pipeline so far.
func acceptedPoints(url string) float64 {
	var sum float64
	for _, name := range []string{"otelcol_receiver_accepted_metric_points", "otelcol_receiver_accepted_metric_points_total"} {
		v, _ := testbed.ScrapeSum(url, name, `receiver="falco"`)
		sum += v
	}
	return sum
}

// emulatorSummary is the part of the emulator's -summary file the bench reads.
type emulatorSummary struct {
	ElapsedSeconds float64 `json:"elapsed_seconds"`
	HTTP           *struct {
		Acked   uint64            `json:"acked"`
		Failed  uint64            `json:"failed"`
		Retries uint64            `json:"retries"`
		Status  map[string]uint64 `json:"status"`
	} `json:"http"`
}

func tryReadSummary(path string) (emulatorSummary, bool) {
	var s emulatorSummary
	b, err := os.ReadFile(path)
	if err != nil || json.Unmarshal(b, &s) != nil {
		return s, false
	}
	return s, true
}

func readSummary(tb *runTB, path string, emu *testbed.Process) emulatorSummary {
	s, ok := tryReadSummary(path)
	if !ok || s.HTTP == nil {
		tb.Fatalf("no emulator summary (%v):\n%s", emu.Err(), tail(emu.Output(), 2000))
	}
	return s
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

// buildShippedQueueOverlay copies the sending_queue, compression and retry settings of the
// agent's logs exporter onto the bench's sink exporter, so a scenario pays for the disk queue.
func buildShippedQueueOverlay(doc agentDoc, agentPath string) (string, error) {
	logs := doc.Service.Pipelines["logs"].Exporters
	if len(logs) == 0 {
		return "", fmt.Errorf("%s: no logs exporter", agentPath)
	}
	shipped := doc.Exporters[logs[0]]
	sink := map[string]any{}
	for _, k := range []string{"sending_queue", "compression", "retry_on_failure"} {
		if v, ok := shipped[k]; ok {
			sink[k] = v
		}
	}
	out, err := yaml.Marshal(map[string]any{"exporters": map[string]any{"otlp_http/benchsink": sink}})
	if err != nil {
		return "", err
	}
	return "# Written by bench/: the shipped logs exporter's queue in front of the sink.\n" + string(out), nil
}

// agentDoc is what the overlays read of the agent config: the lists they must repeat (lists are
// replaced, not merged) and the logs exporter whose queue the ShippedQueue scenarios copy.
type agentDoc struct {
	Exporters map[string]map[string]any `yaml:"exporters"`
	Service   struct {
		Extensions []string `yaml:"extensions"`
		Pipelines  map[string]struct {
			Processors []string `yaml:"processors"`
			Exporters  []string `yaml:"exporters"`
		} `yaml:"pipelines"`
	} `yaml:"service"`
}

func readAgentDoc(path string) (agentDoc, error) {
	var doc agentDoc
	raw, err := os.ReadFile(path)
	if err != nil {
		return doc, err
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return doc, fmt.Errorf("%s: %w", path, err)
	}
	return doc, nil
}

// buildOverlay writes the bench overlay for the agent config: logs go to the counting sink
// (replacing the config's logs exporters) and the pprof extension is added. When the agent's logs
// pipeline has no batch processor, the sink exporter batches in its sending queue as the shipped
// exporter does, with the latency of the old batch processor (50 ms, 2048 records).
func buildOverlay(doc agentDoc, compression string) string {
	batched := false
	for _, p := range doc.Service.Pipelines["logs"].Processors {
		if p == "batch" || strings.HasPrefix(p, "batch/") {
			batched = true
		}
	}
	exts := append(slices.Clone(doc.Service.Extensions), "pprof")
	var sb strings.Builder
	fmt.Fprintf(&sb, `# Written by bench/ for one run: logs to a counting sink, pprof on.
extensions:
  pprof:
    endpoint: ${env:PPROF_ENDPOINT}
exporters:
  otlp_http/benchsink:
    endpoint: ${env:SINK_ENDPOINT}
    compression: %s
    retry_on_failure:
      initial_interval: 100ms
      max_interval: 1s
`, compression)
	// The in-memory queue counts alerts, not requests: a request carries one alert per
	// single-alert POST, and 1000 of them (the default) would refuse a burst that the shipped
	// exporter's 512 MiB disk queue takes.
	sb.WriteString(`    sending_queue:
      sizer: items
      queue_size: 100000
`)
	if !batched {
		sb.WriteString(`      batch:
        flush_timeout: 50ms
        min_size: 2048
        max_size: 4096
`)
	}
	fmt.Fprintf(&sb, `service:
  extensions: [%s]
  pipelines:
    logs:
      exporters: [otlp_http/benchsink]
`, strings.Join(exts, ", "))
	return sb.String()
}
