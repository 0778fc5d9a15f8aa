// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package testbed // import "github.com/otelcol-falco/otelcol-falco/internal/testbed"

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// scrapeClient bounds a scrape: 100k series under load take seconds, never a minute.
var scrapeClient = &http.Client{Timeout: 60 * time.Second}

// ScrapeSum fetches a Prometheus text endpoint and sums every sample of the metric family whose
// labels hold all of match (each `name="value"`, compared exactly: `job` is not `exported_job`).
// It reads the exporter directly, for tests that need the current count without waiting for a
// Prometheus scrape.
func ScrapeSum(url, metric string, match ...string) (float64, error) {
	sum, _, err := ScrapeSeries(url, metric, match...)
	return sum, err
}

// ScrapeSeries is ScrapeSum that also counts the samples it summed (the metric's series).
func ScrapeSeries(url, metric string, match ...string) (sum float64, series int, err error) {
	want, err := parseMatchers(match)
	if err != nil {
		return 0, 0, err
	}
	resp, err := scrapeClient.Get(url)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		return 0, 0, fmt.Errorf("parsing %s: %w", url, err)
	}
	family, ok := families[metric]
	if !ok {
		return 0, 0, nil
	}
	for _, m := range family.GetMetric() {
		if !hasLabels(m, want) {
			continue
		}
		sum += sampleValue(m)
		series++
	}
	return sum, series, nil
}

// parseMatchers reads `name="value"` pairs.
func parseMatchers(match []string) (map[string]string, error) {
	want := make(map[string]string, len(match))
	for _, m := range match {
		name, quoted, ok := strings.Cut(m, "=")
		value, err := strconv.Unquote(quoted)
		if !ok || err != nil {
			return nil, fmt.Errorf("label matcher %q: want name=\"value\"", m)
		}
		want[name] = value
	}
	return want, nil
}

func hasLabels(m *dto.Metric, want map[string]string) bool {
	found := 0
	for _, l := range m.GetLabel() {
		if v, ok := want[l.GetName()]; ok {
			if v != l.GetValue() {
				return false
			}
			found++
		}
	}
	return found == len(want)
}

func sampleValue(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.GetCounter().GetValue()
	case m.Gauge != nil:
		return m.GetGauge().GetValue()
	default:
		return m.GetUntyped().GetValue()
	}
}
