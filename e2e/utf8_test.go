// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"bytes"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"

	"github.com/otelcol-falco/otelcol-falco/internal/testbed"
)

// httpOnlyAgentEnv runs the shipped agent with its HTTP endpoint only: Falco 0.44 has no gRPC.
var httpOnlyAgentEnv = map[string]string{"FALCO_GRPC_ENABLED": "false"}

// TestPoisonedAlertCostsNoOtherAlert is issue 12's first row: 3000 good alerts and one whose
// nested output_fields values hold bytes that are not UTF-8, in one NDJSON POST, through the
// shipped agent and gateway to a SIEM that refuses a whole request for one invalid string.
// Before, the SIEM refused the batch the bad alert was in: 1001 of 3000 delivered.
func TestPoisonedAlertCostsNoOtherAlert(t *testing.T) {
	const good = 3000
	r := startSIEMRig(t, siemOptions{agentEnv: httpOnlyAgentEnv})
	r.sink.RejectInvalidUTF8(true)
	requireSinkRefusesInvalidUTF8(t, r.sink)

	g, book := newBookedGenerator(t, 12)
	var body []byte
	for i, a := range book.generate(g, good) {
		if i == good/2 { // in the middle of what becomes one export batch
			body = append(body, poisonedAlert(a.Time.Add(-time.Second/2))...)
			body = append(body, '\n')
		}
		body = a.AppendJSON(body)
		body = append(body, '\n')
	}
	resp, err := http.Post(r.httpURL, "application/x-ndjson", bytes.NewReader(body))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	d := waitDelivered(t, book, r.sink.Records, r.sink.Count, 60*time.Second)
	t.Logf("delivery: %s; SIEM requests refused for invalid UTF-8: %d", d, r.sink.RejectedRequests())
	assert.Empty(t, d.mismatches)
	require.Equal(t, good, d.matched, "good alerts delivered")
	require.Equal(t, 1, d.unknown, "the poisoned alert delivered too")
	assert.Equal(t, int64(1), r.sink.RejectedRequests(), "only the test's own invalid request")

	var poisoned plog.LogRecord
	for _, lr := range r.sink.Records() {
		if v, ok := lr.Attributes().Get("falco.rule"); ok && v.Str() == "Create Privileged Pod (poisoned)" {
			poisoned = lr
		}
	}
	require.NotEqual(t, plog.LogRecord{}, poisoned)
	attrs := poisoned.Attributes().AsRaw()
	assert.Equal(t, []any{"nginx\uFFFD", "busybox"}, attrs["ka.req.pod.containers.image"])
	assert.Equal(t, "{\"name\":\"web\uFFFD\"}", attrs["jevt.value[/requestObject/metadata]"])
	assert.Equal(t, "cat \uFFFD(", attrs["process.command_line"], "%v", attrs) // falcolabel's name for proc.cmdline
}

// poisonedAlert is a k8s audit alert from a sender that does not clean its strings.
func poisonedAlert(at time.Time) string {
	return fmt.Sprintf(`{"hostname":"e2e-falco","output":"Privileged pod created","output_fields":{`+
		`"ka.req.pod.containers.image":["nginx%s","busybox"],"jevt.value[/requestObject/metadata]":{"name":"web%s"},"proc.cmdline":"cat %s("},`+
		`"priority":"Warning","rule":"Create Privileged Pod (poisoned)","source":"k8s_audit","tags":["k8s"],"time":%q}`,
		"\xff", "\xfe", "\xc3", at.UTC().Format(time.RFC3339Nano))
}

// requireSinkRefusesInvalidUTF8 shows the test SIEM refuses what a real one refuses, so the
// test above could fail.
func requireSinkRefusesInvalidUTF8(t *testing.T, sink *testbed.Sink) {
	t.Helper()
	logs := plog.NewLogs()
	lr := logs.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	lr.Attributes().PutEmptyMap("nested").PutStr("k", "v\xff")
	payload, err := plogotlp.NewExportRequestFromLogs(logs).MarshalProto()
	require.NoError(t, err)
	resp, err := http.Post(sink.Endpoint()+"/v1/logs", "application/x-protobuf", bytes.NewReader(payload))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	require.Equal(t, int64(1), sink.RejectedRequests())
	require.Zero(t, sink.Count())
}
