// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package testbed // import "github.com/otelcol-falco/otelcol-falco/internal/testbed"

import (
	"bufio"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// scrapeClient bounds a scrape: 100k series under load take seconds, never a minute.
var scrapeClient = &http.Client{Timeout: 60 * time.Second}

// ScrapeSum fetches a Prometheus text endpoint and sums every sample of the metric whose labels
// contain all of match (each "name=\"value\""). It reads the exporter directly, for tests that
// need the current count without waiting for a Prometheus scrape.
func ScrapeSum(url, metric string, match ...string) (float64, error) {
	sum, _, err := ScrapeSeries(url, metric, match...)
	return sum, err
}

// ScrapeSeries is ScrapeSum that also counts the samples it summed (the metric's series).
func ScrapeSeries(url, metric string, match ...string) (sum float64, series int, err error) {
	resp, err := scrapeClient.Get(url)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64*1024), 4*1024*1024)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, metric) {
			continue
		}
		rest := line[len(metric):]
		if rest == "" || (rest[0] != '{' && rest[0] != ' ') {
			continue // a longer metric name
		}
		if !containsAll(rest, match) {
			continue
		}
		fields := strings.Fields(rest[strings.LastIndexByte(rest, '}')+1:])
		if len(fields) == 0 {
			continue
		}
		v, err := strconv.ParseFloat(fields[0], 64)
		if err != nil {
			return 0, 0, err
		}
		sum += v
		series++
	}
	return sum, series, sc.Err()
}

func containsAll(s string, parts []string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}
