package falcoemu

import (
	"sync"
	"sync/atomic"
)

// The registry gives rules, evt.type values and contexts small integer indexes so a
// Tally can count alerts in slices instead of maps.
var registry = struct {
	mu      sync.RWMutex
	rules   []*Rule // index -> rule (0 unused)
	evts    []string
	evtIdx  map[string]int32
	podCtx  map[[2]string]*alertContext // NewAlert's contexts, interned by (ns, pod)
	nextCtx atomic.Int32
}{rules: []*Rule{nil}, evts: []string{""}, evtIdx: map[string]int32{"": 0}, podCtx: map[[2]string]*alertContext{}}

// index returns the rule's registry index, registering it on first use.
func (r *Rule) index() int32 {
	if i := r.idx.Load(); i > 0 {
		return i
	}
	registry.mu.Lock()
	defer registry.mu.Unlock()
	if i := r.idx.Load(); i > 0 {
		return i
	}
	i := int32(len(registry.rules))
	registry.rules = append(registry.rules, r)
	r.idx.Store(i)
	return i
}

func ruleAt(i int) *Rule {
	registry.mu.RLock()
	defer registry.mu.RUnlock()
	return registry.rules[i]
}

func internEvtType(s string) int32 {
	registry.mu.RLock()
	i, ok := registry.evtIdx[s]
	registry.mu.RUnlock()
	if ok {
		return i
	}
	registry.mu.Lock()
	defer registry.mu.Unlock()
	if i, ok := registry.evtIdx[s]; ok {
		return i
	}
	i = int32(len(registry.evts))
	registry.evts = append(registry.evts, s)
	registry.evtIdx[s] = i
	return i
}

func evtTypeAt(i int) string {
	registry.mu.RLock()
	defer registry.mu.RUnlock()
	return registry.evts[i]
}

func newContextIdx() int32 { return registry.nextCtx.Add(1) }

// podOnlyContext returns the (interned) field-less context of a hand-made alert.
func podOnlyContext(ns, pod string) *alertContext {
	k := [2]string{ns, pod}
	registry.mu.RLock()
	c := registry.podCtx[k]
	registry.mu.RUnlock()
	if c != nil {
		return c
	}
	registry.mu.Lock()
	defer registry.mu.Unlock()
	if c = registry.podCtx[k]; c == nil {
		c = &alertContext{ns: ns, pod: pod, idx: newContextIdx()}
		registry.podCtx[k] = c
	}
	return c
}

func init() {
	for _, r := range catalog {
		r.index()
	}
}
