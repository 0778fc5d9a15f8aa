// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package falcoreceiver

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/otelcol-falco/otelcol-falco/receiver/falcoreceiver/internal/metadata"
)

// terminalShellJSON is the alert of terminalShellAlert as Falco's json_output writes it: keys
// sorted by nlohmann::json, output_fields typed, null for a field without a value, evt.time in
// integer nanoseconds.
const terminalShellJSON = `{"hostname":"node-1","output":"10:11:12.123456789: Notice A shell was spawned in a container with an attached terminal | evt_type=execve user=root user_uid=0 user_loginuid=-1 process=bash proc_exepath=/usr/bin/bash parent=runc command=bash -il terminal=34816 exe_flags=EXE_WRITABLE|EXE_LOWER_LAYER gparent=containerd-shim ggparent=<NA> container_id=3ad7b26ded6d container_name=nginx container_image_repository=<NA> k8s_ns_name=shop k8s_pod_name=nginx-7c5ddbdf54-x2x8p","output_fields":{"container.id":"3ad7b26ded6d","container.image.repository":null,"container.name":"nginx","evt.arg.flags":"EXE_WRITABLE|EXE_LOWER_LAYER","evt.time":1746353472123456789,"evt.type":"execve","k8s.ns.name":"shop","k8s.pod.name":"nginx-7c5ddbdf54-x2x8p","proc.aname[2]":"containerd-shim","proc.aname[3]":null,"proc.cmdline":"bash -il","proc.exepath":"/usr/bin/bash","proc.name":"bash","proc.pname":"runc","proc.tty":34816,"user.loginuid":-1,"user.name":"root","user.uid":0},"priority":"Notice","rule":"Terminal shell in container","source":"syscall","tags":["T1059","container","maturity_stable","mitre_execution","shell"],"time":"2025-05-04T10:11:12.123456789Z"}`

var terminalShellTime = time.Date(2025, 5, 4, 10, 11, 12, 123456789, time.UTC)

func decodeOne(t *testing.T, body string) *alert {
	t.Helper()
	var d httpDecoder
	alerts, err := d.decode([]byte(body))
	require.NoError(t, err)
	require.Len(t, alerts, 1)
	return alerts[0]
}

func fieldMap(a *alert) map[string]fieldValue {
	m := make(map[string]fieldValue, len(a.Fields))
	for _, f := range a.Fields {
		m[f.Key] = f.Value
	}
	return m
}

func intValue(n int64) fieldValue { return fieldValue{Kind: kindInt, Int: n} }

func listValue(text string, items ...fieldValue) fieldValue {
	return fieldValue{Kind: kindList, Str: text, List: items}
}

func TestDecodeTerminalShell(t *testing.T) {
	a := decodeOne(t, terminalShellJSON)
	assert.Equal(t, terminalShellTime, a.Time)
	assert.Equal(t, priorityNotice, a.Priority)
	assert.Equal(t, "Terminal shell in container", a.Rule)
	assert.Equal(t, "syscall", a.Source)
	assert.Equal(t, "node-1", a.Hostname)
	assert.True(t, strings.HasPrefix(a.Output, "10:11:12.123456789: Notice A shell was spawned"))
	assert.Equal(t, []string{"T1059", "container", "maturity_stable", "mitre_execution", "shell"}, a.Tags)
	assert.Equal(t, map[string]fieldValue{
		"container.id":   stringValue("3ad7b26ded6d"),
		"container.name": stringValue("nginx"),
		"evt.arg.flags":  stringValue("EXE_WRITABLE|EXE_LOWER_LAYER"),
		"evt.time":       intValue(1746353472123456789),
		"evt.type":       stringValue("execve"),
		"k8s.ns.name":    stringValue("shop"),
		"k8s.pod.name":   stringValue("nginx-7c5ddbdf54-x2x8p"),
		"proc.aname[2]":  stringValue("containerd-shim"),
		"proc.cmdline":   stringValue("bash -il"),
		"proc.exepath":   stringValue("/usr/bin/bash"),
		"proc.name":      stringValue("bash"),
		"proc.pname":     stringValue("runc"),
		"proc.tty":       intValue(34816),
		"user.loginuid":  intValue(-1),
		"user.name":      stringValue("root"),
		"user.uid":       intValue(0),
	}, fieldMap(a), "null values (proc.aname[3], container.image.repository) are dropped")
}

func TestDecodeShapes(t *testing.T) {
	tests := []struct {
		name  string
		body  string
		check func(t *testing.T, a *alert)
	}{
		{
			name: "only the required properties",
			body: `{"rule":"Launch Privileged Container","priority":"Informational","time":"2025-05-04T10:11:12.000000001Z"}`,
			check: func(t *testing.T, a *alert) {
				assert.Equal(t, priorityInformational, a.Priority)
				assert.Equal(t, time.Date(2025, 5, 4, 10, 11, 12, 1, time.UTC), a.Time)
				assert.Empty(t, a.Output)
				assert.Empty(t, a.Hostname)
				assert.Empty(t, a.Source)
				assert.Empty(t, a.Tags)
				assert.Empty(t, a.Fields)
			},
		},
		{
			name: "null optional properties are absent",
			body: `{"rule":"r","priority":"Debug","time":"2025-05-04T10:11:12Z","output":null,"hostname":null,"source":null,"tags":null,"output_fields":null}`,
			check: func(t *testing.T, a *alert) {
				assert.Empty(t, a.Output)
				assert.Empty(t, a.Tags)
				assert.Empty(t, a.Fields)
			},
		},
		{
			name: "<NA> printed as a string is no value, like null",
			body: `{"rule":"r","priority":"Notice","time":"2025-05-04T10:11:12Z","output_fields":{"fd.rport":"<NA>","proc.aname[4]":"<NA>","proc.name":"bash"}}`,
			check: func(t *testing.T, a *alert) {
				assert.Equal(t, map[string]fieldValue{"proc.name": stringValue("bash")}, fieldMap(a))
			},
		},
		{
			name: "numbers keep their JSON types",
			body: `{"rule":"r","priority":"Notice","time":"2025-05-04T10:11:12Z","output_fields":{"evt.arg.ratio":0.5,"falco.cpu":1.0,"evt.exp":1e-07,"fd.num":-0,"big":18446744073709551615,"min":-9223372036854775808,"max":9223372036854775807,"huge":1e999}}`,
			check: func(t *testing.T, a *alert) {
				assert.Equal(t, map[string]fieldValue{
					"evt.arg.ratio": {Kind: kindDouble, Double: 0.5},
					"falco.cpu":     {Kind: kindDouble, Double: 1},
					"evt.exp":       {Kind: kindDouble, Double: 1e-07},
					"fd.num":        intValue(0),
					"big":           stringValue("18446744073709551615"),
					"min":           intValue(-9223372036854775808),
					"max":           intValue(9223372036854775807),
					"huge":          stringValue("1e999"),
				}, fieldMap(a))
			},
		},
		{
			name: "booleans",
			body: `{"rule":"r","priority":"Notice","time":"2025-05-04T10:11:12Z","output_fields":{"container.privileged":true,"proc.is_exe_writable":false}}`,
			check: func(t *testing.T, a *alert) {
				assert.Equal(t, map[string]fieldValue{
					"container.privileged": {Kind: kindBool, Bool: true},
					"proc.is_exe_writable": {Kind: kindBool},
				}, fieldMap(a))
			},
		},
		{
			name: "k8s audit alert: list fields become lists, nested objects their JSON text",
			body: `{"hostname":"falco-k8saudit-0","output":"10:11:12.000000000: Warning Pod started with privileged container (user=jane.doe@example.com pod=web ns=payments images=[\"nginx:1.27\",\"busybox\"])","output_fields":{"evt.time":1746353472000000000,"ka.req.pod.containers.image":["nginx:1.27","busybox"],"ka.resp.name":"web","ka.response.code":"201","ka.target.namespace":"payments","ka.user.name":"jane.doe@example.com","jevt.value[/requestObject/spec/volumes]":[{"hostPath":{"path":"/","type":""},"name":"host-root"}]},"priority":"Warning","rule":"Create Privileged Pod","source":"k8s_audit","tags":["T1610","k8s","maturity_stable"],"time":"2025-05-04T10:11:12.000000000Z"}`,
			check: func(t *testing.T, a *alert) {
				assert.Equal(t, "k8s_audit", a.Source)
				fields := fieldMap(a)
				assert.Equal(t, listValue(`["nginx:1.27","busybox"]`, stringValue("nginx:1.27"), stringValue("busybox")), fields["ka.req.pod.containers.image"])
				assert.Equal(t, listValue(`[{"hostPath":{"path":"/","type":""},"name":"host-root"}]`,
					stringValue(`{"hostPath":{"path":"/","type":""},"name":"host-root"}`)), fields["jevt.value[/requestObject/spec/volumes]"])
				assert.Equal(t, stringValue("201"), fields["ka.response.code"])
				assert.Contains(t, a.Output, `images=["nginx:1.27","busybox"]`)
			},
		},
		{
			name: "Falco internal alert (syscall event drop) has no tags",
			body: `{"hostname":"node-1","output":"Falco internal: syscall event drop. 1357 system calls dropped in last second.","output_fields":{"ebpf_enabled":"1","n_drops":1357,"n_drops_buffer_total":1357,"n_drops_bug":0,"n_drops_pf":0,"n_evts":98765},"priority":"Debug","rule":"Falco internal: syscall event drop","source":"internal","time":"2025-05-04T10:11:12.123456789Z"}`,
			check: func(t *testing.T, a *alert) {
				assert.Equal(t, "internal", a.Source)
				assert.Empty(t, a.Tags)
				assert.Equal(t, intValue(1357), fieldMap(a)["n_drops"])
				assert.Equal(t, stringValue("1"), fieldMap(a)["ebpf_enabled"])
			},
		},
		{
			name: "properties the receiver does not map are skipped; message is kept",
			body: `{"uuid":"3f1c2a9e-0000-4000-8000-000000000000","message":"A shell was spawned","extra":{"a":[1,2,{"b":null}],"c":true},"rule":"r","priority":"Critical","time":"2025-05-04T10:11:12Z"}`,
			check: func(t *testing.T, a *alert) {
				assert.Equal(t, priorityCritical, a.Priority)
				assert.Empty(t, a.Output)
				assert.Equal(t, "A shell was spawned", a.Message)
			},
		},
		{
			name: "list fields of every item type (plugins, k8s audit)",
			body: `{"rule":"r","priority":"Notice","time":"2025-05-04T10:11:12Z","output_fields":{"ka.req.pod.host_port":[8080, -1],"ka.req.pod.containers.privileged":[true,false],"ratios":[0.5],"empty":[],"mixed":["a",null,[1],{"k":"v"}]}}`,
			check: func(t *testing.T, a *alert) {
				assert.Equal(t, map[string]fieldValue{
					"ka.req.pod.host_port":             listValue(`[8080, -1]`, intValue(8080), intValue(-1)),
					"ka.req.pod.containers.privileged": listValue(`[true,false]`, fieldValue{Kind: kindBool, Bool: true}, fieldValue{Kind: kindBool}),
					"ratios":                           listValue(`[0.5]`, fieldValue{Kind: kindDouble, Double: 0.5}),
					"empty":                            listValue(`[]`),
					"mixed":                            listValue(`["a",null,[1],{"k":"v"}]`, stringValue("a"), stringValue("null"), stringValue("[1]"), stringValue(`{"k":"v"}`)),
				}, fieldMap(a))
			},
		},
		{
			name: "invalid UTF-8 inside nested JSON and lists is replaced",
			body: "{\"rule\":\"r\",\"priority\":\"Notice\",\"time\":\"2025-05-04T10:11:12Z\",\"output_fields\":{\"obj\":{\"k\xff\":\"v\xc3\"},\"list\":[\"a\xfeb\",[\"\xff\"]]}}",
			check: func(t *testing.T, a *alert) {
				assert.Equal(t, map[string]fieldValue{
					"obj":  stringValue("{\"k\uFFFD\":\"v\uFFFD\"}"),
					"list": listValue("[\"a\uFFFDb\",[\"\uFFFD\"]]", stringValue("a\uFFFDb"), stringValue("[\"\uFFFD\"]")),
				}, fieldMap(a))
			},
		},
		{
			name: "escapes, non-ASCII and invalid UTF-8",
			body: "{\"rule\":\"Write below etc\",\"priority\":\"Error\",\"time\":\"2025-05-04T10:11:12Z\",\"output\":\"caf\u00e9 \\u00e9 \\ud83d\\ude00 \\ud800 \\\"q\\\" a\\/b \\t\\n \xff end\",\"output_fields\":{\"fd.name\":\"/etc/\\u0000x\",\"k\\u00e9y\":\"v\"}}",
			check: func(t *testing.T, a *alert) {
				assert.Equal(t, "café é 😀 \uFFFD \"q\" a/b \t\n \uFFFD end", a.Output)
				assert.Equal(t, map[string]fieldValue{"fd.name": stringValue("/etc/\x00x"), "kéy": stringValue("v")}, fieldMap(a))
			},
		},
		{
			name: "pretty-printed with whitespace everywhere",
			body: "{\r\n  \"rule\" : \"r\" ,\n\t\"priority\":\"Alert\",\n  \"time\": \"2025-05-04T10:11:12Z\",\n  \"tags\": [ \"a\" , \"b\" ],\n  \"output_fields\": { \"proc.pid\" : 42 }\n}\n",
			check: func(t *testing.T, a *alert) {
				assert.Equal(t, priorityAlert, a.Priority)
				assert.Equal(t, []string{"a", "b"}, a.Tags)
				assert.Equal(t, map[string]fieldValue{"proc.pid": intValue(42)}, fieldMap(a))
			},
		},
		{
			name: "a time with an offset and fewer digits is kept as the same instant",
			body: `{"rule":"r","priority":"Notice","time":"2025-05-04T12:11:12.5+02:00"}`,
			check: func(t *testing.T, a *alert) {
				assert.Equal(t, time.Date(2025, 5, 4, 10, 11, 12, 500000000, time.UTC), a.Time)
			},
		},
		{
			name: "a duplicated property: the last one wins",
			body: `{"rule":"first","rule":"second","priority":"Notice","time":"2025-05-04T10:11:12Z"}`,
			check: func(t *testing.T, a *alert) {
				assert.Equal(t, "second", a.Rule)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.check(t, decodeOne(t, tt.body))
		})
	}
}

func TestDecodeEveryPrioritySpelling(t *testing.T) {
	tests := []struct {
		spelling string
		want     priority
	}{
		// Falco's own spellings (falco_common::format_priority), as json_output writes them.
		{"Emergency", priorityEmergency},
		{"Alert", priorityAlert},
		{"Critical", priorityCritical},
		{"Error", priorityError},
		{"Warning", priorityWarning},
		{"Notice", priorityNotice},
		{"Informational", priorityInformational},
		{"Debug", priorityDebug},
		// Lower and upper case (falcosidekick and replays), and Falco's config shorthand.
		{"emergency", priorityEmergency},
		{"CRITICAL", priorityCritical},
		{"warning", priorityWarning},
		{"informational", priorityInformational},
		{"info", priorityInformational},
		{"Info", priorityInformational},
	}
	for _, tt := range tests {
		t.Run(tt.spelling, func(t *testing.T) {
			a := decodeOne(t, `{"rule":"r","time":"2025-05-04T10:11:12Z","priority":"`+tt.spelling+`"}`)
			assert.Equal(t, tt.want, a.Priority)
		})
	}
}

func TestDecodeBatches(t *testing.T) {
	one := func(rule string) string {
		return `{"rule":"` + rule + `","priority":"Notice","time":"2025-05-04T10:11:12Z"}`
	}
	tests := []struct {
		name  string
		body  string
		rules []string
	}{
		{"array", "[" + one("a") + "," + one("b") + "," + one("c") + "]", []string{"a", "b", "c"}},
		{"pretty array", "[\n  " + one("a") + ",\n  " + one("b") + "\n]\n", []string{"a", "b"}},
		{"empty array", " [ ] ", nil},
		{"NDJSON", one("a") + "\n" + one("b") + "\n" + one("c") + "\n", []string{"a", "b", "c"}},
		{"NDJSON with CRLF and blank lines", one("a") + "\r\n\r\n" + one("b") + "\r\n", []string{"a", "b"}},
		{"NDJSON without a final newline", one("a") + "\n" + one("b"), []string{"a", "b"}},
		{"concatenated objects", one("a") + one("b"), []string{"a", "b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d httpDecoder
			alerts, err := d.decode([]byte(tt.body))
			require.NoError(t, err)
			var rules []string
			for _, a := range alerts {
				rules = append(rules, a.Rule)
			}
			assert.Equal(t, tt.rules, rules)
		})
	}
}

func TestDecodeRejects(t *testing.T) {
	const ok = `{"rule":"r","priority":"Notice","time":"2025-05-04T10:11:12Z"}`
	tests := []struct {
		name    string
		body    string
		line    int
		field   string
		wantMsg string
	}{
		{"empty body", "", 1, "", "empty body"},
		{"whitespace only", " \n ", 2, "", "empty body"},
		{"neither JSON nor Falco's text output", "hello world", 1, "", "json_output: true"},
		{"a JSON string", `"alert"`, 1, "", "json_output: true"},
		{"text output with an unknown priority", "10:11:12.123456789: Severe A shell was spawned", 1, "", "unknown priority"},
		{"text output with a bad clock", "25:11:12.1: Notice A shell", 1, "", "not Falco's time"},
		{"text output, second line bad", "10:11:12.1: Notice a\n10:11:12.2 Notice b\n", 2, "", "json_output: true"},
		{"missing rule", `{"priority":"Notice","time":"2025-05-04T10:11:12Z"}`, 1, "rule", "missing"},
		{"missing priority", `{"rule":"r","time":"2025-05-04T10:11:12Z"}`, 1, "priority", "missing"},
		{"missing time", `{"rule":"r","priority":"Notice"}`, 1, "time", "missing"},
		{"unknown priority", `{"rule":"r","priority":"Severe","time":"2025-05-04T10:11:12Z"}`, 1, "priority", `unknown priority "Severe"`},
		{"numeric priority", `{"rule":"r","priority":2,"time":"2025-05-04T10:11:12Z"}`, 1, "priority", "want a string"},
		{"null rule", `{"rule":null,"priority":"Notice","time":"2025-05-04T10:11:12Z"}`, 1, "rule", "want a string"},
		{"numeric rule", `{"rule":7,"priority":"Notice","time":"2025-05-04T10:11:12Z"}`, 1, "rule", "want a string"},
		{"time not RFC 3339", `{"rule":"r","priority":"Notice","time":"10:11:12.123456789"}`, 1, "time", "not an RFC 3339 time"},
		{"time out of range", `{"rule":"r","priority":"Notice","time":"2025-02-30T10:11:12Z"}`, 1, "time", "not an RFC 3339 time"},
		{"numeric time", `{"rule":"r","priority":"Notice","time":1746353472123456789}`, 1, "time", "want an RFC 3339 string"},
		{"tags not an array", `{"rule":"r","priority":"Notice","time":"2025-05-04T10:11:12Z","tags":"shell"}`, 1, "tags", "want an array of strings"},
		{"numeric tag", `{"rule":"r","priority":"Notice","time":"2025-05-04T10:11:12Z","tags":["a",1]}`, 1, "tags", "want an array of strings"},
		{"output_fields not an object", `{"rule":"r","priority":"Notice","time":"2025-05-04T10:11:12Z","output_fields":[]}`, 1, "output_fields", "want an object"},
		{"bad field value", "{\"rule\":\"r\",\"priority\":\"Notice\",\"time\":\"2025-05-04T10:11:12Z\",\n\"output_fields\":{\"proc.pid\":01}}", 2, "output_fields.proc.pid", "invalid number"},
		{"bare word field value", `{"rule":"r","priority":"Notice","time":"2025-05-04T10:11:12Z","output_fields":{"proc.pid":NaN}}`, 1, "output_fields.proc.pid", "invalid JSON value"},
		{"truncated", `{"rule":"r","priority":"Notice","time":"2025-05-04T10:`, 1, "time", "unterminated string"},
		{"truncated after a property", `{"rule":"r",`, 1, "", "want a property name"},
		{"unquoted key", `{rule:"r"}`, 1, "", "want a property name"},
		{"control character", "{\"rule\":\"a\tb\",\"priority\":\"Notice\",\"time\":\"2025-05-04T10:11:12Z\"}", 1, "rule", "control character"},
		{"invalid escape", `{"rule":"a\qb","priority":"Notice","time":"2025-05-04T10:11:12Z"}`, 1, "rule", "invalid escape"},
		{"short unicode escape", `{"rule":"a\u12","priority":"Notice","time":"2025-05-04T10:11:12Z"}`, 1, "rule", `invalid \u escape`},
		{"nested too deep", `{"rule":"r","priority":"Notice","time":"2025-05-04T10:11:12Z","output_fields":{"x":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}}`, 1, "output_fields.x", "nested too deeply"},
		{"third NDJSON line bad", ok + "\n" + ok + "\n" + `{"rule":"r","priority":"Severe","time":"2025-05-04T10:11:12Z"}` + "\n", 3, "priority", "unknown priority"},
		{"NDJSON line that is not an object", ok + "\n[" + ok + "]\n", 2, "", "want the next alert object"},
		{"second array element missing its rule", "[\n  " + ok + ",\n  {\"priority\":\"Notice\",\n   \"time\":\"2025-05-04T10:11:12Z\"}\n]", 3, "rule", "missing"},
		{"array of non-objects", `[1,2]`, 1, "", "want an alert object"},
		{"array without its end", "[" + ok, 1, "", "want ',' or ']'"},
		{"data after the array", "[" + ok + "] x", 1, "", "unexpected data after the array"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d httpDecoder
			alerts, err := d.decode([]byte(tt.body))
			require.Error(t, err)
			assert.Nil(t, alerts, "a batch is all or nothing")
			de, ok := err.(*decodeError)
			require.True(t, ok, "%T", err)
			assert.Equal(t, tt.line, de.Line, "line")
			assert.Equal(t, tt.field, de.Field, "field")
			assert.Contains(t, de.Msg, tt.wantMsg)
		})
	}
}

// TestDecodeReusesAlerts checks that a reused decoder resets what an earlier body left behind,
// and that strings from an earlier body survive the reuse of the body buffer.
func TestDecodeReusesAlerts(t *testing.T) {
	var d httpDecoder
	buf := []byte(terminalShellJSON)
	first, err := d.decode(buf)
	require.NoError(t, err)
	cmdline := fieldMap(first[0])["proc.cmdline"].Str
	output := first[0].Output

	for i := range buf {
		buf[i] = ' ' // the transport reuses its body buffer
	}
	second, err := d.decode([]byte(`{"rule":"r","priority":"Debug","time":"2025-05-04T10:11:12Z"}`))
	require.NoError(t, err)
	require.Len(t, second, 1)
	assert.Empty(t, second[0].Fields)
	assert.Empty(t, second[0].Tags)
	assert.Empty(t, second[0].Hostname)
	assert.Equal(t, "bash -il", cmdline)
	assert.True(t, strings.HasPrefix(output, "10:11:12.123456789: Notice"))
}

// FuzzDecodeHTTPBody checks that no body makes the decoder or the handler panic, that every
// rejection is a 4xx naming a line of the body, and that whatever the decoder accepts is valid
// JSON that encoding/json reads to the same values.
func FuzzDecodeHTTPBody(f *testing.F) {
	f.Add([]byte(terminalShellJSON))
	f.Add([]byte("[" + terminalShellJSON + "]"))
	f.Add([]byte(terminalShellJSON + "\n" + terminalShellJSON + "\n"))
	handler := newFuzzHandler(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		var d httpDecoder
		alerts, err := d.decode(body)
		if err == nil && d.sawText {
			for _, a := range alerts {
				requireValidUTF8(t, a)
				require.Equal(t, textOutputRule, a.Rule)
				require.True(t, a.Priority.valid())
			}
		} else if err != nil {
			de, ok := err.(*decodeError)
			require.True(t, ok, "%T %v", err, err)
			require.GreaterOrEqual(t, de.Line, 1)
			require.LessOrEqual(t, de.Line, 1+bytes.Count(body, []byte{'\n'}))
		} else {
			for _, a := range alerts {
				requireValidUTF8(t, a)
			}
			checkAgainstEncodingJSON(t, body, alerts)
		}

		rec := httptest.NewRecorder()
		handler.handleAlerts(rec, httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body)))
		switch {
		case err == nil:
			require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		case rec.Code != http.StatusBadRequest:
			t.Fatalf("rejected with %d, want 400: %s", rec.Code, rec.Body.String())
		}
	})
}

// newFuzzHandler is an HTTP transport without a listener, over a receiver whose pipeline accepts
// everything.
func newFuzzHandler(tb testing.TB) *httpTransport {
	cfg := createDefaultConfig().(*Config)
	r, err := newFalcoReceiver(cfg, receivertest.NewNopSettings(metadata.Type), func() {})
	require.NoError(tb, err)
	r.logs = consumertest.NewNop()
	tr, err := newHTTPTransport(&HTTPConfig{}, r)
	require.NoError(tb, err)
	tr.maxBody = 1 << 20
	tr.limits = newIngestLimits(defaultHTTPMaxConcurrent, tr.maxBody)
	return tr
}

// checkAgainstEncodingJSON re-reads an accepted body with encoding/json and compares values.
func checkAgainstEncodingJSON(t *testing.T, body []byte, alerts []*alert) {
	var docs []json.RawMessage
	if trimmed := bytes.TrimLeft(body, " \t\r\n"); len(trimmed) > 0 && trimmed[0] == '[' {
		require.NoError(t, json.Unmarshal(body, &docs), "accepted an invalid array")
	} else {
		dec := json.NewDecoder(bytes.NewReader(body))
		for {
			var doc json.RawMessage
			if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
				break
			} else {
				require.NoError(t, err, "accepted invalid JSON")
			}
			docs = append(docs, doc)
		}
	}
	require.Len(t, alerts, len(docs))
	for i, doc := range docs {
		var members map[string]json.RawMessage // exact keys; a repeated key's last value wins
		require.NoError(t, json.Unmarshal(doc, &members))
		a := alerts[i]
		var s string
		require.NoError(t, json.Unmarshal(members["rule"], &s))
		assert.Equal(t, s, a.Rule)
		require.NoError(t, json.Unmarshal(members["priority"], &s))
		p, err := parsePriority(s)
		require.NoError(t, err)
		assert.Equal(t, p, a.Priority)
		require.NoError(t, json.Unmarshal(members["time"], &s))
		tm, err := time.Parse(time.RFC3339Nano, s)
		require.NoError(t, err, "accepted time %q", s)
		assert.True(t, tm.Equal(a.Time), "time %q: got %v", s, a.Time)
		for name, got := range map[string]string{"output": a.Output, "source": a.Source, "hostname": a.Hostname} {
			want := ""
			if raw, ok := members[name]; ok {
				require.NoError(t, json.Unmarshal(raw, &want))
			}
			assert.Equal(t, want, got, name)
		}
		var tags []string
		if raw, ok := members["tags"]; ok {
			require.NoError(t, json.Unmarshal(raw, &tags))
		}
		assert.Equal(t, len(tags), len(a.Tags))
		for j := range min(len(tags), len(a.Tags)) {
			assert.Equal(t, tags[j], a.Tags[j])
		}
		assert.Equal(t, expectedFields(t, members["output_fields"]), fieldMap(a))
	}
}

// expectedFields reads output_fields with encoding/json's tokenizer: null dropped, the last
// non-null value of a repeated key kept, numbers typed as the receiver types them.
func expectedFields(t *testing.T, raw json.RawMessage) map[string]fieldValue {
	want := map[string]fieldValue{}
	if len(raw) == 0 || string(raw) == "null" {
		return want
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	_, err := dec.Token() // {
	require.NoError(t, err)
	for dec.More() {
		tok, err := dec.Token()
		require.NoError(t, err)
		key := tok.(string)
		var v json.RawMessage
		require.NoError(t, dec.Decode(&v))
		var val any
		vd := json.NewDecoder(bytes.NewReader(v))
		vd.UseNumber()
		require.NoError(t, vd.Decode(&val))
		switch x := val.(type) {
		case nil:
			continue
		case string:
			if x != noValue {
				want[key] = stringValue(x)
			}
		case bool:
			want[key] = fieldValue{Kind: kindBool, Bool: x}
		case json.Number:
			want[key] = numberValue(string(x))
		case []any:
			want[key] = expectedList(t, v)
		default: // object: its JSON text
			want[key] = stringValue(validText(v))
		}
	}
	return want
}

// expectedList reads an array the way the receiver keeps a list field.
func expectedList(t *testing.T, raw json.RawMessage) fieldValue {
	var items []json.RawMessage
	require.NoError(t, json.Unmarshal(raw, &items))
	v := fieldValue{Kind: kindList, Str: validText(raw)}
	for _, item := range items {
		var val any
		d := json.NewDecoder(bytes.NewReader(item))
		d.UseNumber()
		require.NoError(t, d.Decode(&val))
		switch x := val.(type) {
		case string:
			v.List = append(v.List, stringValue(x))
		case bool:
			v.List = append(v.List, fieldValue{Kind: kindBool, Bool: x})
		case json.Number:
			v.List = append(v.List, numberValue(string(x)))
		default:
			v.List = append(v.List, stringValue(validText(item)))
		}
	}
	return v
}

func validText(b []byte) string { return string(appendValidUTF8(nil, b)) }

// requireValidUTF8 checks the receiver's promise that every string it hands on is UTF-8.
func requireValidUTF8(t *testing.T, a *alert) {
	t.Helper()
	for _, s := range append([]string{a.Rule, a.Output, a.Message, a.Source, a.Hostname}, a.Tags...) {
		require.True(t, utf8.ValidString(s), "%q", s)
	}
	for _, f := range a.Fields {
		require.True(t, utf8.ValidString(f.Key), "key %q", f.Key)
		require.True(t, utf8.ValidString(f.Value.Str), "%s: %q", f.Key, f.Value.Str)
		for _, it := range f.Value.List {
			require.True(t, utf8.ValidString(it.Str), "%s item %q", f.Key, it.Str)
		}
	}
}

func numberValue(text string) fieldValue {
	if !strings.ContainsAny(text, ".eE") {
		if n, err := strconv.ParseInt(text, 10, 64); err == nil {
			return fieldValue{Kind: kindInt, Int: n}
		}
		return stringValue(text)
	}
	if f, err := strconv.ParseFloat(text, 64); err == nil {
		return fieldValue{Kind: kindDouble, Double: f}
	}
	return stringValue(text)
}

func TestHasSpecialByte(t *testing.T) {
	word := func(b [8]byte) uint64 { return binary.LittleEndian.Uint64(b[:]) }
	for v := range 256 {
		for pos := range 8 {
			for _, fill := range []byte{'a', ' ', '~', '!', '#', '[', ']'} {
				var b [8]byte
				for i := range b {
					b[i] = fill
				}
				b[pos] = byte(v)
				require.Equal(t, !plainStringByte[v], hasSpecialByte(word(b)), "byte %#x at %d among %q", v, pos, fill)
			}
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200000 {
		var b [8]byte
		want := false
		for i := range b {
			b[i] = byte(rng.IntN(256))
			if rng.IntN(4) != 0 {
				b[i] = byte(0x20 + rng.IntN(0x60)) // mostly plain, as in real strings
			}
			want = want || !plainStringByte[b[i]]
		}
		require.Equal(t, want, hasSpecialByte(word(b)), "%q", b)
	}
}
