package falcoemu

import (
	"encoding/json"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
)

func TestTally(t *testing.T) {
	g, err := NewGenerator(GeneratorConfig{Seed: 9, Pods: 6, Clock: fixedClock})
	if err != nil {
		t.Fatal(err)
	}
	tl := NewTally()
	want := TallySnapshot{ByRule: map[string]uint64{}, ByPriority: map[string]uint64{}, BySource: map[string]uint64{},
		ByNamespace: map[string]uint64{}, ByEvtType: map[string]uint64{}, ByTag: map[string]uint64{}}
	pods := map[[2]string]uint64{}
	rulePods := map[[3]string]uint64{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	alerts := make([]Alert, 4000)
	for i := range alerts {
		alerts[i] = g.Next()
	}
	for w := 0; w < 4; w++ { // concurrent adds
		wg.Add(1)
		go func(part []Alert) {
			defer wg.Done()
			for i := range part {
				a := &part[i]
				tl.Add(a)
				mu.Lock()
				want.Total++
				want.ByRule[a.Rule.Name]++
				want.ByPriority[a.Priority.Lower()]++
				want.BySource[a.Source()]++
				want.ByNamespace[a.Namespace()]++
				want.ByEvtType[a.EvtType()]++
				for _, tag := range a.Tags() {
					want.ByTag[tag]++
				}
				pods[[2]string{a.Namespace(), a.Pod()}]++
				rulePods[[3]string{a.Rule.Name, a.Namespace(), a.Pod()}]++
				mu.Unlock()
			}
		}(alerts[w*1000 : (w+1)*1000])
	}
	wg.Wait()
	s := tl.Snapshot()
	if s.Total != 4000 || tl.Total() != 4000 {
		t.Fatal("total")
	}
	for _, c := range []struct {
		name      string
		got, want map[string]uint64
	}{
		{"rule", s.ByRule, want.ByRule}, {"priority", s.ByPriority, want.ByPriority}, {"source", s.BySource, want.BySource},
		{"namespace", s.ByNamespace, want.ByNamespace}, {"evt_type", s.ByEvtType, want.ByEvtType}, {"tag", s.ByTag, want.ByTag},
	} {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("by %s:\n%v\n%v", c.name, c.got, c.want)
		}
	}
	if len(s.ByPod) != len(pods) || len(s.ByRulePod) != len(rulePods) {
		t.Fatal("pod lists")
	}
	for k, n := range pods {
		if s.PodCount(k[0], k[1]) != n {
			t.Fatalf("pod %v", k)
		}
	}
	for k, n := range rulePods {
		if s.RulePodCount(k[0], k[1], k[2]) != n {
			t.Fatalf("rule pod %v", k)
		}
	}
	if s.PodCount("", "") == 0 || s.ByEvtType[""] == 0 || s.BySource["k8s_audit"] == 0 {
		t.Fatal("host / k8s_audit alerts should count under empty keys")
	}
	var sum uint64
	for _, rp := range s.ByRulePrio {
		sum += rp.Count
		if rp.Priority != RuleByName(rp.Rule).Priority.Lower() {
			t.Fatal("rule priority")
		}
	}
	if sum != 4000 {
		t.Fatal("by_rule_priority")
	}

	// JSON round trip, via a file.
	p := filepath.Join(t.TempDir(), "tally.json")
	if err := s.WriteFile(p); err != nil {
		t.Fatal(err)
	}
	back, err := ReadTallyFile(p)
	if err != nil || !reflect.DeepEqual(back, s) {
		t.Fatalf("round trip: %v", err)
	}
	b, _ := json.Marshal(s)
	var m map[string]any
	json.Unmarshal(b, &m)
	for _, k := range []string{"total", "by_rule", "by_priority", "by_source", "by_pod", "by_evt_type", "by_tag", "by_rule_pod", "by_namespace", "by_rule_priority"} {
		if _, ok := m[k]; !ok {
			t.Errorf("json lacks %s", k)
		}
	}
	tl.Reset()
	if tl.Total() != 0 || tl.Snapshot().Total != 0 {
		t.Fatal("reset")
	}
}
