package falcoemu

import (
	"encoding/json"
	"os"
	"sort"
	"sync"
	"sync/atomic"
)

// Tally counts alerts: what a gRPC server handed out (Send returned nil), what an HTTP
// sender got acknowledged with a 2xx, or what a generator produced. Add is cheap (one
// map increment under a mutex, keyed by the alert's pre-rendered parts); Snapshot
// expands the counts into every breakdown. A Tally is safe for concurrent use.
type Tally struct {
	total atomic.Uint64
	mu    sync.Mutex
	ctx   []*ctxCounts // by context registry index; 0 = no context (k8s_audit)
	evt   []uint64     // by evt.type registry index
}

// ctxCounts are the counts of one context (pod, host...) by rule and priority.
type ctxCounts struct {
	c  *alertContext
	rp []uint64 // [rule index*8 + priority]
}

// NewTally returns an empty tally.
func NewTally() *Tally { return &Tally{} }

// Add counts one alert.
func (t *Tally) Add(a *Alert) { t.AddN(a, 1) }

// AddN counts n copies of an alert.
func (t *Tally) AddN(a *Alert, n uint64) {
	if n == 0 {
		return
	}
	ri := a.Rule.index()
	t.mu.Lock()
	t.addLocked(a, ri, n)
	t.mu.Unlock()
	t.total.Add(n)
}

func (t *Tally) addLocked(a *Alert, ri int32, n uint64) {
	ci := 0
	if a.c != nil {
		ci = int(a.c.idx)
	}
	if ci >= len(t.ctx) {
		t.ctx = append(t.ctx, make([]*ctxCounts, ci+1-len(t.ctx)+16)...)
	}
	cc := t.ctx[ci]
	if cc == nil {
		cc = &ctxCounts{c: a.c}
		t.ctx[ci] = cc
	}
	k := int(ri)*8 + int(uint8(a.Priority)%8)
	if k >= len(cc.rp) {
		cc.rp = append(cc.rp, make([]uint64, k+1-len(cc.rp)+8*8)...)
	}
	cc.rp[k] += n
	e := int(a.v.evtIdx)
	if e >= len(t.evt) {
		t.evt = append(t.evt, make([]uint64, e+1-len(t.evt)+8)...)
	}
	t.evt[e] += n
}

// AddAll counts a batch of alerts under one lock.
func (t *Tally) AddAll(as []Alert) {
	if len(as) == 0 {
		return
	}
	for i := range as {
		as[i].Rule.index()
	}
	t.mu.Lock()
	for i := range as {
		t.addLocked(&as[i], as[i].Rule.idx.Load(), 1)
	}
	t.mu.Unlock()
	t.total.Add(uint64(len(as)))
}

// Total returns the number of alerts counted so far.
func (t *Tally) Total() uint64 { return t.total.Load() }

// Reset clears the tally.
func (t *Tally) Reset() {
	t.mu.Lock()
	t.ctx, t.evt = nil, nil
	t.total.Store(0)
	t.mu.Unlock()
}

// PodCount is a count for one (k8s.ns.name, k8s.pod.name). Both are "" for alerts
// without them (host alerts, k8s_audit alerts): the label values Prometheus would show.
type PodCount struct {
	Namespace string `json:"namespace"`
	Pod       string `json:"pod"`
	Count     uint64 `json:"count"`
}

// RulePodCount is a count for one (rule, k8s.ns.name, k8s.pod.name).
type RulePodCount struct {
	Rule      string `json:"rule"`
	Namespace string `json:"namespace"`
	Pod       string `json:"pod"`
	Count     uint64 `json:"count"`
}

// RulePriorityCount is a count for one (rule, priority): the series of Falco's
// falcosecurity_falco_rules_matches_total.
type RulePriorityCount struct {
	Rule     string `json:"rule"`
	Priority string `json:"priority"`
	Source   string `json:"source"`
	Count    uint64 `json:"count"`
}

// TallySnapshot is a JSON-serialisable copy of a Tally. Map keys: rule names,
// lowercase priorities ("critical"), sources ("syscall"), evt.type values ("" when the
// alert has none), tags, namespaces ("" when absent). Lists are sorted.
type TallySnapshot struct {
	Total       uint64              `json:"total"`
	ByRule      map[string]uint64   `json:"by_rule"`
	ByPriority  map[string]uint64   `json:"by_priority"`
	BySource    map[string]uint64   `json:"by_source"`
	ByNamespace map[string]uint64   `json:"by_namespace"`
	ByPod       []PodCount          `json:"by_pod"`
	ByEvtType   map[string]uint64   `json:"by_evt_type"`
	ByTag       map[string]uint64   `json:"by_tag"`
	ByRulePod   []RulePodCount      `json:"by_rule_pod"`
	ByRulePrio  []RulePriorityCount `json:"by_rule_priority"`
}

// Snapshot returns the counts so far.
func (t *Tally) Snapshot() TallySnapshot {
	type pk struct{ ns, pod string }
	type rpk struct{ rule, ns, pod string }
	type rprk struct {
		rule *Rule
		prio Priority
	}
	s := TallySnapshot{
		ByRule: map[string]uint64{}, ByPriority: map[string]uint64{}, BySource: map[string]uint64{},
		ByNamespace: map[string]uint64{}, ByEvtType: map[string]uint64{}, ByTag: map[string]uint64{},
		ByPod: []PodCount{}, ByRulePod: []RulePodCount{}, ByRulePrio: []RulePriorityCount{},
	}
	pods := map[pk]uint64{}
	rulePods := map[rpk]uint64{}
	rulePrios := map[rprk]uint64{}
	t.each(func(c *alertContext, r *Rule, p Priority, n uint64) {
		var ns, pod string
		if c != nil {
			ns, pod = c.ns, c.pod
		}
		s.Total += n
		s.ByRule[r.Name] += n
		s.ByPriority[p.Lower()] += n
		s.BySource[r.Source] += n
		s.ByNamespace[ns] += n
		for _, tag := range r.Tags {
			s.ByTag[tag] += n
		}
		pods[pk{ns, pod}] += n
		rulePods[rpk{r.Name, ns, pod}] += n
		rulePrios[rprk{r, p}] += n
	})
	t.mu.Lock()
	for e, n := range t.evt {
		if n > 0 {
			s.ByEvtType[evtTypeAt(e)] += n
		}
	}
	t.mu.Unlock()

	for k, n := range pods {
		s.ByPod = append(s.ByPod, PodCount{k.ns, k.pod, n})
	}
	sort.Slice(s.ByPod, func(i, j int) bool {
		a, b := s.ByPod[i], s.ByPod[j]
		if a.Namespace != b.Namespace {
			return a.Namespace < b.Namespace
		}
		return a.Pod < b.Pod
	})
	for k, n := range rulePods {
		s.ByRulePod = append(s.ByRulePod, RulePodCount{k.rule, k.ns, k.pod, n})
	}
	sort.Slice(s.ByRulePod, func(i, j int) bool {
		a, b := s.ByRulePod[i], s.ByRulePod[j]
		if a.Rule != b.Rule {
			return a.Rule < b.Rule
		}
		if a.Namespace != b.Namespace {
			return a.Namespace < b.Namespace
		}
		return a.Pod < b.Pod
	})
	for k, n := range rulePrios {
		s.ByRulePrio = append(s.ByRulePrio, RulePriorityCount{k.rule.Name, k.prio.Lower(), k.rule.Source, n})
	}
	sort.Slice(s.ByRulePrio, func(i, j int) bool {
		a, b := s.ByRulePrio[i], s.ByRulePrio[j]
		if a.Rule != b.Rule {
			return a.Rule < b.Rule
		}
		return a.Priority < b.Priority
	})
	return s
}

// each calls f for every non-zero (context, rule, priority) count, under the lock.
func (t *Tally) each(f func(c *alertContext, r *Rule, p Priority, n uint64)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, cc := range t.ctx {
		if cc == nil {
			continue
		}
		for k, n := range cc.rp {
			if n > 0 {
				f(cc.c, ruleAt(k/8), Priority(k%8), n)
			}
		}
	}
}

// ruleMatches returns per (rule, priority) counts with the rule itself (for metrics).
func (t *Tally) ruleMatches() map[*Rule]map[Priority]uint64 {
	out := map[*Rule]map[Priority]uint64{}
	t.each(func(_ *alertContext, r *Rule, p Priority, n uint64) {
		m := out[r]
		if m == nil {
			m = map[Priority]uint64{}
			out[r] = m
		}
		m[p] += n
	})
	return out
}

// PodCount returns the count for one (namespace, pod) of the snapshot (0 if none).
func (s *TallySnapshot) PodCount(ns, pod string) uint64 {
	for _, p := range s.ByPod {
		if p.Namespace == ns && p.Pod == pod {
			return p.Count
		}
	}
	return 0
}

// RulePodCount returns the count for one (rule, namespace, pod) of the snapshot.
func (s *TallySnapshot) RulePodCount(rule, ns, pod string) uint64 {
	for _, p := range s.ByRulePod {
		if p.Rule == rule && p.Namespace == ns && p.Pod == pod {
			return p.Count
		}
	}
	return 0
}

// WriteFile writes the snapshot as indented JSON.
func (s TallySnapshot) WriteFile(path string) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// ReadTallyFile reads a snapshot written by WriteFile (or the CLI's -summary, whose
// top-level keys include a snapshot's).
func ReadTallyFile(path string) (TallySnapshot, error) {
	var s TallySnapshot
	b, err := os.ReadFile(path)
	if err != nil {
		return s, err
	}
	err = json.Unmarshal(b, &s)
	return s, err
}
