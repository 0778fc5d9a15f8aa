// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package falcofields // import "github.com/otelcol-falco/otelcol-falco/internal/falcofields"

// NoValue is what Falco prints for a field without a value in this event: over gRPC, in the
// output line and in older JSON output (newer JSON writes null).
const NoValue = "<NA>"

// IsNoValue reports Falco's ways of saying a field has no value: "<NA>", the empty string, and
// null (written as text by some forwarders). Such a value never becomes an attribute of a
// metric or a semantic-convention copy.
func IsNoValue(s string) bool {
	return s == "" || s == NoValue || s == "null"
}
