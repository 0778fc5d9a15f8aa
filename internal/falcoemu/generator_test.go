package falcoemu

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

func fixedClock() time.Time { return time.Date(2026, 11, 26, 6, 55, 4, 123456789, time.UTC) }

func TestGeneratorDeterministic(t *testing.T) {
	mk := func(seed int64) *Generator {
		g, err := NewGenerator(GeneratorConfig{Seed: seed, Pods: 30, K8sMeta: true, Clock: fixedClock})
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	a, b, c := mk(7), mk(7), mk(8)
	differs := false
	for i := 0; i < 2000; i++ {
		x, y, z := a.Next(), b.Next(), c.Next()
		jx, jy := x.AppendJSON(nil), y.AppendJSON(nil)
		if !bytes.Equal(jx, jy) {
			t.Fatalf("alert %d differs:\n%s\n%s", i, jx, jy)
		}
		if !bytes.Equal(jx, z.AppendJSON(nil)) {
			differs = true
		}
	}
	if !differs {
		t.Fatal("seed has no effect")
	}
	if a.Generated() != 2000 || a.Tally().Total() != 2000 {
		t.Fatal("counts")
	}
}

func TestGeneratorRealism(t *testing.T) {
	g, err := NewGenerator(GeneratorConfig{Seed: 1, Pods: 40, Clock: time.Now})
	if err != nil {
		t.Fatal(err)
	}
	rules := map[string]bool{}
	for _, r := range g.Rules() {
		rules[r.Name] = true
	}
	if len(rules) != len(Rules()) {
		t.Fatalf("selected %d of %d rules", len(rules), len(Rules()))
	}
	seenRule := map[string]bool{}
	var hostAlerts, podAlerts, naProto, deepNA int
	for i := 0; i < 20000; i++ {
		a := g.Next()
		seenRule[a.Rule.Name] = true
		for _, k := range a.Rule.Fields {
			if _, ok := a.Field(k); !ok {
				t.Fatalf("%s: field %s missing", a.Rule.Name, k)
			}
		}
		if _, ok := a.Field(EvtTimeField); !ok {
			t.Fatal("no evt.time")
		}
		if a.Source() == "syscall" {
			for _, k := range ContainerFields {
				if _, ok := a.Field(k); !ok {
					t.Fatalf("%s: no %s", a.Rule.Name, k)
				}
			}
			id, _ := a.Field("container.id")
			ns, _ := a.Field("k8s.ns.name")
			if id == "host" {
				hostAlerts++
				if name, _ := a.Field("container.name"); name != "host" || ns != nil || a.Pod() != "" {
					t.Fatalf("host alert with k8s fields: %v", a.Fields())
				}
				if a.Rule.Scope() == ScopeContainer {
					t.Fatalf("container-only rule %q on the host", a.Rule.Name)
				}
			} else {
				podAlerts++
				if len(id.(string)) != 12 || ns != a.Namespace() || a.Pod() == "" {
					t.Fatalf("bad container fields: %v", a.Fields())
				}
				if a.Rule.Scope() == ScopeHost {
					t.Fatalf("host-only rule %q in a pod", a.Rule.Name)
				}
			}
			et, _ := a.Field("evt.type")
			if !contains(a.Rule.EvtTypes, et.(string)) || a.EvtType() != et {
				t.Fatalf("%s: evt.type %v not among %v", a.Rule.Name, et, a.Rule.EvtTypes)
			}
			if lu, _ := a.Field("user.loginuid"); lu != nil {
				if _, ok := lu.(int64); !ok {
					t.Fatalf("user.loginuid is %T", lu)
				}
			}
			if strings.HasPrefix(et.(string), "execve") {
				if fl, ok := a.Field("evt.arg.flags"); ok && fl == nil {
					t.Fatalf("%s: execve without exe flags", a.Rule.Name)
				}
			}
		} else {
			if _, ok := a.Field("container.id"); ok || a.EvtType() != "" {
				t.Fatal("k8s_audit alert with syscall fields")
			}
			if u, _ := a.Field("ka.user.name"); u == nil {
				t.Fatal("no ka.user.name")
			}
		}
		if v, ok := a.Field("proc.aname[7]"); ok && v == nil {
			deepNA++
		}
		if strings.Contains(a.ToProto().Output, NA) {
			naProto++
		}
	}
	if len(seenRule) != len(rules) {
		t.Errorf("only %d of %d rules generated", len(seenRule), len(rules))
	}
	if hostAlerts == 0 || podAlerts == 0 || naProto == 0 || deepNA == 0 {
		t.Errorf("host %d pod %d <NA> %d deep aname <NA> %d", hostAlerts, podAlerts, naProto, deepNA)
	}
	if share := float64(hostAlerts) / float64(hostAlerts+podAlerts); share > 0.4 {
		t.Errorf("host share %.2f", share)
	}
	if len(g.Pods()) != 40 {
		t.Fatal("pods")
	}
	nss := map[string]bool{}
	for _, p := range g.Pods() {
		nss[p[0]] = true
	}
	if len(nss) != len(DefaultNamespaces) {
		t.Fatalf("pods in %d namespaces", len(nss))
	}
}

func TestGeneratorHostOnlyAndFilters(t *testing.T) {
	g, err := NewGenerator(GeneratorConfig{Seed: 3, Clock: fixedClock, Sources: []string{"syscall"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range g.Rules() {
		if r.Scope() == ScopeContainer || r.Source != "syscall" {
			t.Fatalf("host-only generator selected %q", r.Name)
		}
	}
	for i := 0; i < 500; i++ {
		a := g.Next()
		if id, _ := a.Field("container.id"); id != "host" {
			t.Fatal("non-host alert")
		}
	}

	// A container rule named explicitly in host-only mode: a plain (non-k8s) container.
	g, err = NewGenerator(GeneratorConfig{Seed: 3, Clock: fixedClock, Rules: []string{"Terminal shell in container", "Attach/Exec Pod"}})
	if err != nil || len(g.Rules()) != 2 {
		t.Fatal(err)
	}
	for i := 0; i < 100; i++ {
		a := g.Next()
		if a.Rule.Name == "Terminal shell in container" {
			if id, _ := a.Field("container.id"); id == "host" {
				t.Fatal("container rule on host")
			}
			if ns, _ := a.Field("k8s.ns.name"); ns != nil {
				t.Fatal("k8s fields without pods")
			}
			if tty, _ := a.Field("proc.tty"); tty == int64(0) {
				t.Fatal("terminal shell without tty")
			}
		}
	}

	g, err = NewGenerator(GeneratorConfig{Seed: 3, Pods: 5, RuleCount: 4, EnabledOnly: true})
	if err != nil || len(g.Rules()) != 4 {
		t.Fatal(err, len(g.Rules()))
	}
	if _, err := NewGenerator(GeneratorConfig{Rules: []string{"No such rule"}}); err == nil {
		t.Fatal("unknown rule accepted")
	}
}

func TestGeneratorPriorityMix(t *testing.T) {
	g, err := NewGenerator(GeneratorConfig{Seed: 1, Pods: 3, Priorities: AllPriorities(), Clock: fixedClock})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 800; i++ {
		a := g.Next()
		if a.Priority != Priority(i%8) {
			t.Fatalf("alert %d priority %v", i, a.Priority)
		}
		if !strings.HasPrefix(a.Output(), "06:55:04.123456789: "+a.Priority.String()+" ") {
			t.Fatalf("output %q", a.Output())
		}
	}
	s := g.Tally().Snapshot()
	for _, p := range AllPriorities() {
		if s.ByPriority[p.Lower()] != 100 {
			t.Fatalf("priorities %v", s.ByPriority)
		}
	}
}

func TestPacer(t *testing.T) {
	p := NewPacer(5000)
	start := time.Now()
	n := 0
	for n < 1000 {
		n += p.Take(context.Background(), 64)
	}
	el := time.Since(start)
	if el < 150*time.Millisecond || el > 600*time.Millisecond {
		t.Fatalf("1000 events at 5000/s took %v", el)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if NewPacer(1).Take(ctx, 1) != 1 { // the first event is due at once
		t.Fatal("first")
	}
	p = NewPacer(0.5)
	p.Take(ctx, 1)
	if p.Take(ctx, 1) != 0 {
		t.Fatal("cancelled take")
	}
}
