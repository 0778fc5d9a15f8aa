package falcoemu

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-falco/otelcol-falco/internal/falcofields"
)

func TestCatalog(t *testing.T) {
	bySrc, byMat := map[string]int{}, map[string]int{}
	names := map[string]bool{}
	for _, r := range Rules() {
		if names[r.Name] {
			t.Errorf("duplicate rule %q", r.Name)
		}
		names[r.Name] = true
		bySrc[r.Source]++
		byMat[r.Maturity]++
		if !r.Priority.Valid() {
			t.Errorf("%s: priority %d", r.Name, r.Priority)
		}
		if !sort.StringsAreSorted(r.Tags) || len(r.Tags) == 0 {
			t.Errorf("%s: tags %v not sorted (Falco emits a std::set)", r.Name, r.Tags)
		}
		if got := FormatFields(r.Output); !reflect.DeepEqual(got, r.Fields) {
			t.Errorf("%s: Fields %v, format has %v", r.Name, r.Fields, got)
		}
		if r.Source == "syscall" && len(r.EvtTypes) == 0 {
			t.Errorf("%s: no evt types", r.Name)
		}
		if strings.Contains(r.Output, "\n") {
			t.Errorf("%s: multi-line output", r.Name)
		}
	}
	if byMat["stable"] != 25 {
		t.Errorf("stable rules: %d, want all 25", byMat["stable"])
	}
	if byMat["incubating"] < 20 || byMat["sandbox"] < 20 || bySrc["k8s_audit"] < 8 {
		t.Errorf("catalog too small: %v %v", byMat, bySrc)
	}
	for _, n := range []string{"Terminal shell in container", "Drop and execute new binary in container", "Read sensitive file untrusted", "Attach/Exec Pod"} {
		if RuleByName(n) == nil {
			t.Errorf("missing %q", n)
		}
	}
	r := RuleByName("Run shell untrusted")
	if r.Priority != PriorityNotice || r.Source != "syscall" || !r.HasTag("shell") || r.Scope() != ScopeBoth {
		t.Errorf("Run shell untrusted: %+v", r)
	}
	for _, k := range []string{"proc.aname[2]", "proc.aname[7]", "evt.arg.flags", "proc.pexepath"} {
		if !contains(r.Fields, k) {
			t.Errorf("Run shell untrusted lacks %s", k)
		}
	}
	if RuleByName("Terminal shell in container").Scope() != ScopeContainer || RuleByName("User mgmt binaries").Scope() != ScopeHost {
		t.Error("scopes")
	}
	if got := UnresolvedFields(); len(got) > 0 {
		t.Errorf("fields without values: %v", got)
	}
}

func contains(s []string, x string) bool {
	for _, v := range s {
		if v == x {
			return true
		}
	}
	return false
}

func TestParseFormat(t *testing.T) {
	segs := parseFormat("a %ka.target.name/%ka.target.resource x=%proc.aname[2]. v=%jevt.value[/requestObject/spec/volumes]) 100% done %")
	var fields []string
	for _, s := range segs {
		if s.field != "" {
			fields = append(fields, s.field)
		}
	}
	want := []string{"ka.target.name", "ka.target.resource", "proc.aname[2]", "jevt.value[/requestObject/spec/volumes]"}
	if !reflect.DeepEqual(fields, want) {
		t.Fatalf("fields %v", fields)
	}
	if got := render(segs, []Field{{"ka.target.name", "x"}, {"proc.aname[2]", nil}}); got != "a x/<NA> x=<NA>. v=<NA>) 100% done %" {
		t.Fatalf("render %q", got)
	}
}

func TestPriorities(t *testing.T) {
	for i, p := range AllPriorities() {
		if int(p) != i {
			t.Fatal("order")
		}
		q, err := ParsePriority(strings.ToUpper(p.Lower()))
		if err != nil || q != p {
			t.Fatal(p, err)
		}
	}
	if PriorityInformational.String() != "Informational" || PriorityCritical.String() != "Critical" || PriorityWarning.Lower() != "warning" {
		t.Fatal("names")
	}
	if p, _ := ParsePriority("info"); p != PriorityInformational {
		t.Fatal("info")
	}
	ps, err := ParsePriorities("all")
	if err != nil || len(ps) != 8 {
		t.Fatal(ps, err)
	}
	ps, err = ParsePriorities("critical, debug")
	if err != nil || !reflect.DeepEqual(ps, []Priority{PriorityCritical, PriorityDebug}) {
		t.Fatal(ps, err)
	}
	if ps, _ := ParsePriorities(""); ps != nil {
		t.Fatal("empty")
	}
	if _, err := ParsePriorities("loud"); err == nil {
		t.Fatal("bad name accepted")
	}
}

func TestEvtTypesFromConditions(t *testing.T) {
	macros := map[string]string{
		"spawned_process": "(evt.type in (execve, execveat) and evt.dir=<)",
		"open_write":      "(evt.type in (open_syscalls) and evt.is_open_write=true)",
		"never_true":      "(evt.num=0)",
	}
	lists := map[string][]string{"open_syscalls": {"open", "openat", "openat2"}}
	for cond, want := range map[string][]string{
		"spawned_process and proc.name=bash":                      {"execve", "execveat"},
		"open_write and not spawned_process":                      {"openat", "open", "openat2"},
		"evt.type = connect and not evt.type in (accept, listen)": {"connect"},
		"evt.type=ptrace and evt.arg.request contains 'ATTACH'":   {"ptrace"},
		"never_true": nil,
		"(evt.type in (dup, dup2, dup3)) and fd.type in (ipv4, ipv6)": {"dup2", "dup", "dup3"},
	} {
		assert.Equal(t, want, evtTypes(cond, macros, lists), cond)
	}
	r := RuleByName("Read sensitive file untrusted")
	assert.Equal(t, []string{"openat", "open", "openat2"}, r.EvtTypes, "through Falco's own macros")
	assert.Equal(t, "stable", r.Maturity)
	assert.True(t, RuleByName("Attach/Exec Pod") != nil && RuleByName("Attach/Exec Pod").Source == "k8s_audit")
}

// TestEmulatedValuesHaveTheDeclaredTypes: every value the emulator gives a field has the type
// falcofields declares for it, as Falco's JSON output would (nil is Falco's null).
func TestEmulatedValuesHaveTheDeclaredTypes(t *testing.T) {
	base := time.Unix(1_700_000_000, 0)
	for _, r := range Rules() {
		if r.Source != "syscall" {
			continue
		}
		for _, host := range []bool{false, true} {
			for k := range 4 {
				b := newVB(r, profileFor(r), host, k, subRNG(1, r.Name), base)
				for _, key := range r.Fields {
					v, ok := b.value(key)
					require.True(t, ok, "%s: %s", r.Name, key)
					want := map[falcofields.Type]string{falcofields.String: "string", falcofields.Int: "int64", falcofields.Bool: "bool"}[falcofields.TypeOf(key)]
					if v != nil {
						assert.Equal(t, want, fmt.Sprintf("%T", v), "%s: %s = %v", r.Name, key, v)
					}
				}
			}
		}
	}
}
