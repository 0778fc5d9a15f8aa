// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"fmt"
	"io"
	"log"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/otelcol-falco/otelcol-falco/internal/testbed"
)

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
	maps.Copy(env, b.envFor(sc))
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
