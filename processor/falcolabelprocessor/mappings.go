// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package falcolabelprocessor // import "github.com/otelcol-falco/otelcol-falco/processor/falcolabelprocessor"

// defaultMappings is the built-in table from Falco fields to OpenTelemetry semantic conventions,
// as documented in README.md. Entries that share a target are in priority order: the first
// entry with a value wins, so the container plugin's fields beat k8smeta's, and Falco's full
// container id beats the 12-character one.
var defaultMappings = []Mapping{
	// Containers (container plugin).
	{From: "container.full_id", To: "container.id"},
	{From: "container.id", To: "container.id"},
	{From: "container.name", To: "container.name"},
	{From: "container.image.repository", To: "container.image.name"},
	{From: "container.image.tag", To: "container.image.tags", Type: ConversionStringSlice},
	{From: "container.image.id", To: "container.image.id"},
	{From: "container.type", To: "container.runtime.name"},

	// Kubernetes: the container plugin's fields (and its legacy k8s.pod.id) first, k8smeta's second.
	{From: "k8s.ns.name", To: "k8s.namespace.name"},
	{From: "k8smeta.ns.name", To: "k8s.namespace.name"},
	{From: "k8s.pod.name", To: "k8s.pod.name"},
	{From: "k8smeta.pod.name", To: "k8s.pod.name"},
	{From: "k8s.pod.uid", To: "k8s.pod.uid"},
	{From: "k8s.pod.id", To: "k8s.pod.uid"},
	{From: "k8smeta.pod.uid", To: "k8s.pod.uid"},
	{From: "k8smeta.deployment.name", To: "k8s.deployment.name"},
	{From: "k8smeta.deployment.uid", To: "k8s.deployment.uid"},
	{From: "k8smeta.rs.name", To: "k8s.replicaset.name"},
	{From: "k8smeta.rs.uid", To: "k8s.replicaset.uid"},

	// Processes.
	{From: "proc.pid", To: "process.pid", Type: ConversionInt},
	{From: "proc.ppid", To: "process.parent_pid", Type: ConversionInt},
	{From: "proc.exepath", To: "process.executable.path"},
	{From: "proc.name", To: "process.executable.name"},
	{From: "proc.exe", To: "process.command"},
	{From: "proc.cmdline", To: "process.command_line"},
	{From: "proc.cwd", To: "process.working_directory"},

	// Users.
	{From: "user.name", To: "user.name"},
	{From: "user.uid", To: "user.id", Type: ConversionString},

	// Files: written only for file events, see isFileEvent.
	{From: "fd.name", To: "file.path"},
}

// Target keys with special rules.
const (
	targetFilePath    = "file.path"
	targetK8sNodeName = "k8s.node.name"
)

// resourcePrefixes select the identity keys that describe a workload and so belong to the
// resource; every other target stays on the record or data point.
var resourcePrefixes = []string{"k8s.", "container.", "host."}

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
