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
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"maps"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

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
	agentCPUs        int
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
	flag.StringVar(&o.gogc, "gogc", "", "GOGC of the collector process (empty: Go's default, 100, as deploy/ runs it)")
	flag.StringVar(&o.gomemlimit, "gomemlimit", "200MiB", "GOMEMLIMIT of the collector process, as deploy/ sets it (empty: none)")
	flag.IntVar(&o.agentCPUs, "agent-cpus", 1, "GOMAXPROCS of the scenarios that run as the DaemonSet does (the -disk ones and floor-1c-1cpu): its limits.cpu, which it passes as GOMAXPROCS (0: the machine's)")
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

type bench struct {
	o       *options
	root    string
	agent   string
	overlay string            // overlay text (written per run)
	shipped string            // the overlay added for ShippedQueue scenarios
	env     map[string]string // every process's: GOGC, GOMEMLIMIT, -env
}

// envFor is the environment of a scenario's collector or floor: a CPU-limited scenario runs with
// GOMAXPROCS from -agent-cpus, as the DaemonSet sets it from its limits.cpu (unless -env sets it).
func (b *bench) envFor(sc scenario) map[string]string {
	env := maps.Clone(b.env)
	if _, set := env["GOMAXPROCS"]; sc.CPULimited && b.o.agentCPUs > 0 && !set {
		env["GOMAXPROCS"] = strconv.Itoa(b.o.agentCPUs)
	}
	return env
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

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}
