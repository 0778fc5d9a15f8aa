// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package falcoreceiver // import "github.com/otelcol-falco/otelcol-falco/receiver/falcoreceiver"

import (
	"fmt"
	"strings"
	"time"
)

// alert is one Falco alert as both transports decode it, before it becomes telemetry.
type alert struct {
	Time     time.Time
	Priority priority
	Rule     string
	Output   string
	Message  string // Falco's output without time and priority (json_include_message_property)
	Source   string
	Hostname string
	Tags     []string
	Fields   []field
}

// reset empties the alert for reuse while keeping its slices' capacity.
func (a *alert) reset() {
	tags, fields := a.Tags[:0], a.Fields[:0]
	*a = alert{Tags: tags, Fields: fields}
}

// field is one output_fields entry under its Falco key (e.g. proc.cmdline, proc.aname[2]).
type field struct {
	Key   string
	Value fieldValue
}

type valueKind uint8

const (
	kindString valueKind = iota
	kindInt
	kindDouble
	kindBool
	kindList // a JSON array (Falco's list fields): List holds its items
)

// fieldValue keeps Falco's JSON types; over gRPC every value arrives as a string and is typed
// through falcoFieldKinds so both transports give the same attributes. An integer beyond int64
// (Falco's uint64 fields reach 2^64-1) is a string of its exact decimal digits: OpenTelemetry
// has no unsigned type, a double would round it and a wrapped int64 would flip its sign.
type fieldValue struct {
	Str    string
	Int    int64
	Double float64
	List   []fieldValue // kindList only; items are scalars, nested JSON is kept as its text
	Kind   valueKind
	Bool   bool
}

func stringValue(s string) fieldValue { return fieldValue{Kind: kindString, Str: s} }

// priority is Falco's alert priority; the values match the gRPC schema enum (0=emergency).
type priority int8

const (
	priorityEmergency priority = iota
	priorityAlert
	priorityCritical
	priorityError
	priorityWarning
	priorityNotice
	priorityInformational
	priorityDebug
)

// priorityNames are Falco's own spellings, as it writes them in alerts.
var priorityNames = [...]string{"Emergency", "Alert", "Critical", "Error", "Warning", "Notice", "Informational", "Debug"}

// priorityLowerNames are the attribute values (falco.priority), as Falco's metrics spell them.
var priorityLowerNames = [...]string{"emergency", "alert", "critical", "error", "warning", "notice", "informational", "debug"}

func (p priority) valid() bool { return p >= priorityEmergency && p <= priorityDebug }

// String is Falco's spelling (Critical); lower is the attribute value (critical).
func (p priority) String() string {
	if !p.valid() {
		return fmt.Sprintf("priority(%d)", int(p))
	}
	return priorityNames[p]
}

func (p priority) lower() string {
	if !p.valid() {
		return "unknown"
	}
	return priorityLowerNames[p]
}

// parsePriority accepts every spelling Falco emits or accepts in its config: any case, and
// "info" for informational.
func parsePriority(s string) (priority, error) {
	for i, name := range priorityLowerNames {
		if strings.EqualFold(s, name) {
			return priority(i), nil
		}
	}
	if strings.EqualFold(s, "info") {
		return priorityInformational, nil
	}
	return 0, fmt.Errorf("unknown priority %q (want one of emergency, alert, critical, error, warning, notice, informational, debug)", s)
}
