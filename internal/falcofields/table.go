// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package falcofields // import "github.com/otelcol-falco/otelcol-falco/internal/falcofields"

// Type is a field's declared type. Falco's JSON output keeps it (numbers, booleans); its gRPC
// output turns every value into a string, which the receiver types back through this.
type Type uint8

const (
	String Type = iota
	Int
	Bool
)

// Conversion is how a value is written under its semantic-convention attribute.
type Conversion uint8

const (
	Keep          Conversion = iota // Falco's own type
	ToString                        // e.g. user.uid 0 -> user.id "0"
	ToInt                           // e.g. proc.pid "1234" (gRPC) -> process.pid 1234
	ToStringSlice                   // a one-element slice, e.g. container.image.tags
)

// Field is what is known about one Falco field.
type Field struct {
	Name string // Falco's name without an index: proc.aname covers proc.aname[2]
	Type Type
	// Semconv is the OpenTelemetry attribute the field maps to, "" when none. Fields that share
	// one name the same thing; their order in Table is their priority (the first with a value
	// wins), so the container plugin's spelling beats k8smeta's.
	Semconv string
	As      Conversion
}

// Table is every Falco field with a non-string type or a semantic-convention target.
var Table = []Field{
	// Containers (container plugin). The full id beats the 12-character one.
	{Name: "container.full_id", Semconv: "container.id"},
	{Name: "container.id", Semconv: "container.id"},
	{Name: "container.name", Semconv: "container.name"},
	{Name: "container.image.repository", Semconv: "container.image.name"},
	{Name: "container.image.tag", Semconv: "container.image.tags", As: ToStringSlice},
	{Name: "container.image.id", Semconv: "container.image.id"},
	{Name: "container.type", Semconv: "container.runtime.name"},
	{Name: "container.start_ts", Type: Int},
	{Name: "container.privileged", Type: Bool},

	// Kubernetes: the container plugin's fields (and its legacy k8s.pod.id) first, k8smeta's second.
	{Name: "k8s.ns.name", Semconv: "k8s.namespace.name"},
	{Name: "k8smeta.ns.name", Semconv: "k8s.namespace.name"},
	{Name: "k8s.pod.name", Semconv: "k8s.pod.name"},
	{Name: "k8smeta.pod.name", Semconv: "k8s.pod.name"},
	{Name: "k8s.pod.uid", Semconv: "k8s.pod.uid"},
	{Name: "k8s.pod.id", Semconv: "k8s.pod.uid"},
	{Name: "k8smeta.pod.uid", Semconv: "k8s.pod.uid"},
	{Name: "k8smeta.deployment.name", Semconv: "k8s.deployment.name"},
	{Name: "k8smeta.deployment.uid", Semconv: "k8s.deployment.uid"},
	{Name: "k8smeta.rs.name", Semconv: "k8s.replicaset.name"},
	{Name: "k8smeta.rs.uid", Semconv: "k8s.replicaset.uid"},

	// Processes and threads.
	{Name: "proc.pid", Type: Int, Semconv: "process.pid", As: ToInt},
	{Name: "proc.ppid", Type: Int, Semconv: "process.parent_pid", As: ToInt},
	{Name: "proc.exepath", Semconv: "process.executable.path"},
	{Name: "proc.name", Semconv: "process.executable.name"},
	{Name: "proc.exe", Semconv: "process.command"}, // argv[0]
	{Name: "proc.cmdline", Semconv: "process.command_line"},
	{Name: "proc.cwd", Semconv: "process.working_directory"},
	{Name: "proc.vpid", Type: Int}, {Name: "proc.pvpid", Type: Int}, {Name: "proc.apid", Type: Int},
	{Name: "proc.sid", Type: Int}, {Name: "proc.vpgid", Type: Int}, {Name: "proc.pgid", Type: Int},
	{Name: "proc.tty", Type: Int}, {Name: "proc.exe_ino", Type: Int},
	{Name: "proc.exe_ino.ctime", Type: Int}, {Name: "proc.exe_ino.mtime", Type: Int},
	{Name: "proc.exe_ino.ctime_duration_proc_start", Type: Int},
	{Name: "proc.exe_ino.ctime_duration_pidns_start", Type: Int},
	{Name: "proc.pidns_init_start_ts", Type: Int}, {Name: "proc.duration", Type: Int},
	{Name: "proc.fdopencount", Type: Int}, {Name: "proc.nthreads", Type: Int},
	{Name: "proc.nchilds", Type: Int}, {Name: "proc.vmsize", Type: Int},
	{Name: "proc.vmrss", Type: Int}, {Name: "proc.vmswap", Type: Int},
	{Name: "thread.tid", Type: Int}, {Name: "thread.vtid", Type: Int},
	{Name: "proc.is_exe_writable", Type: Bool}, {Name: "proc.is_exe_upper_layer", Type: Bool},
	{Name: "proc.is_exe_from_memfd", Type: Bool}, {Name: "proc.is_sid_leader", Type: Bool},
	{Name: "proc.is_vpgid_leader", Type: Bool}, {Name: "proc.is_container_healthcheck", Type: Bool},
	{Name: "proc.is_container_liveness_probe", Type: Bool},
	{Name: "proc.is_container_readiness_probe", Type: Bool},
	{Name: "thread.ismain", Type: Bool},

	// Users and groups.
	{Name: "user.name", Semconv: "user.name"},
	{Name: "user.uid", Type: Int, Semconv: "user.id", As: ToString},
	{Name: "user.loginuid", Type: Int},
	{Name: "group.gid", Type: Int},

	// File descriptors and network. fd.name becomes file.path only for file events.
	{Name: "fd.name", Semconv: FilePath},
	{Name: "fd.num", Type: Int}, {Name: "fd.sport", Type: Int}, {Name: "fd.dport", Type: Int},
	{Name: "fd.lport", Type: Int}, {Name: "fd.rport", Type: Int}, {Name: "fd.cport", Type: Int},
	{Name: "fd.ino", Type: Int}, {Name: "fd.dev", Type: Int}, {Name: "fd.connected", Type: Bool},

	// Events.
	{Name: "evt.num", Type: Int}, {Name: "evt.rawres", Type: Int}, {Name: "evt.latency", Type: Int},
	{Name: "evt.cpu", Type: Int}, {Name: "evt.count", Type: Int}, {Name: "evt.rawtime", Type: Int},
	{Name: "evt.time", Type: Int}, {Name: "evt.failed", Type: Bool},
}

// FilePath is the target written only for file events (see IsFileEvent).
const FilePath = "file.path"

var byName = func() map[string]*Field {
	m := make(map[string]*Field, len(Table))
	for i := range Table {
		m[Table[i].Name] = &Table[i]
	}
	return m
}()

// Lookup returns what is known about a Falco field, looking past an index suffix
// (proc.aname[2] is proc.aname); ok is false for a field the table does not list, which is a
// string without a semantic-convention target.
func Lookup(key string) (Field, bool) {
	if f, ok := byName[baseName(key)]; ok {
		return *f, true
	}
	return Field{}, false
}

// TypeOf is the declared type of a Falco field; String when the table does not list it.
func TypeOf(key string) Type {
	if f, ok := byName[baseName(key)]; ok {
		return f.Type
	}
	return String
}

func baseName(key string) string {
	for i := 1; i < len(key); i++ {
		if key[i] == '[' {
			return key[:i]
		}
	}
	return key
}
