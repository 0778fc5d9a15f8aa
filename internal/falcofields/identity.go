// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package falcofields // import "github.com/otelcol-falco/otelcol-falco/internal/falcofields"

import "strings"

// Identity fields and Falco's value for "this event happened on the host, not in a container".
const (
	ContainerID     = "container.id"
	ContainerFullID = "container.full_id"
	ContainerName   = "container.name"
	HostContainer   = "host"
)

// IsHostEvent applies Falco's marking of host events: container.id (or container.full_id) is
// "host"; or, when neither carries an id, container.name is "host".
func IsHostEvent(containerID, containerName string) bool {
	if containerID == HostContainer {
		return true
	}
	return IsNoValue(containerID) && containerName == HostContainer
}

// Spellings returns the Falco fields that name the same thing as field, in priority order: the
// fields of Table sharing its semantic-convention target (k8s.pod.name, then k8smeta.pod.name).
// A field without a target is its only spelling. Counting by the first spelling with a value
// gives one series per workload whichever plugin filled the alert.
func Spellings(field string) []string {
	f, ok := byName[field]
	if !ok || f.Semconv == "" || f.Semconv == FilePath {
		return []string{field}
	}
	var out []string
	for i := range Table {
		if Table[i].Semconv == f.Semconv {
			out = append(out, Table[i].Name)
		}
	}
	return out
}

// IsIdentity reports whether a semantic-convention key describes a workload (k8s.*,
// container.*, host.*) and so belongs on the resource rather than on a record or data point.
func IsIdentity(semconv string) bool {
	return strings.HasPrefix(semconv, "k8s.") || strings.HasPrefix(semconv, "container.") ||
		strings.HasPrefix(semconv, "host.")
}
