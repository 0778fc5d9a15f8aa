package falcoemu

import (
	"io"
	"net/http/httptest"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

var sampleLine = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="[^"\\]*(?:\\.[^"\\]*)*",?)*\})? (-?[0-9.e+]+)$`)

type series struct {
	name, labels string
	value        float64
}

// parseExposition checks the text format and returns the series.
func parseExposition(t *testing.T, text string, strict bool) []series {
	t.Helper()
	var out []series
	helps := map[string]int{}
	types := map[string]string{}
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		switch {
		case strings.HasPrefix(l, "# HELP "):
			name := strings.Fields(l)[2]
			helps[name]++
			if strict && helps[name] > 1 {
				t.Fatalf("second HELP for %s in strict mode", name)
			}
		case strings.HasPrefix(l, "# TYPE "):
			f := strings.Fields(l)
			if f[3] != "counter" && f[3] != "gauge" {
				t.Fatalf("type %q", l)
			}
			if old, ok := types[f[2]]; ok && old != f[3] {
				t.Fatalf("%s has two types", f[2])
			}
			types[f[2]] = f[3]
		default:
			m := sampleLine.FindStringSubmatch(l)
			if m == nil {
				t.Fatalf("bad sample line %q", l)
			}
			if _, ok := types[m[1]]; !ok {
				t.Fatalf("sample before TYPE: %q", l)
			}
			if types[m[1]] == "counter" && !strings.HasSuffix(m[1], "_total") {
				t.Fatalf("counter without _total: %s", m[1])
			}
			v, err := strconv.ParseFloat(m[4], 64)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, series{m[1], m[2], v})
		}
	}
	return out
}

func sum(ss []series, name, labelSub string) (float64, int) {
	var s float64
	n := 0
	for _, x := range ss {
		if x.name == name && strings.Contains(x.labels, labelSub) {
			s += x.value
			n++
		}
	}
	return s, n
}

func TestMetricsEndpoint(t *testing.T) {
	g, err := NewGenerator(GeneratorConfig{Seed: 5, Pods: 8, Clock: fixedClock})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 1000; i++ {
		g.Next()
	}
	var qd uint64 = 7
	m := NewMetrics(MetricsConfig{Hostname: "node-a", Matches: g.Tally(), Rules: g.Rules(), Containers: 8,
		OutputsQueueDrops: func() uint64 { return qd }})
	ss := parseExposition(t, string(m.Render()), false)

	src, err := os.ReadFile("metrics.go")
	if err != nil {
		t.Fatal(err)
	}
	documented := regexp.MustCompile(`(?m)^//\s+(falcosecurity_[a-z0-9_]+)`).FindAllStringSubmatch(string(src), -1)
	if len(documented) < 45 {
		t.Fatalf("doc comment lists %d metrics", len(documented))
	}
	served := map[string]bool{}
	for _, s := range ss {
		served[s.name] = true
	}
	for _, d := range documented {
		if !served[d[1]] {
			t.Errorf("documented metric %s not served", d[1])
		}
	}
	for name := range served {
		if !strings.Contains(string(src), "//\t"+name) {
			t.Errorf("served metric %s not documented", name)
		}
	}

	total, n := sum(ss, "falcosecurity_falco_rules_matches_total", "")
	if total != 1000 || n < 20 {
		t.Fatalf("rules_matches_total sum %v over %d series", total, n)
	}
	if _, n := sum(ss, "falcosecurity_falco_rules_matches_total",
		`{priority="5",rule_name="Terminal shell in container",source="syscall",tag_T1059="true",tag_container="true",tag_maturity_stable="true",tag_mitre_execution="true",tag_shell="true"}`); n != 1 {
		t.Fatal("Terminal shell series missing or labelled wrong")
	}
	if _, n := sum(ss, "falcosecurity_falco_rules_matches_total", `tag_T1059_004="true"`); n == 0 {
		t.Fatal("no sanitised tag_T1059_004")
	}
	if v, _ := sum(ss, "falcosecurity_falco_outputs_queue_num_drops_total", ""); v != 7 {
		t.Fatal("queue drops")
	}
	if _, n := sum(ss, "falcosecurity_evt_hostname_info", `hostname="node-a"`); n != 1 {
		t.Fatal("hostname")
	}
	if _, n := sum(ss, "falcosecurity_scap_engine_name_info", `{engine_name="modern_bpf",evt_source="syscall"}`); n != 1 {
		t.Fatal("engine")
	}
	if _, n := sum(ss, "falcosecurity_scap_engine_name_info", `evt_source="k8s_audit"`); n != 1 {
		t.Fatal("k8s_audit source")
	}
	if v, _ := sum(ss, "falcosecurity_scap_n_drops_total", ""); v != 0 {
		t.Fatal("drops without knob")
	}
	if v, _ := sum(ss, "falcosecurity_falco_memory_rss_bytes", ""); v <= 0 {
		t.Fatal("rss")
	}

	// The kernel drops knob.
	m.AddKernelDrops(1000)
	m.SetKernelDropsRate(10000)
	time.Sleep(50 * time.Millisecond)
	ss = parseExposition(t, string(m.Render()), false)
	drops, _ := sum(ss, "falcosecurity_scap_n_drops_total", "")
	exit, k := sum(ss, "falcosecurity_scap_n_drops_buffer_total", `dir="exit"`)
	enter, ke := sum(ss, "falcosecurity_scap_n_drops_buffer_total", `dir="enter"`)
	if drops < 1400 || exit != drops || k != 8 || enter != 0 || ke != 6 {
		t.Fatalf("drops %v exit %v (%d) enter %v (%d)", drops, exit, k, enter, ke)
	}
	m.SetKernelDropsRate(0)
	d1 := m.KernelDrops()
	time.Sleep(20 * time.Millisecond)
	if m.KernelDrops() != d1 || float64(d1) < drops {
		t.Fatal("drops after the rate stopped")
	}
	evts1, _ := sum(ss, "falcosecurity_scap_n_evts_total", "")
	ss = parseExposition(t, string(m.Render()), false)
	if evts2, _ := sum(ss, "falcosecurity_scap_n_evts_total", ""); evts2 < evts1 {
		t.Fatal("n_evts went down")
	}

	// Strict mode groups families.
	strict := NewMetrics(MetricsConfig{Matches: g.Tally(), Strict: true})
	ss2 := parseExposition(t, string(strict.Render()), true)
	if t2, _ := sum(ss2, "falcosecurity_falco_rules_matches_total", ""); t2 != 1000 {
		t.Fatalf("strict sum %v", t2)
	}
	if _, n := sum(ss2, "falcosecurity_scap_n_drops_buffer_total", ""); n != 14 {
		t.Fatalf("strict drop series %d", n)
	}
}

func TestMetricsHTTP(t *testing.T) {
	m := NewMetrics(MetricsConfig{Hostname: "h"})
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != `{"status":"ok"}` {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
	resp, err = srv.Client().Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.Header.Get("Content-Type") != "text/plain; version=0.0.4" || !strings.Contains(string(b), "falcosecurity_falco_version_info{version=\""+DefaultFalcoVersion+"\"} 1\n") {
		t.Fatalf("%s", b)
	}
	if strings.Contains(string(b), "rules_matches_total") {
		t.Fatal("matches series without matches")
	}
}

func TestSanitizeLabelName(t *testing.T) {
	for in, want := range map[string]string{
		"tag_T1059.004": "tag_T1059_004", "tag_NIST_800-53_AC-2": "tag_NIST_800_53_AC_2",
		"tag_PCI_DSS_11.5.1": "tag_PCI_DSS_11_5_1", "9x": "_9x", "a--b": "a_b",
	} {
		if got := sanitizeLabelName(in); got != want {
			t.Errorf("%s: %s want %s", in, got, want)
		}
	}
	if TagLabel("mitre_execution") != "tag_mitre_execution" {
		t.Fatal("TagLabel")
	}
}
