// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package testbed // import "github.com/otelcol-falco/otelcol-falco/internal/testbed"

import (
	"bufio"
	"net/http"
	"strconv"
	"strings"
)

// ScrapeSum fetches a Prometheus text endpoint and sums every sample of the metric whose labels
// contain all of match (each "name=\"value\""). It reads the exporter directly, for tests that
// need the current count without waiting for a Prometheus scrape.
func ScrapeSum(url, metric string, match ...string) (float64, error) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var sum float64
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
			return 0, err
		}
		sum += v
	}
	return sum, sc.Err()
}

func containsAll(s string, parts []string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}
