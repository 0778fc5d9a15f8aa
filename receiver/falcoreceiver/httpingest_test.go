// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package falcoreceiver

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/otelcol-falco/otelcol-falco/receiver/falcoreceiver/internal/metadata"
	"github.com/otelcol-falco/otelcol-falco/receiver/falcoreceiver/internal/metadatatest"
)

// falcosidekick's routes: GET /ping, POST /test, and a POST to any other path is an alert.
func TestHTTPFalcosidekickRoutes(t *testing.T) {
	sink := &consumertest.LogsSink{}
	f := startHTTPReceiver(t, httpOptions{next: sink})

	ping := f.do(t, http.MethodGet, "/ping", nil, nil)
	assert.Equal(t, http.StatusOK, ping.status)
	assert.Equal(t, "pong\n", ping.raw)

	require.Equal(t, http.StatusOK, f.do(t, http.MethodPost, "/test", nil, nil).status)
	require.Equal(t, 1, sink.LogRecordCount())
	lr := sink.AllLogs()[0].ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
	rule, _ := lr.Attributes().Get(attrRule)
	assert.Equal(t, testAlertRule, rule.Str())
	assert.Equal(t, "Debug", lr.SeverityText())
	assert.Contains(t, lr.Body().Str(), "This is a test")

	require.Equal(t, http.StatusOK, f.do(t, http.MethodPost, "/any/other/path", []byte(minimalAlert), nil).status)
	assert.Equal(t, 2, sink.LogRecordCount())
	assert.Equal(t, int64(2), countedEvents(f.r))
}

// telemetryReceiver starts an HTTP receiver whose telemetry and warnings the test reads.
func telemetryReceiver(t *testing.T, opts httpOptions) (*httpFixture, *componenttest.Telemetry, *observer.ObservedLogs) {
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	core, logs := observer.New(zap.WarnLevel)
	set := receivertest.NewNopSettings(metadata.Type)
	set.TelemetrySettings = tel.NewTelemetrySettings()
	set.Logger = zap.New(core)
	opts.settings = &set
	return startHTTPReceiver(t, opts), tel, logs
}

func refusedPoint(reason string, n int64) metricdata.DataPoint[int64] {
	return metricdata.DataPoint[int64]{Attributes: attribute.NewSet(attribute.String("reason", reason)), Value: n}
}

// Falco ignores error answers, so each one must show in the receiver's telemetry and log.
func TestHTTPRefusalsAreCountedAndLogged(t *testing.T) {
	f, tel, logs := telemetryReceiver(t, httpOptions{config: func(c *HTTPConfig) { c.MaxAlertsPerRequest = 1 }})
	for range 3 {
		require.Equal(t, http.StatusBadRequest, f.post(t, []byte(`{"rule":`), nil).status)
	}
	require.Equal(t, http.StatusNotFound, f.do(t, http.MethodGet, "/nope", nil, nil).status)
	require.Equal(t, http.StatusRequestEntityTooLarge, f.post(t, ndjson(minimalAlert, minimalAlert), nil).status)
	require.Equal(t, http.StatusOK, f.post(t, []byte(minimalAlert), nil).status)

	metadatatest.AssertEqualFalcoReceiverRefusedRequests(t, tel, []metricdata.DataPoint[int64]{
		refusedPoint(reasonMalformed, 3), refusedPoint(reasonNotFound, 1), refusedPoint(reasonTooManyAlerts, 1),
	}, metricdatatest.IgnoreTimestamp())

	warnings := logs.FilterMessageSnippet("refused a request").All()
	require.Len(t, warnings, 3, "one warning per reason and sender within the interval")
	fields := warnings[0].ContextMap()
	assert.Equal(t, reasonMalformed, fields["reason"])
	assert.Equal(t, int64(http.StatusBadRequest), fields["status"])
	assert.Contains(t, fields["sender"], "127.0.0.1:")
}

func TestHTTPTextOutputAdvisesJSONOncePerSender(t *testing.T) {
	sink := &consumertest.LogsSink{}
	f, _, logs := telemetryReceiver(t, httpOptions{next: sink})
	line := []byte(time.Now().Format("15:04:05.000000000") + ": Notice A shell was spawned in a container with an attached terminal | user=root")
	for range 3 {
		require.Equal(t, http.StatusOK, f.post(t, line, map[string]string{"Content-Type": "text/plain"}).status)
	}
	require.Equal(t, 3, sink.LogRecordCount())
	lr := sink.AllLogs()[0].ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
	assert.Equal(t, string(line), lr.Body().Str())
	assert.Equal(t, "Notice", lr.SeverityText())
	rule, _ := lr.Attributes().Get(attrRule)
	assert.Equal(t, textOutputRule, rule.Str())
	assert.Equal(t, int64(3), countedEvents(f.r))
	assert.Equal(t, 1, logs.FilterMessageSnippet("json_output: true").Len())
}

// rawConn opens a connection and sends a request's head announcing length body bytes, plus
// sent of them: a sender that then stalls.
func rawConn(t *testing.T, f *httpFixture, length, sent int) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", strings.TrimPrefix(f.url, "http://"), 5*time.Second)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	_, err = fmt.Fprintf(c, "POST / HTTP/1.1\r\nHost: falco\r\nContent-Length: %d\r\n\r\n%s", length, strings.Repeat(" ", sent))
	require.NoError(t, err)
	return c
}

// readStatus reads the status line of the answer on c, or returns "" when c is closed unanswered.
func readStatus(t *testing.T, c net.Conn, within time.Duration) string {
	t.Helper()
	require.NoError(t, c.SetReadDeadline(time.Now().Add(within)))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		var ne net.Error
		require.False(t, asNetTimeout(err, &ne), "no answer within %v", within)
		return ""
	}
	return strings.TrimSpace(line)
}

func asNetTimeout(err error, ne *net.Error) bool {
	if e, ok := err.(net.Error); ok && e.Timeout() {
		*ne = e
		return true
	}
	return false
}

// Bodies beyond the small free allowance share one budget: stalled large bodies cannot take
// more, and a later large one is refused at once, while a single alert is still served.
func TestHTTPBodyBudget(t *testing.T) {
	f, tel, _ := telemetryReceiver(t, httpOptions{config: func(c *HTTPConfig) {
		c.ServerConfig.MaxRequestBodySize = 64 << 10
		c.MaxConcurrentRequests = 1 // budget: 2 × 64 KiB beyond the free 16 KiB of each body
	}})
	rawConn(t, f, 64<<10, 100) // each reserves 48 KiB and stalls
	rawConn(t, f, 64<<10, 100)
	time.Sleep(50 * time.Millisecond)
	third := rawConn(t, f, 64<<10, 100)
	assert.Contains(t, readStatus(t, third, 5*time.Second), "503")

	resp := f.post(t, []byte(minimalAlert), nil)
	assert.Equal(t, http.StatusOK, resp.status, "a single alert needs no budget")
	metadatatest.AssertEqualFalcoReceiverRefusedRequests(t, tel, []metricdata.DataPoint[int64]{refusedPoint(reasonBusy, 1)},
		metricdatatest.IgnoreTimestamp())
}

// A sender that stalls in its body is cut by read_timeout, not held forever.
func TestHTTPReadTimeoutCutsStalledBody(t *testing.T) {
	f := startHTTPReceiver(t, httpOptions{config: func(c *HTTPConfig) { c.ServerConfig.ReadTimeout = 300 * time.Millisecond }})
	c := rawConn(t, f, 1000, 10)
	start := time.Now()
	status := readStatus(t, c, 5*time.Second) // a 400 answer, or the connection closed
	t.Logf("after %v: %q", time.Since(start), status)
	if status != "" {
		assert.Contains(t, status, "400")
	}
}

// Connections beyond max_connections are closed at once; a freed slot is taken again.
func TestHTTPConnectionLimit(t *testing.T) {
	f, tel, _ := telemetryReceiver(t, httpOptions{config: func(c *HTTPConfig) { c.MaxConnections = 2 }})
	idle := []net.Conn{rawConn(t, f, 1000, 0), rawConn(t, f, 1000, 0)}
	time.Sleep(50 * time.Millisecond)
	third := rawConn(t, f, 1000, 0)
	assert.Empty(t, readStatus(t, third, 5*time.Second), "closed unanswered")

	require.NoError(t, idle[0].Close())
	require.Eventually(t, func() bool {
		resp, err := http.Post(f.url+"/", "application/json", strings.NewReader(minimalAlert))
		if err != nil {
			return false
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 5*time.Second, 20*time.Millisecond)
	got, err := tel.GetMetric("otelcol_falco_receiver_refused_requests")
	require.NoError(t, err)
	byReason := map[string]int64{}
	for _, dp := range got.Data.(metricdata.Sum[int64]).DataPoints {
		reason, _ := dp.Attributes.Value("reason")
		byReason[reason.AsString()] = dp.Value
	}
	// The third connection, and any POST above made before the server saw the close.
	assert.GreaterOrEqual(t, byReason[reasonTooManyConnections], int64(1), "%v", byReason)
}

// A batch goes to the pipeline in parts; a refusal of a later part says how many were accepted.
func TestHTTPBatchDeliveredInParts(t *testing.T) {
	var parts []int
	var mu sync.Mutex
	next, err := consumer.NewLogs(func(_ context.Context, ld plog.Logs) error {
		mu.Lock()
		defer mu.Unlock()
		parts = append(parts, ld.LogRecordCount())
		if len(parts) == 3 {
			return errors.New("data refused due to high memory usage")
		}
		return nil
	})
	require.NoError(t, err)
	f := startHTTPReceiver(t, httpOptions{next: next})
	body := bytes.Repeat([]byte(minimalAlert+"\n"), 2*deliveryChunk+10)
	resp := f.post(t, body, nil)
	assert.Equal(t, http.StatusServiceUnavailable, resp.status)
	assert.Equal(t, 2*deliveryChunk, resp.body.Accepted)
	assert.Equal(t, []int{deliveryChunk, deliveryChunk, 10}, parts)
	assert.Equal(t, int64(2*deliveryChunk), countedEvents(f.r), "the accepted parts are counted")
}
