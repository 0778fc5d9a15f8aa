// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

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
	// CPULimited runs the process with GOMAXPROCS as the DaemonSet sets it (-agent-cpus).
	CPULimited bool
}

func scenarioSet(o *options) []scenario {
	lat := o.latencyRate
	return []scenario{
		{Name: "grpc-100pods", Kind: "grpc", Count: o.grpcCount, Pods: o.pods,
			Description: fmt.Sprintf("gRPC output, %d pods x %d rules, as fast as it goes", o.pods, o.ruleCount)},
		{Name: "grpc-100pods-disk", Kind: "grpc", Count: o.grpcCount, Pods: o.pods, ShippedQueue: true, CPULimited: true,
			Description: "as grpc-100pods, through the shipped disk spool (pebble_storage) and compression, GOMAXPROCS as the DaemonSet (-agent-cpus)"},
		{Name: "grpc-100k-series", Kind: "grpc", Count: o.grpcCount, Pods: o.seriesPods, MaxSeries: o.seriesMax,
			Description: fmt.Sprintf("gRPC output, %d pods x %d rules (~100k series), max_series %d", o.seriesPods, o.ruleCount, o.seriesMax)},
		{Name: "grpc-guard", Kind: "grpc", Count: o.grpcCount, Pods: o.seriesPods, Rules: o.guardRules, MaxSeries: o.guardMax,
			Description: fmt.Sprintf("gRPC output, %d pods x %d rules (~2x the 100k-series scenario's series) against max_series %d: memory stays flat", o.seriesPods, o.guardRules, o.guardMax)},
		{Name: "http-single-1c", Kind: "http", Mode: "single", Count: o.httpCount, Connections: 1, Pods: o.pods,
			Description: "http_output: one alert per POST, one keep-alive connection (as Falco)"},
		{Name: "http-single-1c-disk", Kind: "http", Mode: "single", Count: o.httpCount, Connections: 1, Pods: o.pods, ShippedQueue: true, CPULimited: true,
			Description: "as http-single-1c, through the shipped disk spool (pebble_storage) and compression, GOMAXPROCS as the DaemonSet (-agent-cpus)"},
		{Name: "http-single-4c", Kind: "http", Mode: "single", Count: o.httpCount, Connections: 4, Pods: o.pods,
			Description: "one alert per POST, 4 connections"},
		{Name: "floor-1c", Kind: "floor", Mode: "single", Count: o.httpCount, Connections: 1, Pods: o.pods,
			Description: "bare net/http handler (read body, 200), same generator, 1 connection"},
		{Name: "floor-1c-1cpu", Kind: "floor", Mode: "single", Count: o.httpCount, Connections: 1, Pods: o.pods, CPULimited: true,
			Description: "as floor-1c, with GOMAXPROCS as the DaemonSet's agent (-agent-cpus): the floor of the -disk scenarios"},
		{Name: "floor-4c", Kind: "floor", Mode: "single", Count: o.httpCount, Connections: 4, Pods: o.pods,
			Description: "bare net/http handler, 4 connections"},
		{Name: "http-ndjson", Kind: "http", Mode: "ndjson", Count: o.ndjsonCount, Connections: o.ndjsonConns, Batch: o.ndjsonBatch, Pods: o.pods,
			Description: fmt.Sprintf("NDJSON batches of %d alerts, %d connections", o.ndjsonBatch, o.ndjsonConns)},
		{Name: "http-ndjson-4c-disk", Kind: "http", Mode: "ndjson", Count: o.ndjsonCount, Connections: 4, Batch: o.ndjsonBatch, Pods: o.pods, ShippedQueue: true, CPULimited: true,
			Description: fmt.Sprintf("NDJSON batches of %d alerts, 4 connections, through the shipped disk spool, GOMAXPROCS as the DaemonSet", o.ndjsonBatch)},
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
