// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package falcolabelprocessor // import "github.com/otelcol-falco/otelcol-falco/processor/falcolabelprocessor"

// DefaultTargets returns the built-in table as Falco field → semantic-convention key, for
// documentation and for end-to-end checks that need to find a Falco field after the processor.
// fd.name maps to file.path only for file events.
func DefaultTargets() map[string]string {
	out := make(map[string]string, len(defaultMappings))
	for _, m := range defaultMappings {
		out[m.From] = m.To
	}
	return out
}
