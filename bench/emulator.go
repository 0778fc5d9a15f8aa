// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"cmp"
	"encoding/json"
	"os"
	"strconv"

	"github.com/otelcol-falco/otelcol-falco/internal/testbed"
)

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
