// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

// Package dashboards ships the Grafana dashboard and the Prometheus rules of otelcol-falco, and
// helpers to check them: PanelQueries turns every panel target of the dashboard into the PromQL that
// Grafana would send, so a test can run each one against a real Prometheus.
package dashboards // import "github.com/otelcol-falco/otelcol-falco/dashboards"

import (
	"embed"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// File names inside FS.
const (
	DashboardFile = "falco-alerts.json"
	RulesFile     = "falco-alerts.rules.yaml"
	RulesTestFile = "falco-alerts.rules.test.yaml"
)

// FS holds the dashboard, the rules and the rules' promtool unit tests, as shipped.
//
//go:embed falco-alerts.json falco-alerts.rules.yaml falco-alerts.rules.test.yaml
var FS embed.FS

// Dashboard returns the Grafana dashboard JSON (falco-alerts.json).
func Dashboard() []byte {
	b, err := FS.ReadFile(DashboardFile)
	if err != nil {
		panic(err) // embedded: cannot happen
	}
	return b
}

// Priority is one Falco priority as the dashboard shows it.
type Priority struct {
	Name   string // the falco_priority label value (lowercase, as otelcol-falco writes it)
	Number int    // the value of the priority label of falcosecurity_falco_rules_matches_total
	Color  string // the colour every panel uses for it
}

// Priorities are Falco's priorities, most severe first: the order of the falco_priority variable,
// of the stacked by-priority panels and of their legends. Number is Falco's own enumeration
// (falco_common::priority_type), which its /metrics endpoint writes as the priority label.
var Priorities = []Priority{
	{Name: "emergency", Number: 0, Color: "#8B0000"},
	{Name: "alert", Number: 1, Color: "#C4162A"},
	{Name: "critical", Number: 2, Color: "#F2495C"},
	{Name: "error", Number: 3, Color: "#FF780A"},
	{Name: "warning", Number: 4, Color: "#FADE2A"},
	{Name: "notice", Number: 5, Color: "#5794F2"},
	{Name: "informational", Number: 6, Color: "#73BF69"},
	{Name: "debug", Number: 7, Color: "#8E8E8E"},
}

// OverflowLabel is what the panels show, instead of an empty label, for the overflow series that
// the receiver counts alerts into once its max_series limit is reached.
const OverflowLabel = "(overflow)"

// OverflowColor is the colour of OverflowLabel in the by-priority panels.
const OverflowColor = "#B877D9"

// EventOnlyMetrics are metrics that exist only once something went wrong (an export failed, the
// receiver overflowed or reconnected): a query that reads nothing else may return no series on a
// healthy collector. PanelQuery.MayBeEmpty is derived from this list.
var EventOnlyMetrics = []string{
	"otelcol_exporter_send_failed_log_records",
	"otelcol_exporter_send_failed_metric_points",
	"otelcol_exporter_enqueue_failed_log_records",
	"otelcol_exporter_enqueue_failed_metric_points",
	"otelcol_falco_receiver_overflow_alerts",
	"otelcol_falco_receiver_reconnects",
}

// PanelQuery is one target of one dashboard panel, with its template variables substituted.
type PanelQuery struct {
	PanelID    int
	PanelTitle string
	PanelType  string
	Row        string // title of the row the panel sits in ("" above the first row)
	RefID      string
	Legend     string
	// Instant is true for targets Grafana runs as an instant query (at the end of the time range);
	// the others are range queries with step $__interval.
	Instant bool
	// RawExpr is the expression as written in the dashboard, Expr the one Grafana would send.
	RawExpr string
	Expr    string
	// Metrics are the metric names the expression selects, sorted.
	Metrics []string
	// MayBeEmpty is true when every metric in Metrics is one of EventOnlyMetrics.
	MayBeEmpty bool
}

// Built-in interval variables and their defaults when vars does not set them.
var builtinDefaults = map[string]string{
	"__interval":      "1m",
	"__rate_interval": "5m",
	"__range":         "1h",
}

// PanelQueries returns every target of every panel of a Grafana dashboard (rows, collapsed rows
// and nested panels included), in dashboard order, with the template variables substituted the way
// Grafana does for a Prometheus data source:
//
//   - vars[name] is used verbatim for a dashboard variable or a built-in (give a regex for a
//     multi-select, e.g. "(a|b)"); a variable not in vars is "All" (its allValue, or ".*") when it
//     has an All option, and otherwise its current value;
//   - $__interval, $__rate_interval and $__range default to 1m, 5m and 1h; $__interval_ms,
//     $__range_s and $__range_ms follow from them;
//   - $1, $2... (label_replace replacements) are left alone; any other unknown variable is an error.
//
// Every syntax Grafana accepts is understood: $name, ${name}, ${name:format} and [[name]].
func PanelQueries(dashboardJSON []byte, vars map[string]string) ([]PanelQuery, error) {
	var d dashboardModel
	if err := json.Unmarshal(dashboardJSON, &d); err != nil {
		return nil, fmt.Errorf("parse dashboard: %w", err)
	}
	values, err := resolveVars(d.Templating.List, vars)
	if err != nil {
		return nil, err
	}
	eventOnly := map[string]bool{}
	for _, m := range EventOnlyMetrics {
		eventOnly[m] = true
	}

	var out []PanelQuery
	var walk func(panels []panelModel, row string) error
	walk = func(panels []panelModel, row string) error {
		for _, p := range panels {
			if p.Type == "row" {
				row = p.Title
				if err := walk(p.Panels, row); err != nil {
					return err
				}
				continue
			}
			for _, t := range p.Targets {
				if t.Hide || strings.TrimSpace(t.Expr) == "" {
					continue
				}
				expr, err := Interpolate(t.Expr, values)
				if err != nil {
					return fmt.Errorf("panel %d %q target %s: %w", p.ID, p.Title, t.RefID, err)
				}
				q := PanelQuery{
					PanelID:    p.ID,
					PanelTitle: p.Title,
					PanelType:  p.Type,
					Row:        row,
					RefID:      t.RefID,
					Legend:     t.LegendFormat,
					Instant:    t.Instant && !t.Range,
					RawExpr:    t.Expr,
					Expr:       expr,
					Metrics:    MetricNames(expr),
				}
				q.MayBeEmpty = len(q.Metrics) > 0
				for _, m := range q.Metrics {
					if !eventOnly[m] {
						q.MayBeEmpty = false
					}
				}
				out = append(out, q)
			}
			if err := walk(p.Panels, row); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(d.Panels, ""); err != nil {
		return nil, err
	}
	return out, nil
}

// varRef matches every form of Grafana variable reference: $name, ${name}, ${name:fmt},
// ${name.field} and [[name]] / [[name:fmt]].
var varRef = regexp.MustCompile(`\$([A-Za-z0-9_]+)|\$\{([A-Za-z0-9_]+)(?:\.[^:}]+)?(?::[^}]+)?\}|\[\[([A-Za-z0-9_]+)(?::[^\]]+)?\]\]`)

// VariableRefs returns the names of the template variables s refers to, in order of first use,
// without duplicates. Numeric references ($1, as in label_replace) are not variables.
func VariableRefs(s string) []string {
	var names []string
	seen := map[string]bool{}
	for _, m := range varRef.FindAllStringSubmatch(s, -1) {
		name := m[1] + m[2] + m[3]
		if isNumeric(name) || seen[name] {
			continue
		}
		seen[name] = true
		names = append(names, name)
	}
	return names
}

// Interpolate replaces the variable references in s by values[name]. Numeric references ($1) stay
// as they are; a reference to a name missing from values is an error.
func Interpolate(s string, values map[string]string) (string, error) {
	var missing []string
	out := varRef.ReplaceAllStringFunc(s, func(ref string) string {
		m := varRef.FindStringSubmatch(ref)
		name := m[1] + m[2] + m[3]
		if isNumeric(name) {
			return ref
		}
		v, ok := values[name]
		if !ok {
			missing = append(missing, name)
			return ref
		}
		return v
	})
	if len(missing) > 0 {
		return "", fmt.Errorf("undefined variable(s) %s in %q", strings.Join(missing, ", "), s)
	}
	return out, nil
}

// MetricNames returns the metric names an expression selects, sorted and without duplicates.
// It scans the expression the way PromQL's lexer would: string contents, label matchers {...},
// ranges [...], label lists of by/without/on/ignoring/group_left/group_right, function names,
// keywords and numbers are not metric names.
func MetricNames(expr string) []string {
	code := StripStrings(expr)
	seen := map[string]bool{}
	isIdentStart := func(c byte) bool { return c == '_' || c == ':' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
	isIdent := func(c byte) bool { return isIdentStart(c) || c >= '0' && c <= '9' }
	skipGroup := func(i int, open, close byte) int { // i at open; returns index after the matching close
		depth := 0
		for ; i < len(code); i++ {
			switch code[i] {
			case open:
				depth++
			case close:
				depth--
				if depth == 0 {
					return i + 1
				}
			}
		}
		return i
	}
	for i := 0; i < len(code); {
		c := code[i]
		switch {
		case c == '{':
			i = skipGroup(i, '{', '}')
		case c == '[':
			i = skipGroup(i, '[', ']')
		case c >= '0' && c <= '9' || c == '.':
			for i < len(code) && (isIdent(code[i]) || code[i] == '.') {
				i++
			}
		case isIdentStart(c):
			j := i
			for j < len(code) && isIdent(code[j]) {
				j++
			}
			word := code[i:j]
			k := j
			for k < len(code) && (code[k] == ' ' || code[k] == '\t' || code[k] == '\n' || code[k] == '\r') {
				k++
			}
			switch {
			case labelListKeywords[strings.ToLower(word)]:
				if k < len(code) && code[k] == '(' {
					k = skipGroup(k, '(', ')')
				}
				j = k
			case promqlKeywords[strings.ToLower(word)]:
			case k < len(code) && code[k] == '(':
				// a function or aggregation
			default:
				seen[word] = true
			}
			i = j
		default:
			i++
		}
	}
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

var (
	labelListKeywords = map[string]bool{"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true}
	promqlKeywords    = map[string]bool{
		"and": true, "or": true, "unless": true, "offset": true, "bool": true, "atan2": true, "inf": true, "nan": true,
		// aggregations, which may be followed by by/without instead of '('
		"sum": true, "min": true, "max": true, "avg": true, "group": true, "stddev": true, "stdvar": true,
		"count": true, "count_values": true, "bottomk": true, "topk": true, "quantile": true,
	}
)

// StripStrings blanks out the contents of PromQL string literals ("...", '...', `...`) so that
// structure checks do not see braces or names inside label values and regexes. Quotes are kept.
func StripStrings(expr string) string {
	b := []byte(expr)
	var quote byte
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case quote == 0 && (c == '"' || c == '\'' || c == '`'):
			quote = c
		case quote != 0 && c == '\\' && quote != '`':
			b[i] = ' '
			if i+1 < len(b) {
				i++
				b[i] = ' '
			}
		case quote != 0 && c == quote:
			quote = 0
		case quote != 0:
			b[i] = ' '
		}
	}
	return string(b)
}

func isNumeric(s string) bool {
	_, err := strconv.Atoi(s)
	return err == nil
}

func resolveVars(list []variableModel, given map[string]string) (map[string]string, error) {
	values := map[string]string{}
	for k, v := range builtinDefaults {
		values[k] = v
	}
	for _, v := range list {
		switch {
		case v.Type == "datasource":
			values[v.Name] = v.currentString()
		case v.IncludeAll:
			if v.AllValue != "" {
				values[v.Name] = v.AllValue
			} else {
				values[v.Name] = ".*"
			}
		default:
			values[v.Name] = v.currentString()
		}
	}
	for k, v := range given {
		values[k] = v
	}
	for _, name := range []string{"__interval", "__range"} {
		d, err := ParseDuration(values[name])
		if err != nil {
			return nil, fmt.Errorf("variable %s: %w", name, err)
		}
		if _, ok := given[name+"_ms"]; !ok {
			values[name+"_ms"] = strconv.FormatInt(d.Milliseconds(), 10)
		}
		if name == "__range" {
			if _, ok := given["__range_s"]; !ok {
				values["__range_s"] = strconv.FormatInt(int64(d/time.Second), 10)
			}
		}
	}
	return values, nil
}

var (
	durationUnits = map[string]time.Duration{
		"ms": time.Millisecond, "s": time.Second, "m": time.Minute, "h": time.Hour,
		"d": 24 * time.Hour, "w": 7 * 24 * time.Hour, "y": 365 * 24 * time.Hour,
	}
	durationPart = regexp.MustCompile(`^(\d+)(ms|s|m|h|d|w|y)`)
)

// ParseDuration parses a Prometheus duration such as 90s, 5m, 1h30m, 7d or 2w.
func ParseDuration(s string) (time.Duration, error) {
	rest := s
	var total time.Duration
	if rest == "" {
		return 0, fmt.Errorf("empty duration")
	}
	for rest != "" {
		m := durationPart.FindStringSubmatch(rest)
		if m == nil {
			return 0, fmt.Errorf("bad duration %q", s)
		}
		n, err := strconv.ParseInt(m[1], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("bad duration %q: %w", s, err)
		}
		total += time.Duration(n) * durationUnits[m[2]]
		rest = rest[len(m[0]):]
	}
	return total, nil
}

type dashboardModel struct {
	Panels     []panelModel `json:"panels"`
	Templating struct {
		List []variableModel `json:"list"`
	} `json:"templating"`
}

type panelModel struct {
	ID      int           `json:"id"`
	Title   string        `json:"title"`
	Type    string        `json:"type"`
	Targets []targetModel `json:"targets"`
	Panels  []panelModel  `json:"panels"`
}

type targetModel struct {
	RefID        string `json:"refId"`
	Expr         string `json:"expr"`
	LegendFormat string `json:"legendFormat"`
	Instant      bool   `json:"instant"`
	Range        bool   `json:"range"`
	Hide         bool   `json:"hide"`
}

type variableModel struct {
	Name       string          `json:"name"`
	Type       string          `json:"type"`
	IncludeAll bool            `json:"includeAll"`
	AllValue   string          `json:"allValue"`
	Current    json.RawMessage `json:"current"`
}

// currentString returns the variable's current value; a multi-value selection becomes a regex
// alternation, as Grafana renders it for Prometheus.
func (v variableModel) currentString() string {
	var cur struct {
		Value json.RawMessage `json:"value"`
	}
	if len(v.Current) == 0 || json.Unmarshal(v.Current, &cur) != nil || len(cur.Value) == 0 {
		return ""
	}
	var one string
	if json.Unmarshal(cur.Value, &one) == nil {
		return one
	}
	var many []string
	if json.Unmarshal(cur.Value, &many) == nil {
		if len(many) == 1 {
			return many[0]
		}
		return "(" + strings.Join(many, "|") + ")"
	}
	return ""
}
