// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-falco/otelcol-falco/internal/testbed"
)

// textOutputRule is the falco.rule of alerts from Falco's text output (receiver's httptext.go).
const textOutputRule = "unknown (Falco text output; set json_output: true)"

// TestFalcoDefaultsLoseNothing is issue 13's first rows on the shipped agent: Falco's default
// text output and json_include_output_property: false become log records, and falcosidekick's
// probes and paths answer as falcosidekick does.
func TestFalcoDefaultsLoseNothing(t *testing.T) {
	a := startHTTPAgent(t, true)
	client := &http.Client{Timeout: 10 * time.Second}
	post := func(path, contentType, body string) (int, string) {
		t.Helper()
		resp, err := client.Post(a.url+path, contentType, strings.NewReader(body))
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	now := time.Now()
	textLine := now.Format("15:04:05.000000000") + ": Notice A shell was spawned in a container with an attached terminal | evt_type=execve user=root user_uid=0 process=bash command=bash -il container_id=3ad7b26ded6d container_name=nginx"
	messageOnly := `{"hostname":"node-1","message":"A shell was spawned in a container with an attached terminal","output_fields":{"evt.type":"execve","proc.name":"bash","user.name":"root"},"priority":"Notice","rule":"Terminal shell in container","source":"syscall","tags":["T1059","container","shell"],"time":"` + now.UTC().Format(time.RFC3339Nano) + `"}`

	status, body := post("/", "text/plain", textLine)
	require.Equal(t, http.StatusOK, status, body)
	status, body = post("/", "application/json", messageOnly)
	require.Equal(t, http.StatusOK, status, body)
	status, body = post("/falco/events", "application/json", strings.Replace(messageOnly, "node-1", "node-2", 1))
	require.Equal(t, http.StatusOK, status, "any path is an alert: %s", body)
	status, body = post("/test", "", "")
	require.Equal(t, http.StatusOK, status, body)

	resp, err := client.Get(a.url + "/ping")
	require.NoError(t, err)
	pong, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, "pong\n", string(pong))

	require.True(t, testbed.WaitFor(30*time.Second, func() bool { return a.sink.Count() >= 4 }), "records: %d", a.sink.Count())
	byRule := map[string][]plog.LogRecord{}
	for _, lr := range a.sink.Records() {
		rule, _ := lr.Attributes().Get("falco.rule")
		byRule[rule.Str()] = append(byRule[rule.Str()], lr)
	}
	require.Len(t, byRule[textOutputRule], 1)
	text := byRule[textOutputRule][0]
	assert.Equal(t, textLine, text.Body().Str())
	assert.Equal(t, "Notice", text.SeverityText())
	assert.Equal(t, now.UnixNano(), text.Timestamp().AsTime().UnixNano(), "Falco's clock time on today's date")

	require.Len(t, byRule["Terminal shell in container"], 2)
	for _, lr := range byRule["Terminal shell in container"] {
		assert.Equal(t, "A shell was spawned in a container with an attached terminal", lr.Body().Str())
	}
	require.Len(t, byRule["Test rule"], 1)
	assert.Contains(t, byRule["Test rule"][0].Body().Str(), "This is a test")

	// Counted under the text rule, and the operator is told how to get rules and fields.
	promURL := "http://" + a.env.Prometheus + "/metrics"
	require.True(t, testbed.WaitFor(30*time.Second, func() bool {
		n, _ := testbed.ScrapeSum(promURL, "falco_events_total", `falco_rule="`+textOutputRule+`"`)
		return n == 1
	}), "falco_events_total of the text rule")
	require.True(t, testbed.WaitFor(10*time.Second, func() bool {
		return strings.Count(a.col.Output(), "set json_output: true in falco.yaml") == 1
	}), "one warning advising json_output: true:\n%s", a.col.Output())
}

// TestRefusalsAreVisible is issue 12's fifth item on the shipped agent: Falco ignores error
// answers, so each one is counted by reason and logged at warn with the sender's address.
func TestRefusalsAreVisible(t *testing.T) {
	a := startHTTPAgent(t, false)
	for range 3 {
		resp, err := http.Post(a.url+"/", "application/json", strings.NewReader(`{"rule":`))
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	}
	telemetry := "http://127.0.0.1:" + a.col.Env["TELEMETRY_PORT"] + "/metrics"
	require.True(t, testbed.WaitFor(10*time.Second, func() bool {
		n, _ := testbed.ScrapeSum(telemetry, "otelcol_falco_receiver_refused_requests", `reason="malformed"`)
		return n == 3
	}), "otelcol_falco_receiver_refused_requests{reason=\"malformed\"}")
	out := a.col.Output()
	assert.Equal(t, 1, strings.Count(out, "refused a request from a Falco sender"), "rate-limited:\n%s", out)
	assert.Contains(t, out, `"sender": "127.0.0.1:`)
}
