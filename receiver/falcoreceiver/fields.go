// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package falcoreceiver // import "github.com/otelcol-falco/otelcol-falco/receiver/falcoreceiver"

import (
	"strconv"

	"github.com/otelcol-falco/otelcol-falco/internal/falcofields"
)

// Attribute names the receiver writes besides the output_fields, which keep their Falco keys.
const (
	attrRule     = "falco.rule"
	attrPriority = "falco.priority"
	attrSource   = "falco.source"
	attrTags     = "falco.tags"
	// MITRE ATT&CK references parsed out of the tags, for SIEM rules keyed on them.
	attrMitreTactics    = "falco.mitre.tactics"
	attrMitreTechniques = "falco.mitre.techniques"
	attrOverflow        = "otel.metric.overflow"

	attrHostName    = "host.name"
	attrServiceName = "service.name"
	serviceName     = "falco"
	eventName       = "falco.alert"
	eventsMetric    = "falco.events"
)

// noValue is what Falco prints for a field that has no value in this event.
const noValue = falcofields.NoValue

// defaultMetricAttributes tell falco.events series apart unless the user configures others:
// what fired, how bad, where. Each workload field counts under one name whichever spelling the
// alert carries (k8s.pod.name from the container plugin, else k8smeta.pod.name: see
// falcofields.Spellings), so one workload is one series; the falcolabel processor renames them
// to semantic conventions.
var defaultMetricAttributes = []string{
	attrRule, attrPriority, attrSource, attrTags, "evt.type",
	"k8s.ns.name", "k8s.pod.name", "container.id", "container.name",
}

// fieldKind tells the declared type of a Falco field (falcofields.Table), looking past an index
// suffix. Falco's JSON output keeps numbers and booleans, while its gRPC output turns every value
// into a string; typing gRPC values through the one table makes an alert look the same whichever
// way it came.
func fieldKind(key string) valueKind {
	switch falcofields.TypeOf(key) {
	case falcofields.Int:
		return kindInt
	case falcofields.Bool:
		return kindBool
	default:
		return kindString
	}
}

// typedFromString types a gRPC string value by the field's declared kind; a value that does not
// parse (such as <NA>) stays a string, exactly as Falco printed it. Only values that look like a
// number or a boolean pay for the table look-up.
func typedFromString(key, s string) fieldValue {
	if s == "" {
		return stringValue(s)
	}
	switch c := s[0]; {
	case c == '-' || (c >= '0' && c <= '9'):
		// isDecimal first: a failed ParseInt allocates its error, and int fields often carry
		// non-numbers (evt.time is a clock string over gRPC); hex ids also skip the look-up.
		if isDecimal(s) && fieldKind(key) == kindInt {
			if n, err := strconv.ParseInt(s, 10, 64); err == nil {
				return fieldValue{Kind: kindInt, Int: n}
			}
		}
	case s == "true" || s == "false":
		if fieldKind(key) == kindBool {
			return fieldValue{Kind: kindBool, Bool: s == "true"}
		}
	}
	return stringValue(s)
}

// isDecimal reports whether s is what ParseInt(s, 10, 64) accepts, overflow aside: an optional
// '-' and at least one digit. ('+' never reaches it: typedFromString keeps "+1" a string.)
func isDecimal(s string) bool {
	if s != "" && s[0] == '-' {
		s = s[1:]
	}
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// evtTimeField is the output field Falco fills from the alert's time: epoch nanoseconds in its
// JSON output, but a clock string ("06:55:04.123456789") over gRPC.
const evtTimeField = "evt.time"

// alignGRPCFields makes a gRPC alert's fields match what Falco's JSON output carries: evt.time
// becomes the alert time in epoch nanoseconds, as in JSON.
func alignGRPCFields(a *alert) {
	if a.Time.IsZero() {
		return
	}
	for i := range a.Fields {
		if f := &a.Fields[i]; f.Key == evtTimeField && f.Value.Kind == kindString {
			f.Value = fieldValue{Kind: kindInt, Int: a.Time.UnixNano()}
		}
	}
}
