// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package falcolabelprocessor // import "github.com/otelcol-falco/otelcol-falco/processor/falcolabelprocessor"

import "github.com/otelcol-falco/otelcol-falco/internal/falcofields"

// defaultMappings is the built-in table, read from falcofields.Table (documented in README.md):
// every Falco field with a semantic-convention target, in the table's order. Entries that share a
// target are in priority order: the first entry with a value wins, so the container plugin's
// fields beat k8smeta's, and Falco's full container id beats the 12-character one.
var defaultMappings = func() []Mapping {
	var out []Mapping
	for _, f := range falcofields.Table {
		if f.Semconv != "" {
			out = append(out, Mapping{From: f.Name, To: f.Semconv, Type: conversionOf[f.As]})
		}
	}
	return out
}()

var conversionOf = map[falcofields.Conversion]Conversion{
	falcofields.Keep:          ConversionNone,
	falcofields.ToString:      ConversionString,
	falcofields.ToInt:         ConversionInt,
	falcofields.ToStringSlice: ConversionStringSlice,
}

// Target keys with special rules.
const (
	targetFilePath    = falcofields.FilePath // written only for file events
	targetK8sNodeName = "k8s.node.name"
)

// containerPrefix marks the targets dropped for host events, which have no container.
const containerPrefix = "container."

// mergeMappings applies the user's entries to the built-in table: an entry for a Falco field
// already in the table replaces it in place (keeping its priority), an entry with an empty `to`
// removes it, and new entries are appended in configuration order.
func mergeMappings(builtin, user []Mapping) []Mapping {
	merged := make([]Mapping, len(builtin), len(builtin)+len(user))
	copy(merged, builtin)
	for _, u := range user {
		replaced := false
		for i := range merged {
			if merged[i].From == u.From {
				merged[i] = u
				replaced = true
				break
			}
		}
		if !replaced {
			merged = append(merged, u)
		}
	}
	kept := merged[:0]
	for _, m := range merged {
		if m.To != "" && m.From != "" {
			kept = append(kept, m)
		}
	}
	return kept
}
