// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package falcoreceiver

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

var (
	alertTime    = time.Date(2026, 11, 26, 6, 55, 4, 123456789, time.UTC)
	observedTime = alertTime.Add(3 * time.Millisecond)
)

// terminalShellAlert is Falco's stable "Terminal shell in container" rule as it arrives over
// gRPC: every value a string, container plugin fields appended.
func terminalShellAlert() *alert {
	return &alert{
		Time:     alertTime,
		Priority: priorityNotice,
		Rule:     "Terminal shell in container",
		Output:   "06:55:04.123456789: Notice A shell was spawned in a container with an attached terminal | evt_type=execve user=root ...",
		Source:   "syscall",
		Hostname: "node-1",
		Tags:     []string{"T1059", "container", "maturity_stable", "mitre_execution", "shell"},
		Fields: []field{
			{"evt.type", stringValue("execve")},
			{"user.name", stringValue("root")},
			{"user.uid", typedFromString("user.uid", "0")},
			{"user.loginuid", typedFromString("user.loginuid", "-1")},
			{"proc.name", stringValue("bash")},
			{"proc.exepath", stringValue("/usr/bin/bash")},
			{"proc.pname", stringValue("runc")},
			{"proc.cmdline", stringValue("bash -il")},
			{"proc.tty", typedFromString("proc.tty", "34816")},
			{"evt.arg.flags", stringValue("EXE_WRITABLE|EXE_LOWER_LAYER")},
			{"proc.aname[2]", stringValue("containerd-shim")},
			{"proc.aname[3]", stringValue(noValue)},
			{"container.id", stringValue("3ad7b26ded6d")},
			{"container.name", stringValue("nginx")},
			{"k8s.ns.name", stringValue("shop")},
			{"k8s.pod.name", stringValue("nginx-7c5ddbdf54-x2x8p")},
		},
	}
}

func TestFillLogRecord(t *testing.T) {
	logs := alertsToLogs([]*alert{terminalShellAlert()}, observedTime)
	require.Equal(t, 1, logs.ResourceLogs().Len())
	rl := logs.ResourceLogs().At(0)
	assert.Equal(t, map[string]any{"host.name": "node-1", "service.name": "falco"}, rl.Resource().Attributes().AsRaw())
	assert.Equal(t, "github.com/otelcol-falco/otelcol-falco/receiver/falcoreceiver", rl.ScopeLogs().At(0).Scope().Name())

	lr := rl.ScopeLogs().At(0).LogRecords().At(0)
	assert.Equal(t, pcommon.NewTimestampFromTime(alertTime), lr.Timestamp())
	assert.Equal(t, pcommon.NewTimestampFromTime(observedTime), lr.ObservedTimestamp())
	assert.Equal(t, "falco.alert", lr.EventName())
	assert.Equal(t, "Notice", lr.SeverityText())
	assert.Equal(t, plog.SeverityNumberInfo2, lr.SeverityNumber())
	assert.Contains(t, lr.Body().Str(), "A shell was spawned")
	assert.Equal(t, map[string]any{
		"falco.rule":             "Terminal shell in container",
		"falco.priority":         "notice",
		"falco.source":           "syscall",
		"falco.tags":             []any{"T1059", "container", "maturity_stable", "mitre_execution", "shell"},
		"falco.mitre.tactics":    []any{"execution"},
		"falco.mitre.techniques": []any{"T1059"},
		"evt.type":               "execve",
		"user.name":              "root",
		"user.uid":               int64(0),
		"user.loginuid":          int64(-1),
		"proc.name":              "bash",
		"proc.exepath":           "/usr/bin/bash",
		"proc.pname":             "runc",
		"proc.cmdline":           "bash -il",
		"proc.tty":               int64(34816),
		"evt.arg.flags":          "EXE_WRITABLE|EXE_LOWER_LAYER",
		"proc.aname[2]":          "containerd-shim",
		"proc.aname[3]":          "<NA>",
		"container.id":           "3ad7b26ded6d",
		"container.name":         "nginx",
		"k8s.ns.name":            "shop",
		"k8s.pod.name":           "nginx-7c5ddbdf54-x2x8p",
	}, lr.Attributes().AsRaw())
}

func TestSeverityOfEveryPriority(t *testing.T) {
	tests := []struct {
		prio     priority
		text     string
		attr     string
		severity plog.SeverityNumber
	}{
		{priorityEmergency, "Emergency", "emergency", plog.SeverityNumberFatal4},
		{priorityAlert, "Alert", "alert", plog.SeverityNumberFatal3},
		{priorityCritical, "Critical", "critical", plog.SeverityNumberFatal},
		{priorityError, "Error", "error", plog.SeverityNumberError},
		{priorityWarning, "Warning", "warning", plog.SeverityNumberWarn},
		{priorityNotice, "Notice", "notice", plog.SeverityNumberInfo2},
		{priorityInformational, "Informational", "informational", plog.SeverityNumberInfo},
		{priorityDebug, "Debug", "debug", plog.SeverityNumberDebug},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			a := terminalShellAlert()
			a.Priority = tt.prio
			lr := alertsToLogs([]*alert{a}, observedTime).ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
			assert.Equal(t, tt.text, lr.SeverityText())
			assert.Equal(t, tt.severity, lr.SeverityNumber())
			got, _ := lr.Attributes().Get("falco.priority")
			assert.Equal(t, tt.attr, got.Str())

			parsed, err := parsePriority(tt.text)
			require.NoError(t, err)
			assert.Equal(t, tt.prio, parsed)
		})
	}
}

func TestConvertEdgeShapes(t *testing.T) {
	tests := []struct {
		name      string
		mutate    func(a *alert)
		check     func(t *testing.T, logs plog.Logs)
		resources int
	}{
		{
			name:   "empty tags stay an empty slice",
			mutate: func(a *alert) { a.Tags = nil },
			check: func(t *testing.T, logs plog.Logs) {
				v, ok := firstRecord(logs).Attributes().Get("falco.tags")
				require.True(t, ok)
				assert.Equal(t, pcommon.ValueTypeSlice, v.Type())
				assert.Equal(t, 0, v.Slice().Len())
			},
		},
		{
			name:   "missing hostname leaves host.name out",
			mutate: func(a *alert) { a.Hostname = "" },
			check: func(t *testing.T, logs plog.Logs) {
				assert.Equal(t, map[string]any{"service.name": "falco"}, logs.ResourceLogs().At(0).Resource().Attributes().AsRaw())
			},
		},
		{
			name:   "missing time leaves the timestamp unset",
			mutate: func(a *alert) { a.Time = time.Time{} },
			check: func(t *testing.T, logs plog.Logs) {
				assert.Equal(t, pcommon.Timestamp(0), firstRecord(logs).Timestamp())
				assert.NotZero(t, firstRecord(logs).ObservedTimestamp())
			},
		},
		{
			name: "typed JSON values keep their types",
			mutate: func(a *alert) {
				a.Fields = []field{
					{"proc.pid", fieldValue{Kind: kindInt, Int: 4242}},
					{"evt.arg.ratio", fieldValue{Kind: kindDouble, Double: 0.5}},
					{"container.privileged", fieldValue{Kind: kindBool, Bool: true}},
					{"proc.aname[2]", stringValue("sshd")},
				}
			},
			check: func(t *testing.T, logs plog.Logs) {
				attrs := firstRecord(logs).Attributes()
				v, _ := attrs.Get("proc.pid")
				assert.Equal(t, int64(4242), v.Int())
				v, _ = attrs.Get("evt.arg.ratio")
				assert.InDelta(t, 0.5, v.Double(), 0)
				v, _ = attrs.Get("container.privileged")
				assert.True(t, v.Bool())
				v, _ = attrs.Get("proc.aname[2]")
				assert.Equal(t, "sshd", v.Str())
			},
		},
		{
			name: "list fields become typed slices; uint64 beyond int64 keeps its exact digits",
			mutate: func(a *alert) {
				a.Fields = []field{
					{"ka.req.pod.containers.image", listValue(`["nginx:1.27","busybox"]`, stringValue("nginx:1.27"), stringValue("busybox"))},
					{"ka.req.pod.host_port", listValue(`[8080]`, intValue(8080))},
					{"flags", listValue(`[true,0.5]`, fieldValue{Kind: kindBool, Bool: true}, fieldValue{Kind: kindDouble, Double: 0.5})},
					{"evt.arg.res", stringValue("18446744073709551615")},
				}
			},
			check: func(t *testing.T, logs plog.Logs) {
				attrs := firstRecord(logs).Attributes().AsRaw()
				assert.Equal(t, []any{"nginx:1.27", "busybox"}, attrs["ka.req.pod.containers.image"])
				assert.Equal(t, []any{int64(8080)}, attrs["ka.req.pod.host_port"])
				assert.Equal(t, []any{true, 0.5}, attrs["flags"])
				assert.Equal(t, "18446744073709551615", attrs["evt.arg.res"])
			},
		},
		{
			name:   "message is the body when Falco leaves output out",
			mutate: func(a *alert) { a.Output, a.Message = "", "A shell was spawned in a container" },
			check: func(t *testing.T, logs plog.Logs) {
				assert.Equal(t, "A shell was spawned in a container", firstRecord(logs).Body().Str())
			},
		},
		{
			name:   "output wins over message when Falco sends both",
			mutate: func(a *alert) { a.Output, a.Message = "06:55:04.1: Notice A shell", "A shell" },
			check: func(t *testing.T, logs plog.Logs) {
				assert.Equal(t, "06:55:04.1: Notice A shell", firstRecord(logs).Body().Str())
			},
		},
		{
			name:   "an unknown priority keeps the record without a severity",
			mutate: func(a *alert) { a.Priority = 9 },
			check: func(t *testing.T, logs plog.Logs) {
				lr := firstRecord(logs)
				assert.Equal(t, plog.SeverityNumberUnspecified, lr.SeverityNumber())
				v, _ := lr.Attributes().Get("falco.priority")
				assert.Equal(t, "unknown", v.Str())
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := terminalShellAlert()
			tt.mutate(a)
			tt.check(t, alertsToLogs([]*alert{a}, observedTime))
		})
	}
}

func TestAlertsGroupedByHost(t *testing.T) {
	a, b, c := terminalShellAlert(), terminalShellAlert(), terminalShellAlert()
	b.Hostname = "node-2"
	logs := alertsToLogs([]*alert{a, b, c}, observedTime)
	require.Equal(t, 2, logs.ResourceLogs().Len())
	assert.Equal(t, 2, logs.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().Len())
	assert.Equal(t, 1, logs.ResourceLogs().At(1).ScopeLogs().At(0).LogRecords().Len())
	assert.Equal(t, 3, logs.LogRecordCount())
}

func TestMitreFromTags(t *testing.T) {
	tests := []struct {
		name                string
		tags                []string
		tactics, techniques []any
	}{
		{"stable rule", []string{"T1555", "container", "filesystem", "host", "maturity_stable", "mitre_credential_access"}, []any{"credential_access"}, []any{"T1555"}},
		{"sub-technique and two tactics", []string{"T1611", "T1068.001", "mitre_privilege_escalation", "mitre_defense_evasion"}, []any{"privilege_escalation", "defense_evasion"}, []any{"T1611", "T1068.001"}},
		{"no MITRE tags", []string{"container", "maturity_sandbox"}, nil, nil},
		// falco_rules.yaml: [maturity_stable, host, container, process, mitre_persistence, TA0003, PCI_DSS_11.5.1]
		{"tactic id beside its tag", []string{"PCI_DSS_11.5.1", "TA0003", "container", "host", "maturity_stable", "mitre_persistence", "process"}, []any{"persistence"}, nil},
		{"tactic id alone", []string{"TA0011", "container", "network"}, []any{"command_and_control"}, nil},
		{"technique with a name", []string{"T1562-impair-defenses", "T1562.001", "mitre_defense_evasion"}, []any{"defense_evasion"}, []any{"T1562", "T1562.001"}},
		{"look-alikes are not techniques", []string{"T10", "T1059.", "Tabc1", "t1059", "mitre_"}, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := terminalShellAlert()
			a.Tags = tt.tags
			attrs := firstRecord(alertsToLogs([]*alert{a}, observedTime)).Attributes().AsRaw()
			for key, want := range map[string][]any{"falco.mitre.tactics": tt.tactics, "falco.mitre.techniques": tt.techniques} {
				got, ok := attrs[key]
				if want == nil {
					assert.False(t, ok, "%s should be absent, got %v", key, got)
					continue
				}
				assert.Equal(t, want, got, key)
			}
		})
	}
}

func TestTypedFromString(t *testing.T) {
	tests := []struct {
		key, in string
		want    fieldValue
	}{
		{"proc.pid", "1234", fieldValue{Kind: kindInt, Int: 1234}},
		{"user.loginuid", "-1", fieldValue{Kind: kindInt, Int: -1}},
		{"proc.apid[2]", "77", fieldValue{Kind: kindInt, Int: 77}},
		{"fd.rport", "<NA>", stringValue("<NA>")},
		{"proc.pid", "", stringValue("")},
		{"container.id", "123456789012", stringValue("123456789012")}, // an id, not a number
		{"proc.aname[2]", "true", stringValue("true")},
		{"container.privileged", "true", fieldValue{Kind: kindBool, Bool: true}},
		{"proc.is_exe_writable", "false", fieldValue{Kind: kindBool}},
		{"fd.lport", "99999999999999999999", stringValue("99999999999999999999")},
		{"evt.time", "06:55:04.123456789", stringValue("06:55:04.123456789")}, // gRPC's clock string
		{"proc.pid", "-", stringValue("-")},
		{"proc.pid", "-0", fieldValue{Kind: kindInt}},
		{"proc.pid", "12a", stringValue("12a")},
		{"proc.pid", "1_000", stringValue("1_000")},
		{"proc.pid", "+5", stringValue("+5")},
		{"proc.pid", "-9223372036854775808", fieldValue{Kind: kindInt, Int: -9223372036854775808}},
	}
	for _, tt := range tests {
		t.Run(tt.key+"="+tt.in, func(t *testing.T) {
			assert.Equal(t, tt.want, typedFromString(tt.key, tt.in))
		})
	}
}

// A value of an int field that is no number (evt.time over gRPC, every alert) must not cost
// the allocations of a failed strconv.ParseInt.
func TestTypedFromStringNonNumberDoesNotAllocate(t *testing.T) {
	assert.Zero(t, testing.AllocsPerRun(100, func() { typedFromString("evt.time", "06:55:04.123456789") }))
}

func TestParsePrioritySpellings(t *testing.T) {
	for _, s := range []string{"CRITICAL", "critical", "Critical"} {
		p, err := parsePriority(s)
		require.NoError(t, err)
		assert.Equal(t, priorityCritical, p)
	}
	p, err := parsePriority("info")
	require.NoError(t, err)
	assert.Equal(t, priorityInformational, p)
	_, err = parsePriority("severe")
	assert.ErrorContains(t, err, `unknown priority "severe"`)
}

func firstRecord(logs plog.Logs) plog.LogRecord {
	return logs.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
}

// fillLogRecord sizes the attribute map up front with mitreAttrCount; it must count exactly what
// putMitre adds.
func TestMitreAttrCountMatchesPutMitre(t *testing.T) {
	for _, tags := range [][]string{
		nil,
		{"container", "shell"},
		{"mitre_execution"},
		{"T1059"},
		{"T1059.004", "mitre_execution", "mitre_persistence", "T1543"},
		{"mitre_", "T", "T10x9", "Tabcd"},
		{"TA0003", "mitre_persistence"},
		{"T1562-impair-defenses"},
	} {
		attrs := pcommon.NewMap()
		putMitre(attrs, tags)
		assert.Equal(t, attrs.Len(), mitreAttrCount(tags), "tags %v", tags)
	}
}
