// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package dashboards

import (
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// knownMetrics is every metric name a dashboard or rule expression may select, with where the name
// comes from. A name missing here is a typo until proven otherwise.
var knownMetrics = map[string]string{
	"falco_events_total": "otelcol-falco falco receiver, via the prometheus exporter (:9376)",
	"up":                 "Prometheus scrape",
	// collector v0.165 own telemetry (:8888): receiverhelper/exporterhelper documentation.md,
	// process metrics from service/internal/proctelemetry; no _total suffix, no unit suffix.
	"otelcol_receiver_accepted_log_records":         "receiverhelper",
	"otelcol_receiver_refused_log_records":          "receiverhelper",
	"otelcol_receiver_accepted_metric_points":       "receiverhelper",
	"otelcol_receiver_refused_metric_points":        "receiverhelper",
	"otelcol_exporter_sent_log_records":             "exporterhelper",
	"otelcol_exporter_send_failed_log_records":      "exporterhelper",
	"otelcol_exporter_sent_metric_points":           "exporterhelper",
	"otelcol_exporter_send_failed_metric_points":    "exporterhelper",
	"otelcol_exporter_enqueue_failed_log_records":   "exporterhelper",
	"otelcol_exporter_enqueue_failed_metric_points": "exporterhelper",
	"otelcol_exporter_queue_size":                   "exporterhelper",
	"otelcol_exporter_queue_capacity":               "exporterhelper",
	"otelcol_exporter_in_flight_requests":           "exporterhelper",
	"otelcol_process_uptime":                        "service process telemetry",
	"otelcol_process_memory_rss":                    "service process telemetry",
	"otelcol_process_cpu_seconds":                   "service process telemetry",
	"otelcol_falco_receiver_connected":              "receiver/falcoreceiver/documentation.md",
	"otelcol_falco_receiver_series":                 "receiver/falcoreceiver/documentation.md",
	"otelcol_falco_receiver_overflow_alerts":        "receiver/falcoreceiver/documentation.md",
	"otelcol_falco_receiver_reconnects":             "receiver/falcoreceiver/documentation.md",
	"otelcol_falco_receiver_spool_size":             "receiver/falcoreceiver/documentation.md",
	"otelcol_falco_receiver_spool_capacity":         "receiver/falcoreceiver/documentation.md",
	// Falco >= 0.38 webserver /metrics (userspace/falco/falco_metrics.cpp and libs
	// metrics_collector.cpp), re-exported by the collector on :9376.
	"falcosecurity_scap_n_evts_total":         "libs kernel_event_counters",
	"falcosecurity_scap_n_drops_total":        "libs kernel_event_counters",
	"falcosecurity_scap_n_drops_buffer_total": "falco_metrics.cpp {dir,drop}",
	"falcosecurity_falco_cpu_usage_ratio":     "libs resource_utilization (cpu_usage_perc / 100)",
	"falcosecurity_falco_memory_rss_bytes":    "libs resource_utilization (memory_rss_kb * 1024)",
	"falcosecurity_falco_rules_matches_total": "falco_metrics.cpp {rule_name,priority,source,tag_*}",
	// falco_metrics.cpp "outputs_queue_num_drops" (receiver/falcoreceiver/testdata/falco-0.41-metrics.prom)
	"falcosecurity_falco_outputs_queue_num_drops_total": "falco_metrics.cpp outputs_queue_num_drops",
	"job:falco_events:increase1h":                       "recording rule",
	"job:falco_events:increase1h_same_hour_avg7d":       "recording rule",
}

// knownLabels are the label names expressions may match on, group by or create.
var knownLabels = map[string]bool{
	// falco_events_total (contract) and scrape labels
	"job": true, "instance": true, "falco_rule": true, "falco_priority": true, "falco_source": true,
	"falco_tags": true, "evt_type": true, "k8s_namespace_name": true, "k8s_pod_name": true,
	"container_id": true, "container_name": true, "host_name": true, "k8s_node_name": true,
	"otel_metric_overflow": true, "service_name": true, "exported_job": true, "exported_instance": true,
	// target labels of the shipped ServiceMonitors and of annotation scraping (deploy/kubernetes)
	"service": true,
	// collector telemetry
	"receiver": true, "exporter": true, "transport": true,
	// Falco /metrics
	"rule_name": true, "priority": true, "source": true, "drop": true, "dir": true,
	// made by label_replace in the expressions themselves
	"mitre_tactic": true, "priority_name": true, "outcome": true, "kind": true, "signal": true,
	"baseline_day": true,
}

type jsonPanel struct {
	ID              int                      `json:"id"`
	Type            string                   `json:"type"`
	Title           string                   `json:"title"`
	Description     string                   `json:"description"`
	Datasource      map[string]string        `json:"datasource"`
	GridPos         struct{ H, W, X, Y int } `json:"gridPos"`
	Targets         []jsonTarget             `json:"targets"`
	Panels          []jsonPanel              `json:"panels"`
	FieldConfig     jsonFieldConfig          `json:"fieldConfig"`
	Transformations []struct {
		ID      string         `json:"id"`
		Options map[string]any `json:"options"`
	} `json:"transformations"`
}

type jsonTarget struct {
	RefID        string            `json:"refId"`
	Expr         string            `json:"expr"`
	LegendFormat string            `json:"legendFormat"`
	Datasource   map[string]string `json:"datasource"`
	Instant      bool              `json:"instant"`
	Range        bool              `json:"range"`
	Format       string            `json:"format"`
}

type jsonFieldConfig struct {
	Overrides []struct {
		Matcher struct {
			ID      string `json:"id"`
			Options string `json:"options"`
		} `json:"matcher"`
		Properties []struct {
			ID    string `json:"id"`
			Value any    `json:"value"`
		} `json:"properties"`
	} `json:"overrides"`
}

type jsonDashboard struct {
	Inputs []struct {
		Name     string `json:"name"`
		Type     string `json:"type"`
		PluginID string `json:"pluginId"`
	} `json:"__inputs"`
	UID           string      `json:"uid"`
	Title         string      `json:"title"`
	SchemaVersion int         `json:"schemaVersion"`
	Panels        []jsonPanel `json:"panels"`
	Templating    struct {
		List []struct {
			Name       string            `json:"name"`
			Type       string            `json:"type"`
			Query      json.RawMessage   `json:"query"`
			Definition string            `json:"definition"`
			IncludeAll bool              `json:"includeAll"`
			Multi      bool              `json:"multi"`
			AllValue   string            `json:"allValue"`
			Datasource map[string]string `json:"datasource"`
		} `json:"list"`
	} `json:"templating"`
}

func loadDashboard(t *testing.T) (jsonDashboard, []byte) {
	t.Helper()
	raw := Dashboard()
	var d jsonDashboard
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatalf("dashboard JSON: %v", err)
	}
	return d, raw
}

func allPanels(ps []jsonPanel) []jsonPanel {
	var out []jsonPanel
	for _, p := range ps {
		out = append(out, p)
		out = append(out, allPanels(p.Panels)...)
	}
	return out
}

var wantDS = map[string]string{"type": "prometheus", "uid": "${datasource}"}

func TestDashboardImportable(t *testing.T) {
	d, _ := loadDashboard(t)
	if d.UID == "" || d.Title == "" {
		t.Errorf("uid %q, title %q: both must be set", d.UID, d.Title)
	}
	if d.SchemaVersion < 39 {
		t.Errorf("schemaVersion %d: want a current Grafana schema (>= 39)", d.SchemaVersion)
	}
	if len(d.Inputs) != 1 || d.Inputs[0].Name != "DS_PROMETHEUS" || d.Inputs[0].Type != "datasource" || d.Inputs[0].PluginID != "prometheus" {
		t.Errorf("__inputs = %+v: want one Prometheus datasource input DS_PROMETHEUS", d.Inputs)
	}
	var ds bool
	for _, v := range d.Templating.List {
		if v.Name == "datasource" && v.Type == "datasource" && string(v.Query) == `"prometheus"` {
			ds = true
		}
	}
	if !ds {
		t.Error("no datasource variable of type prometheus")
	}
}

func TestPanelStructure(t *testing.T) {
	d, _ := loadDashboard(t)
	ids := map[int]string{}
	type rect struct{ x, y, w, h int }
	var rects []rect
	var titles []string
	for _, p := range allPanels(d.Panels) {
		if p.ID <= 0 {
			t.Errorf("panel %q has no id", p.Title)
		}
		if prev, dup := ids[p.ID]; dup {
			t.Errorf("panel id %d used by %q and %q", p.ID, prev, p.Title)
		}
		ids[p.ID] = p.Title
		if p.Title == "" {
			t.Errorf("panel %d has no title", p.ID)
		}
		g := p.GridPos
		if g.W <= 0 || g.H <= 0 || g.X < 0 || g.X+g.W > 24 || g.Y < 0 {
			t.Errorf("panel %d %q: bad gridPos %+v", p.ID, p.Title, g)
		}
		for _, r := range rects {
			if g.X < r.x+r.w && r.x < g.X+g.W && g.Y < r.y+r.h && r.y < g.Y+g.H {
				t.Errorf("panel %d %q overlaps another panel at %+v", p.ID, p.Title, r)
			}
		}
		rects = append(rects, rect{g.X, g.Y, g.W, g.H})
		if p.Type == "row" {
			continue
		}
		titles = append(titles, p.Title)
		if p.Description == "" {
			t.Errorf("panel %d %q has no description", p.ID, p.Title)
		}
		if !reflect.DeepEqual(p.Datasource, wantDS) {
			t.Errorf("panel %d %q datasource = %v, want %v", p.ID, p.Title, p.Datasource, wantDS)
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %d %q has no target", p.ID, p.Title)
		}
		refs := map[string]bool{}
		for _, tg := range p.Targets {
			if !reflect.DeepEqual(tg.Datasource, wantDS) {
				t.Errorf("panel %d %q target %s datasource = %v, want %v", p.ID, p.Title, tg.RefID, tg.Datasource, wantDS)
			}
			if tg.RefID == "" || refs[tg.RefID] {
				t.Errorf("panel %d %q: missing or duplicate refId %q", p.ID, p.Title, tg.RefID)
			}
			refs[tg.RefID] = true
			if strings.TrimSpace(tg.Expr) == "" {
				t.Errorf("panel %d %q target %s has no expr", p.ID, p.Title, tg.RefID)
			}
			if tg.Instant == tg.Range {
				t.Errorf("panel %d %q target %s: instant=%v range=%v, want exactly one", p.ID, p.Title, tg.RefID, tg.Instant, tg.Range)
			}
			if tg.Format == "table" && !tg.Instant {
				t.Errorf("panel %d %q target %s: table format must be an instant query", p.ID, p.Title, tg.RefID)
			}
			// Every {{label}} of the legend of an aggregation must be a label it keeps.
			for _, m := range regexp.MustCompile(`\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}`).FindAllStringSubmatch(tg.LegendFormat, -1) {
				if strings.Contains(tg.Expr, " by (") && !strings.Contains(tg.Expr, m[1]) {
					t.Errorf("panel %d %q target %s: legend uses {{%s}}, which the expression never mentions", p.ID, p.Title, tg.RefID, m[1])
				}
			}
		}
	}
	// The panels the issue asks for.
	for _, want := range []string{
		"Alerts in range", "Alerts per second", "Alerts by priority", "Top rules", "By namespace",
		"Top pods", "Top containers", "By syscall (evt.type)", "By source", "MITRE ATT&CK tactics",
		"Alerts by rule and pod", "Falco receiver: accepted and refused", "Queues: spool, exporters, in-flight",
		"Exporters: sent and failed", "Falco gRPC connection", "Scrape targets up",
		"Kernel event drops per second", "Drops by buffer", "Kernel events per second", "Falco CPU",
		"Falco memory", "Rule matches by priority (Falco counters)",
	} {
		found := false
		for _, got := range titles {
			found = found || got == want
		}
		if !found {
			t.Errorf("no panel titled %q", want)
		}
	}
}

// TestVariables checks that every variable used anywhere in the dashboard is defined (or is a
// Grafana built-in or the import input), and that multi-selects are only used with regex matchers.
func TestVariables(t *testing.T) {
	d, raw := loadDashboard(t)
	defined := map[string]bool{}
	multi := map[string]bool{}
	for _, v := range d.Templating.List {
		if defined[v.Name] {
			t.Errorf("variable %s defined twice", v.Name)
		}
		defined[v.Name] = true
		if v.Multi || v.IncludeAll {
			multi[v.Name] = true
		}
		if v.Type == "query" && !reflect.DeepEqual(v.Datasource, wantDS) {
			t.Errorf("variable %s datasource = %v, want %v", v.Name, v.Datasource, wantDS)
		}
		// All must also match series without the label (host alerts have no k8s labels), so it
		// has to be .* rather than Grafana's alternation of the values found. Job variables are
		// the exception: .* there would match every job in Prometheus.
		if v.IncludeAll && !strings.HasSuffix(v.Name, "job") && v.AllValue != ".*" {
			t.Errorf("variable %s: allValue = %q, want .*", v.Name, v.AllValue)
		}
	}
	for _, want := range []string{"datasource", "host_name", "k8s_namespace_name", "k8s_pod_name", "falco_priority", "falco_rule"} {
		if !defined[want] {
			t.Errorf("variable %s is missing", want)
		}
	}
	for _, name := range []string{"host_name", "k8s_namespace_name", "k8s_pod_name", "falco_priority", "falco_rule"} {
		if !multi[name] {
			t.Errorf("variable %s must be multi-select with All", name)
		}
	}

	// Every string of the JSON document.
	var doc any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				walk(path+"."+k, e)
			}
		case []any:
			for i, e := range x {
				walk(fmt.Sprintf("%s[%d]", path, i), e)
			}
		case string:
			for _, name := range VariableRefs(x) {
				switch {
				case defined[name], strings.HasPrefix(name, "__"):
				case name == "DS_PROMETHEUS" && strings.Contains(path, "templating"):
				default:
					t.Errorf("%s uses undefined variable %s", path, name)
				}
			}
		}
	}
	walk("$", doc)

	// A multi-value variable renders as a regex: it must sit in a =~ or !~ matcher.
	use := regexp.MustCompile(`([=!~]+)\s*"\$\{?([A-Za-z0-9_]+)`)
	check := func(where, expr string) {
		for _, m := range use.FindAllStringSubmatch(expr, -1) {
			if multi[m[2]] && m[1] != "=~" && m[1] != "!~" {
				t.Errorf("%s: multi-value variable %s used with %s; use =~", where, m[2], m[1])
			}
		}
	}
	for _, p := range allPanels(d.Panels) {
		for _, tg := range p.Targets {
			check(fmt.Sprintf("panel %d %q", p.ID, p.Title), tg.Expr)
		}
	}
	for _, v := range d.Templating.List {
		check("variable "+v.Name, v.Definition)
	}
}

func TestPriorityOrderAndColours(t *testing.T) {
	d, raw := loadDashboard(t)
	want := []string{"emergency", "alert", "critical", "error", "warning", "notice", "informational", "debug"}
	var names []string
	for i, p := range Priorities {
		names = append(names, p.Name)
		if p.Number != i {
			t.Errorf("priority %s has number %d, Falco's enumeration says %d", p.Name, p.Number, i)
		}
	}
	if !reflect.DeepEqual(names, want) {
		t.Fatalf("Priorities = %v, want Falco's order %v", names, want)
	}
	colour := map[string]string{OverflowLabel: OverflowColor}
	seen := map[string]bool{}
	for _, p := range Priorities {
		colour[p.Name] = p.Color
		if seen[p.Color] {
			t.Errorf("colour %s used twice", p.Color)
		}
		seen[p.Color] = true
	}

	for _, v := range d.Templating.List {
		if v.Name != "falco_priority" {
			continue
		}
		var q string
		if err := json.Unmarshal(v.Query, &q); err != nil || q != strings.Join(want, ",") {
			t.Errorf("falco_priority variable query = %s, want %q in Falco's order", v.Query, strings.Join(want, ","))
		}
	}

	byPriority := 0
	for _, p := range allPanels(d.Panels) {
		if len(p.Targets) == 0 {
			continue
		}
		legend := p.Targets[0].LegendFormat
		if legend != "{{falco_priority}}" && legend != "{{priority_name}}" {
			continue
		}
		byPriority++
		got := map[string]string{}
		for _, o := range p.FieldConfig.Overrides {
			if o.Matcher.ID != "byName" {
				continue
			}
			for _, prop := range o.Properties {
				if prop.ID == "color" {
					c, _ := prop.Value.(map[string]any)
					got[o.Matcher.Options], _ = c["fixedColor"].(string)
				}
			}
		}
		if !reflect.DeepEqual(got, colour) {
			t.Errorf("panel %q colours = %v, want %v", p.Title, got, colour)
		}
		if p.Type == "timeseries" {
			var order map[string]any
			for _, tr := range p.Transformations {
				if tr.ID == "organize" {
					order, _ = tr.Options["indexByName"].(map[string]any)
				}
			}
			for i, name := range want {
				if pos, _ := order[name].(float64); int(pos) != i+1 {
					t.Errorf("panel %q: %s is at position %v of the stack, want %d", p.Title, name, order[name], i+1)
				}
			}
		}
	}
	if byPriority < 3 {
		t.Errorf("found %d by-priority panels, want at least 3", byPriority)
	}

	// Falco's /metrics reports priorities as numbers: the mapping must be Falco's, not reversed.
	for _, p := range Priorities {
		frag := fmt.Sprintf(`\"priority_name\", \"%s\", \"priority\", \"%d\"`, p.Name, p.Number)
		if !strings.Contains(string(raw), frag) {
			t.Errorf("dashboard does not map Falco priority %d to %s", p.Number, p.Name)
		}
	}
}

// checkPromQL checks what can be checked without a Prometheus: balanced quotes and brackets, known
// metric and label names.
func checkPromQL(expr string) []string {
	var errs []string
	code := StripStrings(expr)
	var stack []byte
	pairs := map[byte]byte{')': '(', '}': '{', ']': '['}
	for i := 0; i < len(code); i++ {
		switch c := code[i]; c {
		case '(', '{', '[':
			stack = append(stack, c)
		case ')', '}', ']':
			if len(stack) == 0 || stack[len(stack)-1] != pairs[c] {
				return append(errs, fmt.Sprintf("unbalanced %q at offset %d", c, i))
			}
			stack = stack[:len(stack)-1]
		}
	}
	if len(stack) > 0 {
		errs = append(errs, fmt.Sprintf("unclosed %q", stack))
	}
	if strings.Count(code, `"`)%2 != 0 {
		errs = append(errs, "unbalanced double quote")
	}
	if len(MetricNames(expr)) == 0 {
		errs = append(errs, "selects no metric")
	}
	for _, m := range MetricNames(expr) {
		if _, ok := knownMetrics[m]; !ok {
			errs = append(errs, "unknown metric "+m)
		}
	}
	// Label names: in matchers, in by/without clauses, and created by label_replace.
	for _, m := range regexp.MustCompile(`([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*"`).FindAllStringSubmatch(code, -1) {
		if !knownLabels[m[1]] {
			errs = append(errs, "unknown label "+m[1])
		}
	}
	for _, m := range regexp.MustCompile(`\b(?:by|without)\s*\(([^)]*)\)`).FindAllStringSubmatch(code, -1) {
		for _, l := range strings.Split(m[1], ",") {
			if l = strings.TrimSpace(l); l != "" && !knownLabels[l] {
				errs = append(errs, "unknown label "+l+" in by()")
			}
		}
	}
	// label_replace(v, "dst", "replacement", "src", "regex")
	labelReplace := regexp.MustCompile(`,\s*"([A-Za-z_][A-Za-z0-9_]*)"\s*,\s*"[^"]*"\s*,\s*"([A-Za-z_][A-Za-z0-9_]*)?"\s*,\s*"[^"]*"\s*\)`)
	if n := strings.Count(expr, "label_replace("); len(labelReplace.FindAllString(expr, -1)) != n {
		errs = append(errs, "label_replace call(s) not of the form (v, \"dst\", \"replacement\", \"src\", \"regex\")")
	}
	for _, m := range labelReplace.FindAllStringSubmatch(expr, -1) {
		for _, l := range m[1:] {
			if l != "" && !knownLabels[l] {
				errs = append(errs, "unknown label "+l+" in label_replace")
			}
		}
	}
	return errs
}

func TestPromQLShape(t *testing.T) {
	qs, err := PanelQueries(Dashboard(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(qs) < 30 {
		t.Errorf("only %d panel queries", len(qs))
	}
	for _, q := range qs {
		for _, e := range checkPromQL(q.Expr) {
			t.Errorf("panel %d %q target %s: %s\n%s", q.PanelID, q.PanelTitle, q.RefID, e, q.Expr)
		}
		if strings.Contains(regexp.MustCompile(`"\$\d+"`).ReplaceAllString(q.Expr, ""), "$") {
			t.Errorf("panel %d %q target %s: variable left after substitution:\n%s", q.PanelID, q.PanelTitle, q.RefID, q.Expr)
		}
		if strings.Contains(q.Expr, "vector(0)") {
			t.Errorf("panel %d %q target %s: or vector(0) would hide a wrong metric name", q.PanelID, q.PanelTitle, q.RefID)
		}
	}
	// Variable queries too.
	d, _ := loadDashboard(t)
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		inner := regexp.MustCompile(`^label_values\((.*),\s*([A-Za-z_][A-Za-z0-9_]*)\)$`).FindStringSubmatch(v.Definition)
		if inner == nil {
			t.Errorf("variable %s: definition %q is not label_values(selector, label)", v.Name, v.Definition)
			continue
		}
		sel := inner[1]
		if !strings.Contains(sel, "{") {
			sel += "{}"
		}
		for _, e := range checkPromQL(sel) {
			t.Errorf("variable %s: %s", v.Name, e)
		}
		if !knownLabels[inner[2]] {
			t.Errorf("variable %s: unknown label %s", v.Name, inner[2])
		}
	}
}

// TestMetricNamesMatchRepo cross-checks metric names with the code that produces them in this
// repository: the receiver's own telemetry (the documentation mdatagen writes next to it) and
// Falco's /metrics as the Falco emulator serves them.
func TestMetricNamesMatchRepo(t *testing.T) {
	used := map[string]bool{}
	qs, err := PanelQueries(Dashboard(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range qs {
		for _, m := range q.Metrics {
			used[m] = true
		}
	}
	alerts, records := ruleExprs(t)
	for _, e := range mergeMaps(alerts, records) {
		for _, m := range MetricNames(e) {
			used[m] = true
		}
	}
	for _, src := range []struct{ file, prefix string }{
		{"../receiver/falcoreceiver/documentation.md", "otelcol_falco_receiver_"},
		{"../internal/falcoemu/metrics.go", "falcosecurity_"},
	} {
		b, err := os.ReadFile(src.file)
		if err != nil {
			t.Logf("%s not found, %s* names not cross-checked: %v", src.file, src.prefix, err)
			continue
		}
		for m := range used {
			if strings.HasPrefix(m, src.prefix) && !regexp.MustCompile(`\b`+m+`\b`).Match(b) {
				t.Errorf("%s is used but not produced by %s", m, src.file)
			}
		}
	}
}

func TestPanelQueriesSubstitution(t *testing.T) {
	qs, err := PanelQueries(Dashboard(), map[string]string{
		"k8s_namespace_name": "(prod|staging)",
		"__range":            "2h",
		"__interval":         "30s",
	})
	if err != nil {
		t.Fatal(err)
	}
	var sawNS, sawRange, sawInterval, sawMs, sawAll bool
	for _, q := range qs {
		sawNS = sawNS || strings.Contains(q.Expr, `k8s_namespace_name=~"(prod|staging)"`)
		sawRange = sawRange || strings.Contains(q.Expr, "offset 2h")
		sawInterval = sawInterval || strings.Contains(q.Expr, "offset 30s")
		sawMs = sawMs || strings.Contains(q.Expr, "(30000 / 1000)")
		sawAll = sawAll || strings.Contains(q.Expr, `falco_rule=~".*"`)
	}
	if !sawNS || !sawRange || !sawInterval || !sawMs || !sawAll {
		t.Errorf("substitution: namespace %v range %v interval %v interval_ms %v all %v", sawNS, sawRange, sawInterval, sawMs, sawAll)
	}

	if _, err := PanelQueries([]byte(`{"panels":[{"id":1,"type":"stat","targets":[{"refId":"A","expr":"up{job=\"$nope\"}"}]}]}`), nil); err == nil {
		t.Error("an undefined variable must be an error")
	}
	got, err := Interpolate(`label_replace(x{a=~"$v"}, "l", "$1", "m", "(.*)") [$__rate_interval] ${v:regex} [[v]]`, map[string]string{"v": "x|y", "__rate_interval": "2m"})
	if err != nil {
		t.Fatal(err)
	}
	if want := `label_replace(x{a=~"x|y"}, "l", "$1", "m", "(.*)") [2m] x|y x|y`; got != want {
		t.Errorf("Interpolate = %s, want %s", got, want)
	}

	if got, want := MetricNames(`sum by (job, instance) (rate(a_total{x="y{"}[5m] offset 1h)) / on (job) group_left(z) b:rec or c{} > bool 1e3 and max(d)`), []string{"a_total", "b:rec", "c", "d"}; !reflect.DeepEqual(got, want) {
		t.Errorf("MetricNames = %v, want %v", got, want)
	}

	// Metric names and MayBeEmpty.
	var names []string
	for _, q := range qs {
		names = append(names, q.Metrics...)
		if q.MayBeEmpty {
			for _, m := range q.Metrics {
				if !strings.Contains(strings.Join(EventOnlyMetrics, " "), m) {
					t.Errorf("panel %q target %s is MayBeEmpty but reads %s", q.PanelTitle, q.RefID, m)
				}
			}
		}
	}
	sort.Strings(names)
	for _, want := range []string{"falco_events_total", "otelcol_receiver_accepted_log_records", "falcosecurity_scap_n_drops_total", "up"} {
		if i := sort.SearchStrings(names, want); i == len(names) || names[i] != want {
			t.Errorf("no panel reads %s", want)
		}
	}
	d, err := ParseDuration("1h30m")
	if err != nil || d.Minutes() != 90 {
		t.Errorf("ParseDuration(1h30m) = %v, %v", d, err)
	}
}

func TestCheckPromQLCatchesMistakes(t *testing.T) {
	for expr, want := range map[string]string{
		`sum(rate(falco_event_total{job=~".*"}[5m]))`:                      "unknown metric falco_event_total",
		`sum(rate(falcosecurity_scap_n_drops{job=~".*"}[5m]))`:             "unknown metric falcosecurity_scap_n_drops",
		`sum(rate(otelcol_receiver_accepted_log_records_total[5m]))`:       "unknown metric otelcol_receiver_accepted_log_records_total",
		`sum(rate(falco_events_total{falco_rul=~".*"}[5m]))`:               "unknown label falco_rul",
		`sum by (priority_label) (falco_events_total)`:                     "unknown label priority_label in by()",
		`sum(rate(falco_events_total{job="x"}[5m])`:                        "unclosed",
		`label_replace(falco_events_total, "nope", "x", "falco_rule", "")`: "unknown label nope in label_replace",
		`sum(rate(falco_events_total{job="x}[5m]))`:                        "unbalanced double quote",
	} {
		errs := strings.Join(checkPromQL(expr), "; ")
		if !strings.Contains(errs, want) {
			t.Errorf("checkPromQL(%s) = %q, want it to report %q", expr, errs, want)
		}
	}
	if errs := checkPromQL(`sum by (falco_rule) (rate(falco_events_total{job=~"$job"}[5m]))`); len(errs) > 0 {
		t.Errorf("valid expression reported: %v", errs)
	}
}

func TestReadmePriorityTable(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range Priorities {
		row := fmt.Sprintf("| %s | %d | `%s` |", p.Name, p.Number, p.Color)
		if !strings.Contains(string(readme), row) {
			t.Errorf("README.md priority table lacks %q", row)
		}
	}
}
