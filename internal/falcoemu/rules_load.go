package falcoemu

import (
	"embed"
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// ruleFiles are Falco's own rule files (falcosecurity/rules: stable, incubating and sandbox, with
// their LICENSE) and a selection of the k8saudit plugin's rules, embedded as they ship.
//
//go:embed rules/*.yaml
var ruleFiles embed.FS

// maturityOf names a rule file's maturity, as the rules' maturity_* tag does.
var maturityOf = map[string]string{
	"falco_rules.yaml":            "stable",
	"falco-incubating_rules.yaml": "incubating",
	"falco-sandbox_rules.yaml":    "sandbox",
	"k8s_audit_rules.yaml":        "k8saudit",
}

// ruleFileOrder is the catalog's order: Falco's maturity levels, then the plugin's rules.
var ruleFileOrder = []string{"falco_rules.yaml", "falco-incubating_rules.yaml", "falco-sandbox_rules.yaml", "k8s_audit_rules.yaml"}

// ruleItem is one entry of a Falco rule file: a rule, a macro or a list (other entries, such as
// required_engine_version, decode to nothing of interest).
type ruleItem struct {
	Rule      string `yaml:"rule"`
	Macro     string `yaml:"macro"`
	List      string `yaml:"list"`
	Condition string `yaml:"condition"`
	Output    string `yaml:"output"`
	Priority  string `yaml:"priority"`
	Source    string `yaml:"source"`
	Tags      []string
	Enabled   *bool `yaml:"enabled"`
	Items     []any `yaml:"items"`
}

var catalog = mustLoadCatalog()

func mustLoadCatalog() []*Rule {
	rules, err := loadCatalog()
	if err != nil {
		panic(err) // the files are embedded: a test catches this before anyone else
	}
	return rules
}

// loadCatalog reads the embedded rule files into rules, in file order.
func loadCatalog() ([]*Rule, error) {
	var rules []*Rule
	macros, lists := map[string]string{}, map[string][]string{}
	for _, name := range ruleFileOrder {
		b, err := ruleFiles.ReadFile(path.Join("rules", name))
		if err != nil {
			return nil, err
		}
		var items []ruleItem
		if err := yaml.Unmarshal(b, &items); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		var conditions []string
		for _, it := range items {
			switch {
			case it.Macro != "":
				macros[it.Macro] = it.Condition
			case it.List != "":
				for _, v := range it.Items {
					lists[it.List] = append(lists[it.List], fmt.Sprint(v))
				}
			case it.Rule != "":
				r, err := newCatalogRule(it, maturityOf[name])
				if err != nil {
					return nil, fmt.Errorf("%s: %w", name, err)
				}
				rules = append(rules, r)
				conditions = append(conditions, it.Condition)
			}
		}
		// Macros and lists may be defined after the rules that use them (and across files).
		for i, cond := range conditions {
			r := rules[len(rules)-len(conditions)+i]
			if r.Source == "syscall" {
				r.EvtTypes = evtTypes(cond, macros, lists)
			}
		}
	}
	return rules, nil
}

func newCatalogRule(it ruleItem, maturity string) (*Rule, error) {
	prio, err := ParsePriority(it.Priority)
	if err != nil {
		return nil, fmt.Errorf("rule %q: %w", it.Rule, err)
	}
	source := it.Source
	if source == "" {
		source = "syscall"
	}
	tags := slices.Clone(it.Tags)
	sort.Strings(tags) // Falco emits a std::set
	output := strings.Join(strings.Fields(it.Output), " ")
	return &Rule{
		Name: it.Rule, Priority: prio, Source: source, Tags: tags, Output: output,
		Maturity: maturity, EnabledByDefault: it.Enabled == nil || *it.Enabled,
		Fields: FormatFields(output),
	}, nil
}

// evtTypes lists the syscalls a rule's condition matches on (evt.type = x, evt.type in (...),
// through its macros and lists), in order of appearance; negated tests are skipped.
func evtTypes(cond string, macros map[string]string, lists map[string][]string) []string {
	var out []string
	add := func(v string) {
		for _, t := range expandList(v, lists, 0) {
			if !slices.Contains(out, t) {
				out = append(out, t)
			}
		}
	}
	var walk func(cond string, depth int)
	walk = func(cond string, depth int) {
		toks := conditionTokens(cond)
		for i := 0; i < len(toks); i++ {
			negated := i > 0 && toks[i-1] == "not"
			switch {
			case toks[i] == "evt.type" && i+2 < len(toks) && toks[i+1] == "in" && toks[i+2] == "(":
				for i += 3; i < len(toks) && toks[i] != ")"; i++ {
					if toks[i] != "," && !negated {
						add(toks[i])
					}
				}
			case toks[i] == "evt.type" && i+2 < len(toks) && toks[i+1] == "=":
				if !negated {
					add(toks[i+2])
				}
				i += 2
			case macros[toks[i]] != "" && !negated && depth < 16:
				walk(macros[toks[i]], depth+1)
			}
		}
	}
	walk(cond, 0)
	return typicalFirst(out)
}

// expandList replaces a list name by its items, recursively.
func expandList(v string, lists map[string][]string, depth int) []string {
	items, ok := lists[v]
	if !ok || depth > 8 {
		return []string{v}
	}
	var out []string
	for _, it := range items {
		out = append(out, expandList(it, lists, depth+1)...)
	}
	return out
}

// conditionTokens splits a Falco condition into names, values, parentheses, commas and the
// = operator (other operators are kept as words, so they never read as =).
func conditionTokens(cond string) []string {
	var toks []string
	for i := 0; i < len(cond); {
		switch c := cond[i]; {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(' || c == ')' || c == ',' || c == '=':
			toks = append(toks, cond[i:i+1])
			i++
		case c == '"' || c == '\'':
			end := strings.IndexByte(cond[i+1:], c)
			if end < 0 {
				end = len(cond) - i - 1
			}
			toks = append(toks, cond[i+1:i+1+end])
			i += end + 2
		default:
			j := i
			for j < len(cond) && !strings.ContainsRune(" \t\n\r(),=\"'", rune(cond[j])) {
				j++
			}
			if j == i { // a lone operator character such as ! before =
				j++
			}
			toks = append(toks, cond[i:j])
			i = j
		}
	}
	return toks
}

// typicalSyscalls are the syscalls a modern libc and server use (openat rather than open, execve
// rather than execveat, accept4 rather than accept), most typical first: a rule's generated
// alerts mostly carry its first evt.type, as on a real node.
var typicalSyscalls = []string{"connect", "execve", "openat", "dup2", "finit_module", "accept4", "recvfrom",
	"renameat2", "unlinkat", "mkdirat", "symlinkat", "linkat", "fchmodat"}

// typicalFirst orders types by typicalSyscalls, the others after them as they appeared.
func typicalFirst(types []string) []string {
	rank := func(t string) int {
		if i := slices.Index(typicalSyscalls, t); i >= 0 {
			return i
		}
		return len(typicalSyscalls)
	}
	slices.SortStableFunc(types, func(a, b string) int { return rank(a) - rank(b) })
	return types
}
