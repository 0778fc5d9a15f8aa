// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package testbed // import "github.com/otelcol-falco/otelcol-falco/internal/testbed"

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// ScrapeTarget is one Prometheus scrape job.
type ScrapeTarget struct {
	Job  string
	Addr string // host:port
	Path string // defaults to /metrics
}

// Prometheus is a real Prometheus server (Debian's package) on loopback with a temporary TSDB.
type Prometheus struct {
	Addr string
}

// PrometheusBinary finds the prometheus binary, failing the test with the install hint.
func PrometheusBinary(tb TB) string {
	tb.Helper()
	for _, p := range []string{"prometheus", "/usr/bin/prometheus"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	tb.Fatalf("prometheus not found: apt-get install -y prometheus (.ci/run does)")
	return ""
}

// StartPrometheus starts Prometheus scraping targets every second, and extra rule files if given.
func StartPrometheus(tb TB, targets []ScrapeTarget, ruleFiles ...string) *Prometheus {
	tb.Helper()
	dir := tb.TempDir()
	var cfg strings.Builder
	cfg.WriteString("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n")
	if len(ruleFiles) > 0 {
		cfg.WriteString("rule_files:\n")
		for _, f := range ruleFiles {
			fmt.Fprintf(&cfg, "  - %q\n", f)
		}
	}
	cfg.WriteString("scrape_configs:\n")
	for _, t := range targets {
		path := t.Path
		if path == "" {
			path = "/metrics"
		}
		fmt.Fprintf(&cfg, "  - job_name: %q\n    metrics_path: %q\n    static_configs:\n      - targets: [%q]\n", t.Job, path, t.Addr)
	}
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg.String()), 0o600); err != nil {
		tb.Fatalf("prometheus config: %v", err)
	}
	p := &Prometheus{Addr: FreeAddr(tb)}
	proc := StartProcess(tb, nil, PrometheusBinary(tb),
		"--config.file="+cfgPath,
		"--storage.tsdb.path="+filepath.Join(dir, "tsdb"),
		"--web.listen-address="+p.Addr,
		"--web.enable-lifecycle",
	)
	if !WaitFor(30*time.Second, func() bool {
		resp, err := http.Get("http://" + p.Addr + "/-/ready")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}) {
		tb.Fatalf("prometheus not ready:\n%s", proc.Output())
	}
	return p
}

// Sample is one series of an instant query.
type Sample struct {
	Metric map[string]string
	Value  float64
}

// Query runs an instant PromQL query through the HTTP API.
func (p *Prometheus) Query(expr string) ([]Sample, error) {
	resp, err := http.Get("http://" + p.Addr + "/api/v1/query?query=" + url.QueryEscape(expr))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var body struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string `json:"resultType"`
			Result     []struct {
				Metric map[string]string `json:"metric"`
				Value  [2]any            `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, fmt.Errorf("query %q: %w", expr, err)
	}
	if body.Status != "success" {
		return nil, fmt.Errorf("query %q: %s", expr, body.Error)
	}
	if body.Data.ResultType != "vector" {
		return nil, fmt.Errorf("query %q: result type %s, want vector", expr, body.Data.ResultType)
	}
	samples := make([]Sample, 0, len(body.Data.Result))
	for _, r := range body.Data.Result {
		s, _ := r.Value[1].(string)
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fmt.Errorf("query %q: value %v: %w", expr, r.Value[1], err)
		}
		samples = append(samples, Sample{Metric: r.Metric, Value: v})
	}
	return samples, nil
}

// QueryScalar runs a query expected to return one series and returns its value (0 for none).
func (p *Prometheus) QueryScalar(expr string) (float64, error) {
	samples, err := p.Query(expr)
	if err != nil || len(samples) == 0 {
		return 0, err
	}
	if len(samples) > 1 {
		return 0, fmt.Errorf("query %q: %d series, want 1", expr, len(samples))
	}
	return samples[0].Value, nil
}

// QueryRange runs a range query through the HTTP API, as Grafana does for graph panels, and
// returns how many series it produced and their sample count.
func (p *Prometheus) QueryRange(expr string, start, end time.Time, step time.Duration) (series, samples int, err error) {
	q := url.Values{}
	q.Set("query", expr)
	q.Set("start", strconv.FormatInt(start.Unix(), 10))
	q.Set("end", strconv.FormatInt(end.Unix(), 10))
	q.Set("step", strconv.FormatFloat(step.Seconds(), 'f', -1, 64))
	resp, err := http.Get("http://" + p.Addr + "/api/v1/query_range?" + q.Encode())
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	var body struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			Result []struct {
				Values [][2]any `json:"values"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return 0, 0, fmt.Errorf("query_range %q: %w", expr, err)
	}
	if body.Status != "success" {
		return 0, 0, fmt.Errorf("query_range %q: %s", expr, body.Error)
	}
	for _, r := range body.Data.Result {
		samples += len(r.Values)
	}
	return len(body.Data.Result), samples, nil
}
