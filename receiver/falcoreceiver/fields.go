// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package falcoreceiver // import "github.com/otelcol-falco/otelcol-falco/receiver/falcoreceiver"

import (
	"strconv"
	"strings"
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

// defaultMetricAttributes tell falco.events series apart unless the user configures others:
// what fired, how bad, where (the workload's Falco identity fields, both the container plugin's
// and k8smeta's spelling; the falcolabel processor maps them to semantic conventions).
var defaultMetricAttributes = []string{
	attrRule, attrPriority, attrSource, attrTags, "evt.type",
	"k8s.ns.name", "k8s.pod.name", "k8smeta.ns.name", "k8smeta.pod.name",
	"container.id", "container.name",
}

// falcoFieldKinds lists the Falco fields whose values are not strings. Falco's JSON output keeps
// these as numbers or booleans, while its gRPC output turns every value into a string; typing
// gRPC values through this one table makes an alert look the same whichever way it came.
// Keys are the field names without an index ("proc.apid" covers proc.apid[2]).
var falcoFieldKinds = map[string]valueKind{
	// processes and threads
	"proc.pid": kindInt, "proc.ppid": kindInt, "proc.vpid": kindInt, "proc.pvpid": kindInt,
	"proc.apid": kindInt, "proc.sid": kindInt, "proc.vpgid": kindInt, "proc.pgid": kindInt,
	"proc.tty": kindInt, "proc.exe_ino": kindInt, "proc.exe_ino.ctime": kindInt,
	"proc.exe_ino.mtime": kindInt, "proc.exe_ino.ctime_duration_proc_start": kindInt,
	"proc.exe_ino.ctime_duration_pidns_start": kindInt, "proc.pidns_init_start_ts": kindInt,
	"proc.duration": kindInt, "proc.fdopencount": kindInt, "proc.nthreads": kindInt,
	"proc.nchilds": kindInt, "proc.vmsize": kindInt, "proc.vmrss": kindInt, "proc.vmswap": kindInt,
	"thread.tid": kindInt, "thread.vtid": kindInt,
	"proc.is_exe_writable": kindBool, "proc.is_exe_upper_layer": kindBool,
	"proc.is_exe_from_memfd": kindBool, "proc.is_sid_leader": kindBool,
	"proc.is_vpgid_leader": kindBool, "proc.is_container_healthcheck": kindBool,
	"proc.is_container_liveness_probe": kindBool, "proc.is_container_readiness_probe": kindBool,
	"thread.ismain": kindBool,
	// users and groups
	"user.uid": kindInt, "user.loginuid": kindInt, "group.gid": kindInt,
	// file descriptors and network
	"fd.num": kindInt, "fd.sport": kindInt, "fd.dport": kindInt, "fd.lport": kindInt,
	"fd.rport": kindInt, "fd.cport": kindInt, "fd.ino": kindInt, "fd.dev": kindInt,
	"fd.connected": kindBool,
	// events
	"evt.num": kindInt, "evt.rawres": kindInt, "evt.latency": kindInt, "evt.cpu": kindInt,
	"evt.count": kindInt, "evt.rawtime": kindInt, "evt.time": kindInt, "evt.failed": kindBool,
	// containers
	"container.start_ts": kindInt, "container.privileged": kindBool,
}

// fieldKind tells the declared type of a Falco field, looking past an index suffix.
func fieldKind(key string) valueKind {
	if i := strings.IndexByte(key, '['); i > 0 {
		key = key[:i]
	}
	return falcoFieldKinds[key] // kindString when unknown
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
