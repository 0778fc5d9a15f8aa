// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"fmt"
	"os"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

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
	overlay := map[string]any{"exporters": map[string]any{"otlp_http/benchsink": sink}}
	if spool, ok := doc.Receivers["falco"]["spool"]; ok { // the receiver's spool on disk, as shipped
		overlay["receivers"] = map[string]any{"falco": map[string]any{"spool": spool}}
	}
	out, err := yaml.Marshal(overlay)
	if err != nil {
		return "", err
	}
	return "# Written by bench/: the shipped spool and logs exporter settings in front of the sink.\n" + string(out), nil
}

// agentDoc is what the overlays read of the agent config: the lists they must repeat (lists are
// replaced, not merged) and the logs exporter whose queue the ShippedQueue scenarios copy.
type agentDoc struct {
	Receivers map[string]map[string]any `yaml:"receivers"`
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
	fmt.Fprintf(&sb, `# Written by bench/ for one run: logs to a counting sink, pprof on, the receiver's disk
# spool off (the ShippedQueue scenarios put it back).
receivers:
  falco:
    spool:
      storage: null
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
