// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package falcolabelprocessor

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

const benchRecords = 10_000

// BenchmarkProcessLogs runs 10k-record batches of realistic alerts (34 attributes each). The
// garbage of copying the input for every iteration is collected outside the timed part, so the
// figures are the processor's own work, its allocations included.
func BenchmarkProcessLogs(b *testing.B) {
	cases := []struct {
		name  string
		cfg   Config
		build func(b *testing.B) plog.Logs
	}{
		{
			name:  "50_pods_interleaved",
			build: func(b *testing.B) plog.Logs { return newAlertLogs(b, "node-1", interleavedAlerts(benchRecords, 50)...) },
		},
		{
			name: "one_workload_per_resource",
			build: func(b *testing.B) plog.Logs {
				ld := plog.NewLogs()
				for pod := 0; pod < 50; pod++ {
					alerts := make([]map[string]any, benchRecords/50)
					for i := range alerts {
						alerts[i] = podAlert("ns", pod)
					}
					appendAlertResource(b, ld, "node-1", alerts...)
				}
				return ld
			},
		},
		{
			name:  "50_pods_keep_original",
			cfg:   Config{KeepOriginal: true},
			build: func(b *testing.B) plog.Logs { return newAlertLogs(b, "node-1", interleavedAlerts(benchRecords, 50)...) },
		},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			p := newTestProcessor(b, &tc.cfg)
			src := tc.build(b)
			ld := plog.NewLogs()
			b.ReportAllocs()
			defer debug.SetGCPercent(debug.SetGCPercent(-1))
			b.ResetTimer()
			var cpu time.Duration
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				src.CopyTo(ld)
				runtime.GC() // collect the copies here, not while the processor runs
				b.StartTimer()
				before := processCPUTime()
				if _, err := p.processLogs(context.Background(), ld); err != nil {
					b.Fatal(err)
				}
				cpu += processCPUTime() - before
			}
			reportPerRecord(b, cpu)
		})
	}
}

// BenchmarkProcessMetrics runs 10k falco.events series: 200 rules in each of 50 pods.
func BenchmarkProcessMetrics(b *testing.B) {
	points := make([]series, 0, benchRecords)
	for pod := 0; pod < 50; pod++ {
		attrs := eventPointAttrs(podAlert("ns", pod))
		for rule := 0; rule < benchRecords/50; rule++ {
			points = append(points, series{
				attrs: with(attrs, map[string]any{"falco.rule": fmt.Sprintf("rule %d", rule)}),
				start: start1, value: int64(rule),
			})
		}
	}
	src := newEventsMetrics(b, "node-1", tick1, points...)
	for _, keep := range []bool{false, true} {
		b.Run(fmt.Sprint("keep_original=", keep), func(b *testing.B) {
			p := newTestProcessor(b, &Config{KeepOriginal: keep})
			md := pmetric.NewMetrics()
			b.ReportAllocs()
			defer debug.SetGCPercent(debug.SetGCPercent(-1))
			b.ResetTimer()
			var cpu time.Duration
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				src.CopyTo(md)
				runtime.GC()
				b.StartTimer()
				before := processCPUTime()
				if _, err := p.processMetrics(context.Background(), md); err != nil {
					b.Fatal(err)
				}
				cpu += processCPUTime() - before
			}
			reportPerRecord(b, cpu)
		})
	}
}

// reportPerRecord reports wall and CPU time per record (or data point).
func reportPerRecord(b *testing.B, cpu time.Duration) {
	n := float64(b.N * benchRecords)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n, "ns/record")
	b.ReportMetric(float64(cpu.Nanoseconds())/n, "cpu-ns/record")
}
