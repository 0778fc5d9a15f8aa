// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package dashboards

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// promtool returns the path of promtool, or skips the test when it is not installed (the CI script
// installs it: apt-get install prometheus).
func promtool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool not found in PATH; install it (Debian: apt-get install -y prometheus) to run the rule checks")
	}
	return p
}

func TestPromtoolCheckRules(t *testing.T) {
	out, err := exec.Command(promtool(t), "check", "rules", RulesFile).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool check rules: %v\n%s", err, out)
	}
	t.Logf("%s", out)
}

func TestPromtoolTestRules(t *testing.T) {
	out, err := exec.Command(promtool(t), "test", "rules", RulesTestFile).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool test rules: %v\n%s", err, out)
	}
	t.Logf("%s", out)
}

// ruleExprs extracts alert/record names and their expr from the rules file (written in one
// consistent style: `expr: |` blocks or one-line exprs).
func ruleExprs(t *testing.T) (alerts, records map[string]string) {
	t.Helper()
	raw, err := os.ReadFile(RulesFile)
	if err != nil {
		t.Fatal(err)
	}
	alerts, records = map[string]string{}, map[string]string{}
	lines := strings.Split(string(raw), "\n")
	var kind, name string
	for i := 0; i < len(lines); i++ {
		l := strings.TrimSpace(lines[i])
		switch {
		case strings.HasPrefix(l, "- alert: "):
			kind, name = "alert", strings.TrimPrefix(l, "- alert: ")
		case strings.HasPrefix(l, "- record: "):
			kind, name = "record", strings.TrimPrefix(l, "- record: ")
		case strings.HasPrefix(l, "expr: "):
			expr := strings.TrimPrefix(l, "expr: ")
			if expr == "|" {
				indent := len(lines[i+1]) - len(strings.TrimLeft(lines[i+1], " "))
				var body []string
				for i+1 < len(lines) && (strings.TrimSpace(lines[i+1]) == "" || len(lines[i+1])-len(strings.TrimLeft(lines[i+1], " ")) >= indent) {
					i++
					body = append(body, lines[i])
				}
				expr = strings.Join(body, "\n")
			}
			if kind == "alert" {
				alerts[name] = expr
			} else {
				records[name] = expr
			}
		}
	}
	return alerts, records
}

func TestRulesCoverage(t *testing.T) {
	alerts, records := ruleExprs(t)
	for _, want := range []string{
		"FalcoHighPriorityAlert", "FalcoRuleFiringRate", "FalcoAlertSpike", "FalcoCollectorRefusingData",
		"FalcoCollectorDown", "FalcoKernelEventDrops",
	} {
		if _, ok := alerts[want]; !ok {
			t.Errorf("alert %s is missing", want)
		}
	}
	if len(records) != 2 {
		t.Errorf("recording rules = %d, want 2", len(records))
	}
	for name, expr := range mergeMaps(alerts, records) {
		for _, e := range checkPromQL(expr) {
			t.Errorf("%s: %s", name, e)
		}
	}

	// Every alert must be tested firing and not firing.
	raw, err := os.ReadFile(RulesTestFile)
	if err != nil {
		t.Fatal(err)
	}
	test := string(raw)
	for name := range alerts {
		re := regexp.MustCompile(`alertname: ` + name + `\n\s+exp_alerts:(.*)`)
		fires, silent := false, false
		for _, m := range re.FindAllStringSubmatch(test, -1) {
			if strings.TrimSpace(m[1]) == "[]" {
				silent = true
			} else {
				fires = true
			}
		}
		if !fires || !silent {
			t.Errorf("alert %s: tested firing %v, tested silent %v; want both", name, fires, silent)
		}
	}
	for name := range records {
		if !strings.Contains(test, "expr: "+name+"\n") {
			t.Errorf("recording rule %s has no promql_expr_test", name)
		}
	}

	// Every alert has a summary, a description and a runbook section in the README.
	rules, _ := os.ReadFile(RulesFile)
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	for name := range alerts {
		block := string(rules)[strings.Index(string(rules), "- alert: "+name):]
		if next := strings.Index(block[1:], "- alert: "); next > 0 {
			block = block[:next+1]
		}
		for _, a := range []string{"summary:", "description:", "runbook_url:", "severity:"} {
			if !strings.Contains(block, a) {
				t.Errorf("alert %s has no %s", name, a)
			}
		}
		anchor := "README.md#" + strings.ToLower(name)
		if !strings.Contains(block, anchor) {
			t.Errorf("alert %s: runbook_url does not point to %s", name, anchor)
		}
		if !strings.Contains(string(readme), "### "+name+"\n") {
			t.Errorf("README.md has no runbook section \"### %s\"", name)
		}
	}
}

func mergeMaps(a, b map[string]string) map[string]string {
	m := map[string]string{}
	for k, v := range a {
		m[k] = v
	}
	for k, v := range b {
		m[k] = v
	}
	return m
}
