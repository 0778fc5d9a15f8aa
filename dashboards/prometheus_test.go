// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package dashboards

// TestPanelQueriesOnPrometheus runs every panel target and every variable query of the dashboard
// against a real Prometheus (the Debian package's binary) loaded with synthetic series shaped like
// otelcol-falco's output, and checks the numbers of the main panels. It needs no collector: the
// series are backfilled with promtool from OpenMetrics text written here, at fixed timestamps in
// the past, so nothing depends on the clock.

import (
	"encoding/json"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

const (
	synthStart = int64(1767225600) // 2026-01-01T00:00:00Z
	synthEnd   = synthStart + 2*3600
	synthStep  = int64(30) // scrape interval
)

// synthSeries is one series of the synthetic data: its value at every scrape from its first to
// its last timestamp, as a step function of the minute.
type synthSeries struct {
	labels   string
	from, to int64             // minutes after synthStart (to inclusive)
	steps    map[int64]float64 // minute -> value from that minute on
}

func (s synthSeries) valueAt(min float64) float64 {
	var keys []int64
	for k := range s.steps {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	v := math.NaN()
	for _, k := range keys {
		if float64(k) <= min {
			v = s.steps[k]
		}
	}
	return v
}

func synthData() []synthSeries {
	ev := func(l string) string { return `falco_events_total{job="otelcol-falco",service_name="falco",` + l + `}` }
	const n1, n2 = `instance="node-1:9376",host_name="node-1"`, `instance="node-2:9376",host_name="node-2"`
	return []synthSeries{
		// A: a critical alert in a pod, new at 00:30 (1), 3 from 01:00. Range count 3.
		{labels: ev(n1 + `,falco_rule="Terminal shell in container",falco_priority="critical",falco_source="syscall",falco_tags="T1059,container,maturity_stable,mitre_execution,shell",evt_type="execve",k8s_namespace_name="prod",k8s_pod_name="web-1",container_name="web",container_id="0123456789ab"`),
			from: 30, to: 120, steps: map[int64]float64{30: 1, 60: 3}},
		// B: a warning in the same pod, 5 at 00:00, +1 every 10 minutes. Range count 12.
		{labels: ev(n1 + `,falco_rule="Read sensitive file untrusted",falco_priority="warning",falco_source="syscall",falco_tags="T1555,container,filesystem,host,maturity_stable,mitre_credential_access",evt_type="openat",k8s_namespace_name="prod",k8s_pod_name="web-1",container_name="web",container_id="0123456789ab"`),
			from: 0, to: 120, steps: map[int64]float64{0: 5, 10: 6, 20: 7, 30: 8, 40: 9, 50: 10, 60: 11, 70: 12, 80: 13, 90: 14, 100: 15, 110: 16, 120: 17}},
		// C: a host alert (no k8s labels) with two MITRE tactics, new at 01:30 with 2. Range count 2.
		{labels: ev(n2 + `,falco_rule="Launch Suspicious Network Tool on Host",falco_priority="notice",falco_source="syscall",falco_tags="T1046,host,maturity_incubating,mitre_discovery,mitre_exfiltration,network,process",evt_type="execve",container_name="host",container_id="host"`),
			from: 90, to: 120, steps: map[int64]float64{90: 2}},
		// D: a k8s_audit alert: no pod, no evt_type, no MITRE tag. 1 then 4 from 01:40. Range count 3.
		{labels: ev(n1 + `,falco_rule="Attach/Exec Pod",falco_priority="notice",falco_source="k8s_audit",falco_tags="NIST_800-53_AC-6,k8s",k8s_namespace_name="kube-system"`),
			from: 0, to: 120, steps: map[int64]float64{0: 1, 100: 4}},
		// E: the overflow series. 10 then 16 from 00:50. Range count 6.
		{labels: `falco_events_total{job="otelcol-falco",instance="node-1:9376",otel_metric_overflow="true"}`,
			from: 0, to: 120, steps: map[int64]float64{0: 10, 50: 16}},

		{labels: `up{job="otelcol-falco",instance="node-1:9376"}`, from: 0, to: 120, steps: map[int64]float64{0: 1}},
		{labels: `up{job="otelcol-falco",instance="node-2:9376"}`, from: 0, to: 120, steps: map[int64]float64{0: 1}},
		{labels: `up{job="otelcol",instance="node-1:8888"}`, from: 0, to: 120, steps: map[int64]float64{0: 1}},
		// The falco receiver's up for its scrape of Falco's /metrics, re-exported.
		{labels: `up{job="otelcol-falco",instance="node-1:9376",exported_job="falco",exported_instance="127.0.0.1:8765"}`, from: 0, to: 120, steps: map[int64]float64{0: 1}},

		// Collector telemetry, as verified on collector v0.165 (no _total suffix).
		{labels: `otelcol_receiver_accepted_log_records{job="otelcol",instance="node-1:8888",receiver="falco",transport="grpc"}`, from: 0, to: 120, steps: ramp(0, 120, 100, 10)},
		{labels: `otelcol_receiver_refused_log_records{job="otelcol",instance="node-1:8888",receiver="falco",transport="grpc"}`, from: 0, to: 120, steps: map[int64]float64{0: 0}},
		{labels: `otelcol_receiver_failed_log_records{job="otelcol",instance="node-1:8888",receiver="falco",transport="grpc"}`, from: 0, to: 120, steps: map[int64]float64{0: 0}},
		{labels: `otelcol_receiver_accepted_metric_points{job="otelcol",instance="node-1:8888",receiver="falco",transport="grpc"}`, from: 0, to: 120, steps: ramp(0, 120, 50, 5)},
		{labels: `otelcol_exporter_sent_log_records{job="otelcol",instance="node-1:8888",exporter="debug"}`, from: 0, to: 120, steps: ramp(0, 120, 100, 10)},
		{labels: `otelcol_exporter_sent_metric_points{job="otelcol",instance="node-1:8888",exporter="prometheus"}`, from: 0, to: 120, steps: ramp(0, 120, 50, 5)},
		{labels: `otelcol_exporter_in_flight_requests{job="otelcol",instance="node-1:8888",exporter="debug",data_type="logs"}`, from: 0, to: 120, steps: map[int64]float64{0: 0}},
		{labels: `otelcol_process_uptime{job="otelcol",instance="node-1:8888"}`, from: 0, to: 120, steps: ramp(0, 120, 0, 60)},
		{labels: `otelcol_process_memory_rss{job="otelcol",instance="node-1:8888"}`, from: 0, to: 120, steps: map[int64]float64{0: 8e7}},
		{labels: `otelcol_process_cpu_seconds{job="otelcol",instance="node-1:8888"}`, from: 0, to: 120, steps: ramp(0, 120, 0, 3)},
		{labels: `otelcol_falco_receiver_connected{job="otelcol",instance="node-1:8888",receiver="falco"}`, from: 0, to: 120, steps: map[int64]float64{0: 1}},
		{labels: `otelcol_falco_receiver_series{job="otelcol",instance="node-1:8888",receiver="falco"}`, from: 0, to: 120, steps: map[int64]float64{0: 4}},

		// Falco's /metrics re-exported by the collector (the collector's scrape labels).
		{labels: `falcosecurity_scap_n_evts_total{job="otelcol-falco",instance="node-1:9376",service_name="falco"}`, from: 0, to: 120, steps: ramp(0, 120, 0, 1500000)},
		{labels: `falcosecurity_scap_n_drops_total{job="otelcol-falco",instance="node-1:9376",service_name="falco"}`, from: 0, to: 120, steps: ramp(0, 120, 0, 15)},
		{labels: `falcosecurity_falco_outputs_queue_num_drops_total{job="otelcol-falco",instance="node-1:9376",service_name="falco"}`, from: 0, to: 120, steps: map[int64]float64{0: 0}},
		{labels: `falcosecurity_scap_n_drops_buffer_total{job="otelcol-falco",instance="node-1:9376",service_name="falco",dir="exit",drop="execve"}`, from: 0, to: 120, steps: ramp(0, 120, 0, 15)},
		{labels: `falcosecurity_scap_n_drops_buffer_total{job="otelcol-falco",instance="node-1:9376",service_name="falco",dir="enter",drop="execve"}`, from: 0, to: 120, steps: map[int64]float64{0: 0}},
		{labels: `falcosecurity_falco_cpu_usage_ratio{job="otelcol-falco",instance="node-1:9376",service_name="falco"}`, from: 0, to: 120, steps: map[int64]float64{0: 0.042}},
		{labels: `falcosecurity_falco_memory_rss_bytes{job="otelcol-falco",instance="node-1:9376",service_name="falco"}`, from: 0, to: 120, steps: map[int64]float64{0: 1.5e8}},
		{labels: `falcosecurity_falco_rules_matches_total{job="otelcol-falco",instance="node-1:9376",service_name="falco",rule_name="Terminal shell in container",priority="2",source="syscall",tag_T1059="true",tag_mitre_execution="true"}`,
			from: 30, to: 120, steps: map[int64]float64{30: 1, 60: 3}},
		{labels: `falcosecurity_falco_rules_matches_total{job="otelcol-falco",instance="node-1:9376",service_name="falco",rule_name="Read sensitive file untrusted",priority="4",source="syscall",tag_T1555="true"}`,
			from: 0, to: 120, steps: map[int64]float64{0: 5, 30: 11, 120: 17}},
	}
}

// ramp makes a counter growing by inc every minute from start.
func ramp(from, to int64, start, inc float64) map[int64]float64 {
	m := map[int64]float64{}
	for i := from; i <= to; i++ {
		m[i] = start + float64(i-from)*inc
	}
	return m
}

func writeOpenMetrics(t *testing.T, path string) {
	var b strings.Builder
	for _, s := range synthData() {
		for ts := synthStart + s.from*60; ts <= synthStart+s.to*60; ts += synthStep {
			fmt.Fprintf(&b, "%s %s %d\n", s.labels, strconv.FormatFloat(s.valueAt(float64(ts-synthStart)/60), 'g', -1, 64), ts)
		}
	}
	b.WriteString("# EOF\n")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

type promClient struct {
	base string
	t    *testing.T
}

type promSeries struct {
	Metric map[string]string `json:"metric"`
	Value  [2]any            `json:"value"`
	Values [][2]any          `json:"values"`
}

func (c promClient) get(path string, params url.Values) json.RawMessage {
	c.t.Helper()
	resp, err := http.Get(c.base + path + "?" + params.Encode())
	if err != nil {
		c.t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	var r struct {
		Status string          `json:"status"`
		Error  string          `json:"error"`
		Data   json.RawMessage `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		c.t.Fatalf("GET %s: %v", path, err)
	}
	if r.Status != "success" {
		c.t.Errorf("GET %s %v: %s", path, params, r.Error)
		return nil
	}
	return r.Data
}

func (c promClient) query(q PanelQuery) []promSeries {
	c.t.Helper()
	p := url.Values{"query": {q.Expr}}
	path := "/api/v1/query"
	if q.Instant {
		p.Set("time", strconv.FormatInt(synthEnd, 10))
	} else {
		path = "/api/v1/query_range"
		p.Set("start", strconv.FormatInt(synthStart+60, 10))
		p.Set("end", strconv.FormatInt(synthEnd, 10))
		p.Set("step", "60")
	}
	data := c.get(path, p)
	if data == nil {
		c.t.Errorf("panel %d %q target %s failed:\n%s", q.PanelID, q.PanelTitle, q.RefID, q.Expr)
		return nil
	}
	var d struct {
		Result []promSeries `json:"result"`
	}
	if err := json.Unmarshal(data, &d); err != nil {
		c.t.Fatal(err)
	}
	return d.Result
}

func startPrometheus(t *testing.T) promClient {
	t.Helper()
	prom, err := exec.LookPath("prometheus")
	if err != nil {
		t.Skip("prometheus not found in PATH; install it (Debian: apt-get install -y prometheus) to run the panel queries")
	}
	tool := promtool(t)
	dir := t.TempDir()
	om := filepath.Join(dir, "data.om")
	writeOpenMetrics(t, om)
	data := filepath.Join(dir, "data")
	if out, err := exec.Command(tool, "tsdb", "create-blocks-from", "openmetrics", om, data).CombinedOutput(); err != nil {
		t.Fatalf("promtool tsdb create-blocks-from: %v\n%s", err, out)
	}
	cfg := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfg, []byte("scrape_configs: []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	logf, err := os.Create(filepath.Join(dir, "prometheus.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(prom, "--config.file="+cfg, "--storage.tsdb.path="+data,
		"--storage.tsdb.retention.time=100y", "--web.listen-address="+addr)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		logf.Close()
	})
	base := "http://" + addr
	for i := 0; ; i++ {
		select {
		case err := <-exited:
			exited <- err
			log, _ := os.ReadFile(logf.Name())
			t.Fatalf("prometheus exited: %v\n%s", err, log)
		default:
		}
		resp, err := http.Get(base + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if i == 600 {
			t.Fatal("prometheus did not become ready")
		}
		time.Sleep(100 * time.Millisecond)
	}
	return promClient{base: base, t: t}
}

func value(s promSeries) float64 {
	str, _ := s.Value[1].(string)
	v, _ := strconv.ParseFloat(str, 64)
	return v
}

func byLabel(ss []promSeries, label string) map[string]float64 {
	m := map[string]float64{}
	for _, s := range ss {
		m[s.Metric[label]] += value(s)
	}
	return m
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-6 }

func TestPanelQueriesOnPrometheus(t *testing.T) {
	c := startPrometheus(t)
	vars := map[string]string{"__range": "2h", "__interval": "1m", "__rate_interval": "2m"}
	qs, err := PanelQueries(Dashboard(), vars)
	if err != nil {
		t.Fatal(err)
	}
	results := map[string][]promSeries{}
	for _, q := range qs {
		res := c.query(q)
		if len(res) == 0 && !q.MayBeEmpty {
			t.Errorf("panel %d %q target %s returned no series:\n%s", q.PanelID, q.PanelTitle, q.RefID, q.Expr)
		}
		results[q.PanelTitle+"/"+q.RefID] = append(results[q.PanelTitle+"/"+q.RefID], res...)
	}

	for _, key := range []string{"Alerts in range/A", "By priority/A", "MITRE ATT&CK tactics/A", "Top containers/A"} {
		for _, s := range results[key] {
			t.Logf("%s %v = %v", key, s.Metric, s.Value[1])
		}
	}

	one := func(key string) float64 {
		t.Helper()
		r := results[key]
		if len(r) != 1 {
			t.Errorf("%s: %d series, want 1", key, len(r))
			return math.NaN()
		}
		return value(r[0])
	}
	checkMap := func(key, label string, want map[string]float64) {
		t.Helper()
		got := byLabel(results[key], label)
		if len(got) != len(want) {
			t.Errorf("%s by %s = %v, want %v", key, label, got, want)
			return
		}
		for k, v := range want {
			if !near(got[k], v) {
				t.Errorf("%s by %s = %v, want %v", key, label, got, want)
				return
			}
		}
	}

	// 3 (A, new) + 12 (B) + 2 (C, new) + 3 (D) + 6 (overflow) alerts in the two hours.
	if v := one("Alerts in range/A"); v != 26 {
		t.Errorf("Alerts in range = %v, want 26", v)
	}
	if v := one("Emergency, alert, critical/A"); v != 3 {
		t.Errorf("Emergency, alert, critical = %v, want 3", v)
	}
	if v := one("Rules fired/A"); v != 4 {
		t.Errorf("Rules fired = %v, want 4", v)
	}
	if v := one("Pods with alerts/A"); v != 1 {
		t.Errorf("Pods with alerts = %v, want 1", v)
	}
	if v := one("Hosts with alerts/A"); v != 2 {
		t.Errorf("Hosts with alerts = %v, want 2", v)
	}
	checkMap("By priority/A", "falco_priority", map[string]float64{"critical": 3, "warning": 12, "notice": 5, OverflowLabel: 6})
	checkMap("Top rules/A", "falco_rule", map[string]float64{
		"Terminal shell in container": 3, "Read sensitive file untrusted": 12,
		"Launch Suspicious Network Tool on Host": 2, "Attach/Exec Pod": 3, OverflowLabel: 6,
	})
	checkMap("By namespace/A", "k8s_namespace_name", map[string]float64{"prod": 15, "kube-system": 3, "(host)": 2, OverflowLabel: 6})
	checkMap("Top pods/A", "k8s_pod_name", map[string]float64{"web-1": 15})
	checkMap("Top containers/A", "container_name", map[string]float64{"web": 15, "host": 2, "(none)": 3, OverflowLabel: 6})
	checkMap("By source/A", "falco_source", map[string]float64{"syscall": 17, "k8s_audit": 3, OverflowLabel: 6})
	checkMap("By syscall (evt.type)/A", "evt_type", map[string]float64{"execve": 5, "openat": 12, "(none)": 3, OverflowLabel: 6})
	checkMap("MITRE ATT&CK tactics/A", "mitre_tactic", map[string]float64{
		"execution": 3, "credential_access": 12, "discovery": 2, "exfiltration": 2, "(no MITRE tag)": 9,
	})
	var table float64
	for _, s := range results["Alerts by rule and pod/A"] {
		table += value(s)
	}
	if table != 26 {
		t.Errorf("Alerts by rule and pod sums to %v, want 26", table)
	}

	// The per-interval series add up to the same total: the first alert of a new series is in.
	sumRange := func(key string) map[string]float64 {
		m := map[string]float64{}
		for _, s := range results[key] {
			for _, p := range s.Values {
				str, _ := p[1].(string)
				v, _ := strconv.ParseFloat(str, 64)
				m[s.Metric["falco_priority"]+s.Metric["priority_name"]] += v
			}
		}
		return m
	}
	if got := sumRange("Alerts per second/A")[""] * 60; !near(got, 26) {
		t.Errorf("Alerts per second integrates to %v alerts, want 26", got)
	}
	if got := sumRange("Alerts by priority/A"); !near(got["critical"], 3) || !near(got["warning"], 12) || !near(got["notice"], 5) || !near(got[OverflowLabel], 6) || len(got) != 4 {
		t.Errorf("Alerts by priority per interval adds up to %v", got)
	}
	// Falco's numeric priorities: 2 is critical, 4 is warning.
	if got := sumRange("Rule matches by priority (Falco counters)/A"); !near(got["critical"], 3) || !near(got["warning"], 12) || len(got) != 2 {
		t.Errorf("Rule matches by priority adds up to %v, want critical 3, warning 12", got)
	}
	checkMap("Top rule matches (Falco counters)/A", "priority_name", map[string]float64{"critical": 3, "warning": 12})

	// Filters: a namespace, a priority subset.
	for _, tc := range []struct {
		vars map[string]string
		want float64
	}{
		{map[string]string{"k8s_namespace_name": "prod"}, 15},
		{map[string]string{"falco_priority": "(critical|notice)"}, 8},
		{map[string]string{"host_name": "node-2"}, 2},
		{map[string]string{"falco_rule": "Attach/Exec Pod"}, 3},
	} {
		for k, v := range vars {
			tc.vars[k] = v
		}
		qs, err := PanelQueries(Dashboard(), tc.vars)
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range qs {
			if q.PanelTitle == "Alerts in range" {
				if r := c.query(q); len(r) != 1 || value(r[0]) != tc.want {
					t.Errorf("Alerts in range with %v = %v, want %v", tc.vars, r, tc.want)
				}
			}
		}
	}

	// Variable queries: label_values(selector, label) must find values.
	d, _ := loadDashboard(t)
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		def := v.Definition
		inner := strings.TrimSuffix(strings.TrimPrefix(def, "label_values("), ")")
		i := strings.LastIndex(inner, ",")
		sel, label := strings.TrimSpace(inner[:i]), strings.TrimSpace(inner[i+1:])
		sel, err := Interpolate(sel, map[string]string{"job": ".*", "host_name": ".*", "k8s_namespace_name": ".*", "k8s_pod_name": ".*", "falco_priority": ".*", "falco_rule": ".*"})
		if err != nil {
			t.Fatal(err)
		}
		data := c.get("/api/v1/label/"+label+"/values", url.Values{
			"match[]": {sel}, "start": {strconv.FormatInt(synthStart, 10)}, "end": {strconv.FormatInt(synthEnd, 10)},
		})
		var vals []string
		_ = json.Unmarshal(data, &vals)
		if len(vals) == 0 {
			t.Errorf("variable %s (%s) has no values", v.Name, def)
		}
	}
}
