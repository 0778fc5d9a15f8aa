// Package falcoemu emulates Falco for otelcol-falco's tests, demo and benchmarks.
//
// It has a catalog of Falco's real rules (the rule files embedded from rules/, read by
// rules_load.go), a deterministic alert
// generator (generator.go), renderers for Falco's gRPC output (outputs.Response) and
// JSON output (alert.go), a gRPC server with Falco's outputs-service semantics
// (grpcserver.go), an HTTP sender that posts alerts like Falco's http_output
// (httpsender.go), Falco's Prometheus /metrics endpoint (metrics.go) and a tally of what
// was delivered (tally.go).
package falcoemu

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
)

// Priority is a Falco priority. Its numeric value is Falco's (and the gRPC
// schema.Priority enum's): 0 = emergency … 7 = debug.
type Priority int8

// The eight Falco priorities, in Falco's order.
const (
	PriorityEmergency Priority = iota
	PriorityAlert
	PriorityCritical
	PriorityError
	PriorityWarning
	PriorityNotice
	PriorityInformational
	PriorityDebug
)

// Falco's priority names (falco_common.cpp priority_names): used in the output line
// and in JSON's "priority".
var priorityNames = [...]string{"Emergency", "Alert", "Critical", "Error", "Warning", "Notice", "Informational", "Debug"}
var priorityLower = [...]string{"emergency", "alert", "critical", "error", "warning", "notice", "informational", "debug"}

// AllPriorities returns the eight priorities from emergency to debug.
func AllPriorities() []Priority {
	return []Priority{PriorityEmergency, PriorityAlert, PriorityCritical, PriorityError,
		PriorityWarning, PriorityNotice, PriorityInformational, PriorityDebug}
}

// String returns Falco's capitalised name, e.g. "Critical", "Informational".
func (p Priority) String() string {
	if p < 0 || int(p) >= len(priorityNames) {
		return fmt.Sprintf("Priority(%d)", int(p))
	}
	return priorityNames[p]
}

// Lower returns the lowercase name, e.g. "critical" (the tally's key).
func (p Priority) Lower() string {
	if p < 0 || int(p) >= len(priorityLower) {
		return fmt.Sprintf("priority(%d)", int(p))
	}
	return priorityLower[p]
}

// Valid reports whether p is one of the eight priorities.
func (p Priority) Valid() bool { return p >= 0 && int(p) < len(priorityNames) }

// ParsePriority parses a priority name case-insensitively; like Falco it also accepts
// "info" for informational (and, for convenience, "warn").
func ParsePriority(s string) (Priority, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	switch t {
	case "info":
		return PriorityInformational, nil
	case "warn":
		return PriorityWarning, nil
	}
	for i, n := range priorityLower {
		if t == n {
			return Priority(i), nil
		}
	}
	return 0, fmt.Errorf("unknown priority %q", s)
}

// ParsePriorities parses "" (none: each rule's own priority), "all" (the eight
// priorities in turn) or a comma-separated list of names.
func ParsePriorities(s string) ([]Priority, error) {
	s = strings.TrimSpace(s)
	switch strings.ToLower(s) {
	case "", "rule", "rules", "none":
		return nil, nil
	case "all":
		return AllPriorities(), nil
	}
	var out []Priority
	for _, part := range strings.Split(s, ",") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		p, err := ParsePriority(part)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// Scope tells where a rule fires: on the host, in containers, or both (from its tags).
type Scope int8

// Scopes.
const (
	ScopeBoth Scope = iota
	ScopeHost
	ScopeContainer
)

// Rule is one Falco rule as the emulator knows it.
type Rule struct {
	Name     string
	Priority Priority
	// Source is Falco's event source: "syscall" or "k8s_audit".
	Source string
	// Tags are sorted in byte order, as Falco emits them (a std::set).
	Tags []string
	// Output is the rule's output format, e.g. "Shell spawned ... | evt_type=%evt.type ...".
	Output string
	// Maturity: "stable", "incubating", "sandbox" or "k8saudit".
	Maturity         string
	EnabledByDefault bool
	// Fields are the %fields of Output (the output_fields keys), first appearance order.
	Fields []string
	// EvtTypes are the syscalls the rule's condition matches, most typical first.
	EvtTypes []string

	once sync.Once
	segs []segment

	idx     atomic.Int32 // index in the registry (tallies count by it)
	encOnce sync.Once
	jTail   []byte // `"rule":"…","source":"…","tags":[…],"time":"`
	pbRule  []byte // proto fields 3 and 4
	pbTags  []byte // proto fields 8 and 9
}

type segment struct {
	text  string // literal text, or
	field string // a field reference (when non-empty)
}

// Scope derives the rule's scope from its tags ("host", "container").
func (r *Rule) Scope() Scope {
	var host, cont bool
	for _, t := range r.Tags {
		switch t {
		case "host":
			host = true
		case "container":
			cont = true
		}
	}
	switch {
	case host && !cont:
		return ScopeHost
	case cont && !host:
		return ScopeContainer
	}
	return ScopeBoth
}

// HasTag reports whether the rule carries tag t.
func (r *Rule) HasTag(t string) bool {
	for _, x := range r.Tags {
		if x == t {
			return true
		}
	}
	return false
}

func (r *Rule) segments() []segment {
	r.once.Do(func() { r.segs = parseFormat(r.Output) })
	return r.segs
}

// parseFormat splits a Falco output format into literal text and %field references.
// A field is %name with name made of [A-Za-z0-9_.] (a trailing '.' is text), then an
// optional [argument], e.g. %proc.aname[2] or %jevt.value[/requestObject/spec/volumes].
func parseFormat(f string) []segment {
	var segs []segment
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			segs = append(segs, segment{text: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(f); {
		c := f[i]
		if c != '%' {
			lit.WriteByte(c)
			i++
			continue
		}
		j := i + 1
		for j < len(f) && isFieldChar(f[j]) {
			j++
		}
		for j > i+1 && f[j-1] == '.' {
			j--
		}
		if j == i+1 { // a lone '%'
			lit.WriteByte(c)
			i++
			continue
		}
		if j < len(f) && f[j] == '[' {
			if k := strings.IndexByte(f[j:], ']'); k > 0 {
				j += k + 1
			}
		}
		flush()
		segs = append(segs, segment{field: f[i+1 : j]})
		i = j
	}
	flush()
	return segs
}

func isFieldChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.'
}

// FormatFields returns the %field keys of a Falco output format, deduplicated, in order.
func FormatFields(format string) []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range parseFormat(format) {
		if s.field != "" && !seen[s.field] {
			seen[s.field] = true
			out = append(out, s.field)
		}
	}
	return out
}

// Rules returns the whole catalog (Falco's stable, incubating and sandbox rules and a
// set of k8saudit plugin rules). The returned rules must not be modified.
func Rules() []*Rule { return catalog }

var ruleIndex = func() map[string]*Rule {
	m := make(map[string]*Rule, len(catalog))
	for _, r := range catalog {
		m[r.Name] = r
	}
	return m
}()

// RuleByName returns the catalog rule with that name, or nil.
func RuleByName(name string) *Rule { return ruleIndex[name] }

// Sources returns the distinct sources of the catalog, sorted.
func Sources() []string {
	set := map[string]bool{}
	for _, r := range catalog {
		set[r.Source] = true
	}
	var out []string
	for s := range set {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// Falco's standard output suffix for syscall alerts: falco.yaml's append_output with the
// container plugin (Falco >= 0.41) appends this to every syscall rule's output.
const containerSuffixFormat = "container_id=%container.id container_name=%container.name " +
	"container_image_repository=%container.image.repository container_image_tag=%container.image.tag " +
	"k8s_pod_name=%k8s.pod.name k8s_ns_name=%k8s.ns.name"

// ContainerFields are the output_fields keys appended to every syscall alert.
var ContainerFields = []string{"container.id", "container.name", "container.image.repository",
	"container.image.tag", "k8s.ns.name", "k8s.pod.name"}

// K8sMetaFields are the k8smeta plugin's fields the generator adds (as append_output
// extra_fields, i.e. output_fields only) when GeneratorConfig.K8sMeta is set.
var K8sMetaFields = []string{"k8smeta.ns.name", "k8smeta.pod.name", "k8smeta.pod.uid", "k8smeta.deployment.name"}
