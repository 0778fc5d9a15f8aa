package falcoemu

import (
	"context"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"time"
)

// GeneratorConfig configures a Generator. The zero value generates alerts of every
// catalog rule on the host only, with each rule's own priority.
type GeneratorConfig struct {
	// Seed makes the sequence deterministic: same seed and config, same alerts (but
	// for their Time, which comes from Clock).
	Seed int64
	// Hostname is the alerts' "hostname" (default "falco-emulator").
	Hostname string
	// Pods is the number of distinct pods the syscall alerts come from, spread over
	// Namespaces. 0 = host only: every syscall alert is a host alert and the rules that
	// only fire in containers are left out (unless named in Rules).
	Pods int
	// Namespaces the pods are spread over (default: 8 namespaces, see DefaultNamespaces).
	Namespaces []string
	// HostRatio is the share of alerts of rules that fire both on hosts and in
	// containers that come from the host when Pods > 0 (default 0.1; < 0 means 0).
	HostRatio float64
	// Rules restricts the rules to these names (exact catalog names).
	Rules []string
	// RuleCount keeps only the first N selected rules (catalog order); 0 = all.
	RuleCount int
	// Sources restricts the rules to these sources ("syscall", "k8s_audit").
	Sources []string
	// EnabledOnly drops the rules Falco ships disabled.
	EnabledOnly bool
	// Priorities overrides each alert's priority: alert n gets Priorities[n % len].
	// nil keeps each rule's own priority; AllPriorities() covers all eight evenly.
	Priorities []Priority
	// K8sMeta adds the k8smeta plugin's fields (K8sMetaFields) to syscall alerts.
	K8sMeta bool
	// Variants is the number of pre-rendered value sets per rule and place (default 8).
	Variants int
	// Clock gives each alert's time (default time.Now).
	Clock func() time.Time
	// Tally counts generated alerts (Falco's rule matches); default a new one. Several
	// generators may share one.
	Tally *Tally
}

// DefaultNamespaces are the namespaces pods are spread over by default.
var DefaultNamespaces = []string{"default", "payments", "checkout", "frontend", "data", "monitoring", "kube-system", "ci"}

// Generator produces alerts. It pre-renders everything at construction; Next only
// picks pre-built parts and stamps the time. A Generator is not safe for concurrent use.
type Generator struct {
	cfg   GeneratorConfig
	rng   *rand.Rand
	rules []*genRule
	pods  []*alertContext
	bare  []*alertContext // plain (non-k8s) containers, for container rules in host-only mode
	host  *alertContext
	clock func() time.Time
	n     atomic.Uint64
	tally *Tally
}

type genRule struct {
	rule      *Rule
	scope     Scope
	hostV     []*variant
	contV     []*variant
	auditV    []*variant
	bareOnly  bool // container-only rule in host-only mode
	hostRatio float64
}

// NewGenerator builds a generator.
func NewGenerator(cfg GeneratorConfig) (*Generator, error) {
	if cfg.Hostname == "" {
		cfg.Hostname = "falco-emulator"
	}
	if cfg.Variants <= 0 {
		cfg.Variants = 8
	}
	if len(cfg.Namespaces) == 0 {
		cfg.Namespaces = DefaultNamespaces
	}
	if cfg.HostRatio == 0 {
		cfg.HostRatio = 0.1
	} else if cfg.HostRatio < 0 {
		cfg.HostRatio = 0
	}
	if cfg.Pods < 0 {
		return nil, fmt.Errorf("pods must be >= 0")
	}
	for _, p := range cfg.Priorities {
		if !p.Valid() {
			return nil, fmt.Errorf("invalid priority %d", p)
		}
	}
	clock := cfg.Clock
	if clock == nil {
		clock = time.Now
	}
	g := &Generator{
		cfg:   cfg,
		rng:   rand.New(rand.NewPCG(uint64(cfg.Seed), 0x9e3779b97f4a7c15)),
		clock: clock,
		tally: cfg.Tally,
	}
	if g.tally == nil {
		g.tally = NewTally()
	}
	rules, named, err := selectRules(cfg)
	if err != nil {
		return nil, err
	}
	base := clock()
	g.buildContexts()
	for _, r := range rules {
		gr := &genRule{rule: r, scope: r.Scope(), hostRatio: cfg.HostRatio}
		switch {
		case r.Source != "syscall":
			gr.auditV = buildVariants(r, false, cfg, base, true)
		case cfg.Pods == 0:
			if gr.scope == ScopeContainer {
				if !named[r.Name] {
					continue
				}
				gr.bareOnly = true
				gr.contV = buildVariants(r, false, cfg, base, false)
			} else {
				gr.hostV = buildVariants(r, true, cfg, base, false)
			}
		default:
			if gr.scope != ScopeContainer {
				gr.hostV = buildVariants(r, true, cfg, base, false)
			}
			if gr.scope != ScopeHost {
				gr.contV = buildVariants(r, false, cfg, base, false)
			}
		}
		g.rules = append(g.rules, gr)
	}
	if len(g.rules) == 0 {
		return nil, fmt.Errorf("no rule selected")
	}
	return g, nil
}

func selectRules(cfg GeneratorConfig) ([]*Rule, map[string]bool, error) {
	named := map[string]bool{}
	for _, n := range cfg.Rules {
		n = strings.TrimSpace(n)
		if n == "" {
			continue
		}
		if RuleByName(n) == nil {
			return nil, nil, fmt.Errorf("unknown rule %q", n)
		}
		named[n] = true
	}
	srcs := map[string]bool{}
	for _, s := range cfg.Sources {
		if s = strings.TrimSpace(s); s != "" {
			srcs[s] = true
		}
	}
	var out []*Rule
	for _, r := range catalog {
		if len(named) > 0 && !named[r.Name] {
			continue
		}
		if len(srcs) > 0 && !srcs[r.Source] {
			continue
		}
		if cfg.EnabledOnly && !r.EnabledByDefault && !named[r.Name] {
			continue
		}
		if cfg.Pods == 0 && r.Source == "syscall" && r.Scope() == ScopeContainer && !named[r.Name] {
			continue
		}
		out = append(out, r)
	}
	if cfg.RuleCount > 0 && cfg.RuleCount < len(out) {
		out = out[:cfg.RuleCount]
	}
	return out, named, nil
}

func subRNG(seed int64, parts ...string) *rand.Rand {
	h := fnv.New64a()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return rand.New(rand.NewPCG(uint64(seed), h.Sum64()))
}

// buildVariants pre-renders cfg.Variants value sets of a rule.
func buildVariants(r *Rule, host bool, cfg GeneratorConfig, base time.Time, audit bool) []*variant {
	place := "container"
	if host {
		place = "host"
	}
	rng := subRNG(cfg.Seed, "variant", r.Name, place)
	pr := profileFor(r)
	out := make([]*variant, 0, cfg.Variants)
	for k := 0; k < cfg.Variants; k++ {
		fs := make([]Field, 0, len(r.Fields))
		if audit {
			for _, key := range r.Fields {
				v, _ := auditValue(r, key, k, rng)
				fs = append(fs, Field{key, v})
			}
		} else {
			b := newVB(r, pr, host, k, rng, base)
			for _, key := range r.Fields {
				v, _ := b.value(key)
				fs = append(fs, Field{key, v})
			}
		}
		out = append(out, newVariant(r, fs))
	}
	return out
}

// UnresolvedFields lists "rule: field" pairs the emulator cannot give a value (should
// be empty; a test checks it).
func UnresolvedFields() []string {
	var out []string
	base := time.Unix(1_700_000_000, 0)
	for _, r := range catalog {
		rng := subRNG(1, r.Name)
		for _, key := range r.Fields {
			var ok bool
			if r.Source == "syscall" {
				_, ok = newVB(r, profileFor(r), false, 0, rng, base).value(key)
			} else {
				_, ok = auditValue(r, key, 0, rng)
			}
			if !ok {
				out = append(out, r.Name+": "+key)
			}
		}
	}
	return out
}

var apps = []struct{ name, image, tag string }{
	{"api", "registry.example.com/shop/api", "2.14.1"},
	{"worker", "registry.example.com/shop/worker", "2.14.1"},
	{"web", "docker.io/library/nginx", "1.27.2"},
	{"redis", "docker.io/library/redis", "7.4.1"},
	{"postgres", "docker.io/library/postgres", "16.4"},
	{"node-exporter", "quay.io/prometheus/node-exporter", "v1.8.2"},
	{"runner", "ghcr.io/actions/actions-runner", "2.320.0"},
	{"frontend", "registry.example.com/shop/frontend", "5.3.0"},
	{"debug", "docker.io/library/busybox", "1.36"},
	{"jupyter", "quay.io/jupyter/base-notebook", "python-3.11"},
}

const podChars = "bcdfghjklmnpqrstvwxz2456789"

func (g *Generator) buildContexts() {
	cfg := g.cfg
	ctxFields := func(id, name, repo, tag, ns, pod any, meta []any) []Field {
		fs := []Field{
			{"container.id", id}, {"container.name", name},
			{"container.image.repository", repo}, {"container.image.tag", tag},
			{"k8s.ns.name", ns}, {"k8s.pod.name", pod},
		}
		if cfg.K8sMeta {
			for i, k := range K8sMetaFields {
				fs = append(fs, Field{k, meta[i]})
			}
		}
		return fs
	}
	g.host = newContext("", "", ctxFields("host", "host", nil, nil, nil, nil, []any{nil, nil, nil, nil}))

	rng := subRNG(cfg.Seed, "pods")
	seen := map[string]bool{}
	for i := 0; i < cfg.Pods; i++ {
		ns := cfg.Namespaces[i%len(cfg.Namespaces)]
		app := apps[(i/len(cfg.Namespaces)+i)%len(apps)]
		var pod string
		for {
			rs := hexish(rng, 10)
			sfx := make([]byte, 5)
			for j := range sfx {
				sfx[j] = podChars[rng.IntN(len(podChars))]
			}
			pod = app.name + "-" + rs + "-" + string(sfx)
			if !seen[ns+"/"+pod] {
				seen[ns+"/"+pod] = true
				break
			}
		}
		uid := fmt.Sprintf("%s-%s-4%s-a%s-%s", hexish(rng, 8), hexish(rng, 4), hexish(rng, 3), hexish(rng, 3), hexish(rng, 12))
		fs := ctxFields(hexish(rng, 12), app.name, app.image, app.tag, ns, pod, []any{ns, pod, uid, app.name})
		g.pods = append(g.pods, newContext(ns, pod, fs))
	}
	names := []string{"nervous_babbage", "quirky_hopper", "elated_turing", "busy_lovelace"}
	for i, n := range names {
		app := apps[(i*3)%len(apps)]
		fs := ctxFields(hexish(rng, 12), n, app.image, app.tag, nil, nil, []any{nil, nil, nil, nil})
		g.bare = append(g.bare, newContext("", "", fs))
	}
}

// Next returns the next alert. Its Time is the generation time (Clock).
func (g *Generator) Next() Alert {
	gr := g.rules[g.rng.IntN(len(g.rules))]
	var v *variant
	var c *alertContext
	switch {
	case gr.auditV != nil:
		v = gr.auditV[g.rng.IntN(len(gr.auditV))]
	case gr.bareOnly:
		v = gr.contV[g.rng.IntN(len(gr.contV))]
		c = g.bare[g.rng.IntN(len(g.bare))]
	case gr.contV == nil || (gr.hostV != nil && g.rng.Float64() < gr.hostRatio):
		v = gr.hostV[g.rng.IntN(len(gr.hostV))]
		c = g.host
	default:
		v = gr.contV[g.rng.IntN(len(gr.contV))]
		c = g.pods[g.rng.IntN(len(g.pods))]
	}
	prio := gr.rule.Priority
	i := g.n.Add(1) - 1
	if n := len(g.cfg.Priorities); n > 0 {
		prio = g.cfg.Priorities[i%uint64(n)]
	}
	a := Alert{Time: g.clock(), Rule: gr.rule, Priority: prio, Hostname: g.cfg.Hostname, v: v, c: c}
	g.tally.Add(&a)
	return a
}

// Generated returns how many alerts Next has produced.
// It is safe to call concurrently with Next.
func (g *Generator) Generated() uint64 { return g.n.Load() }

// Tally returns the tally of generated alerts (Falco's rule matches).
func (g *Generator) Tally() *Tally { return g.tally }

// Rules returns the selected rules.
func (g *Generator) Rules() []*Rule {
	out := make([]*Rule, len(g.rules))
	for i, gr := range g.rules {
		out[i] = gr.rule
	}
	return out
}

// Hostname returns the alerts' hostname.
func (g *Generator) Hostname() string { return g.cfg.Hostname }

// Pods returns the (namespace, pod) pairs syscall alerts come from.
func (g *Generator) Pods() [][2]string {
	out := make([][2]string, len(g.pods))
	for i, c := range g.pods {
		out[i] = [2]string{c.ns, c.pod}
	}
	return out
}

// Pacer spreads events evenly at a rate (events/s); rate <= 0 means no pacing. It lets
// a producer emit in small bursts (at most ~1 ms worth) rather than sleep per event.
type Pacer struct {
	rate  float64
	start time.Time
	done  int64
}

// NewPacer starts a pacer now.
func NewPacer(rate float64) *Pacer { return &Pacer{rate: rate, start: time.Now()} }

// maxDebt bounds how far behind schedule a pacer catches up (then it slips).
const maxDebt = 250 * time.Millisecond

// Take blocks until at least one event is due and returns how many are due now
// (at most max). It returns 0 if ctx is done.
func (p *Pacer) Take(ctx context.Context, max int) int {
	if max <= 0 {
		max = 1
	}
	if p.rate <= 0 {
		if ctx.Err() != nil {
			return 0
		}
		p.done += int64(max)
		return max
	}
	for {
		elapsed := time.Since(p.start)
		due := int64(elapsed.Seconds()*p.rate) + 1 - p.done
		if debt := time.Duration(float64(due) / p.rate * float64(time.Second)); debt > maxDebt {
			// Too far behind (a stall): slip the schedule rather than burst.
			skip := int64((debt - maxDebt).Seconds() * p.rate)
			p.start = p.start.Add(time.Duration(float64(skip) / p.rate * float64(time.Second)))
			due -= skip
		}
		if due > 0 {
			n := int(min(due, int64(max)))
			p.done += int64(n)
			return n
		}
		next := p.start.Add(time.Duration(float64(p.done) / p.rate * float64(time.Second)))
		wait := time.Until(next)
		if wait < 50*time.Microsecond {
			wait = 50 * time.Microsecond
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return 0
		case <-t.C:
		}
	}
}
