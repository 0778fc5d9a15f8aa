// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package falcoreceiver

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configauth"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/extension/extensionauth"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/otelcol-falco/otelcol-falco/internal/falcoemu"
	"github.com/otelcol-falco/otelcol-falco/receiver/falcoreceiver/internal/metadata"
)

// httpFixture is a started falco receiver with only the HTTP transport, on a loopback port.
type httpFixture struct {
	r      *falcoReceiver
	url    string
	client *http.Client
}

type httpOptions struct {
	next     consumer.Logs
	host     component.Host
	config   func(*HTTPConfig)
	settings *receiver.Settings // receivertest's nop settings when nil
}

func startHTTPReceiver(t testing.TB, opts httpOptions) *httpFixture {
	t.Helper()
	cfg := createDefaultConfig().(*Config)
	httpCfg := defaultHTTPConfig()
	httpCfg.ServerConfig.NetAddr.Endpoint = "127.0.0.1:0"
	if opts.config != nil {
		opts.config(&httpCfg)
	}
	cfg.HTTP = configoptional.Some(httpCfg)
	cfg.GRPC = configoptional.None[GRPCConfig]()
	require.NoError(t, cfg.Validate())
	if opts.next == nil {
		opts.next = consumertest.NewNop()
	}
	if opts.host == nil {
		opts.host = componenttest.NewNopHost()
	}
	set := receivertest.NewNopSettings(metadata.Type)
	if opts.settings != nil {
		set = *opts.settings
	}
	rcv, err := NewFactory().CreateLogs(context.Background(), set, cfg, opts.next)
	require.NoError(t, err)
	require.NoError(t, rcv.Start(context.Background(), opts.host))
	t.Cleanup(func() { require.NoError(t, rcv.Shutdown(context.Background())) })
	r := rcv.(*falcoReceiver)
	tr := &http.Transport{MaxIdleConnsPerHost: 4}
	t.Cleanup(tr.CloseIdleConnections)
	return &httpFixture{r: r, url: "http://" + r.http.addr.String(), client: &http.Client{Transport: tr, Timeout: 10 * time.Second}}
}

type response struct {
	status int
	header http.Header
	body   errorBody
	raw    string
}

func (f *httpFixture) do(t testing.TB, method, path string, body []byte, header map[string]string) response {
	t.Helper()
	req, err := http.NewRequest(method, f.url+path, bytes.NewReader(body))
	require.NoError(t, err)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := f.client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	out := response{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	if resp.StatusCode >= 400 {
		require.NoError(t, json.Unmarshal(raw, &out.body), "error answers are JSON: %s", raw)
	}
	return out
}

func (f *httpFixture) post(t testing.TB, body []byte, header map[string]string) response {
	t.Helper()
	return f.do(t, http.MethodPost, "/", body, header)
}

// countedEvents is the falco.events total over every series.
func countedEvents(r *falcoReceiver) int64 {
	md := r.counter.snapshot(time.Now())
	var total int64
	rms := md.ResourceMetrics()
	for i := range rms.Len() {
		dps := rms.At(i).ScopeMetrics().At(0).Metrics().At(0).Sum().DataPoints()
		for j := range dps.Len() {
			total += dps.At(j).IntValue()
		}
	}
	return total
}

func gzipped(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, err := zw.Write(b)
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	return buf.Bytes()
}

func ndjson(lines ...string) []byte { return []byte(strings.Join(lines, "\n") + "\n") }

const minimalAlert = `{"rule":"Read sensitive file untrusted","priority":"Warning","time":"2025-05-04T10:11:12.000000001Z","hostname":"node-2","source":"syscall"}`

func TestHTTPAccepts(t *testing.T) {
	tests := []struct {
		name    string
		path    string
		body    []byte
		header  map[string]string
		records int
	}{
		{name: "one alert at falcosidekick's path", path: "/", body: []byte(terminalShellJSON), header: map[string]string{"Content-Type": "application/json"}, records: 1},
		{name: "one alert at /v1/falco", path: "/v1/falco", body: []byte(terminalShellJSON), records: 1},
		{name: "Falco without json content type (text/plain)", path: "/", body: []byte(terminalShellJSON), header: map[string]string{"Content-Type": "text/plain"}, records: 1},
		{name: "no content type", path: "/", body: []byte(minimalAlert), records: 1},
		{name: "a JSON array", path: "/", body: []byte("[" + terminalShellJSON + "," + minimalAlert + "]"), records: 2},
		{name: "NDJSON", path: "/v1/falco", body: ndjson(terminalShellJSON, minimalAlert, minimalAlert), header: map[string]string{"Content-Type": "application/x-ndjson"}, records: 3},
		{name: "gzip", path: "/", body: gzipped(t, ndjson(terminalShellJSON, minimalAlert)), header: map[string]string{"Content-Encoding": "gzip"}, records: 2},
		{name: "an empty array", path: "/", body: []byte("[]"), records: 0},
		{name: "Falco's text output (json_output: false)", path: "/", body: []byte("10:11:12.123456789: Notice A shell was spawned | user=root\n"), header: map[string]string{"Content-Type": "text/plain"}, records: 1},
		{name: "any other path, as falcosidekick's catch-all", path: "/falco/events", body: []byte(minimalAlert), records: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sink := &consumertest.LogsSink{}
			f := startHTTPReceiver(t, httpOptions{next: sink})
			resp := f.do(t, http.MethodPost, tt.path, tt.body, tt.header)
			assert.Equal(t, http.StatusOK, resp.status, resp.raw)
			assert.Equal(t, tt.records, sink.LogRecordCount())
			assert.Equal(t, int64(tt.records), countedEvents(f.r))
		})
	}
}

func TestHTTPRecordOfAnAlert(t *testing.T) {
	sink := &consumertest.LogsSink{}
	f := startHTTPReceiver(t, httpOptions{next: sink})
	require.Equal(t, http.StatusOK, f.post(t, []byte(terminalShellJSON), nil).status)
	require.Len(t, sink.AllLogs(), 1)
	rl := sink.AllLogs()[0].ResourceLogs().At(0)
	assert.Equal(t, map[string]any{"host.name": "node-1", "service.name": "falco"}, rl.Resource().Attributes().AsRaw())
	lr := rl.ScopeLogs().At(0).LogRecords().At(0)
	assert.Equal(t, terminalShellTime, lr.Timestamp().AsTime())
	assert.Equal(t, plog.SeverityNumberInfo2, lr.SeverityNumber())
	assert.Equal(t, "Notice", lr.SeverityText())
	// The attributes the HTTP decoding decides; the conversion adds others (see convert_test.go).
	attrs := lr.Attributes().AsRaw()
	for k, want := range map[string]any{
		"falco.rule":     "Terminal shell in container",
		"falco.priority": "notice",
		"falco.source":   "syscall",
		"falco.tags":     []any{"T1059", "container", "maturity_stable", "mitre_execution", "shell"},
		"container.id":   "3ad7b26ded6d",
		"container.name": "nginx",
		"evt.arg.flags":  "EXE_WRITABLE|EXE_LOWER_LAYER",
		"evt.time":       int64(1746353472123456789),
		"evt.type":       "execve",
		"k8s.ns.name":    "shop",
		"k8s.pod.name":   "nginx-7c5ddbdf54-x2x8p",
		"proc.aname[2]":  "containerd-shim",
		"proc.cmdline":   "bash -il",
		"proc.exepath":   "/usr/bin/bash",
		"proc.name":      "bash",
		"proc.pname":     "runc",
		"proc.tty":       int64(34816),
		"user.loginuid":  int64(-1),
		"user.name":      "root",
		"user.uid":       int64(0),
	} {
		assert.Equal(t, want, attrs[k], k)
	}
	for _, k := range []string{"proc.aname[3]", "container.image.repository"} {
		assert.NotContains(t, attrs, k, "null values are dropped")
	}
}

func TestHTTPRejects(t *testing.T) {
	huge := ndjson(strings.Repeat(minimalAlert+"\n", 200)) // ~27 KB
	tests := []struct {
		name      string
		method    string
		path      string
		body      []byte
		header    map[string]string
		status    int
		wantError string
		line      int
		field     string
	}{
		{name: "malformed JSON", body: []byte(`{"rule":`), status: http.StatusBadRequest, wantError: "no alert of this request was accepted", line: 1, field: "rule"},
		{name: "neither JSON nor Falco's text output", body: []byte("hello"), status: http.StatusBadRequest, wantError: "json_output: true", line: 1},
		{name: "more alerts than max_alerts_per_request", body: ndjson(minimalAlert, minimalAlert, minimalAlert, minimalAlert), status: http.StatusRequestEntityTooLarge, wantError: "max_alerts_per_request (3)"},
		{name: "empty body", body: nil, status: http.StatusBadRequest, wantError: "empty body", line: 1},
		{name: "unknown priority on the second NDJSON line", body: ndjson(minimalAlert, strings.Replace(minimalAlert, "Warning", "Severe", 1)), status: http.StatusBadRequest, wantError: "unknown priority", line: 2, field: "priority"},
		{name: "missing time", body: []byte(`{"rule":"r","priority":"Notice"}`), status: http.StatusBadRequest, wantError: "missing", line: 1, field: "time"},
		{name: "over max_request_body_size", body: huge, status: http.StatusRequestEntityTooLarge, wantError: "max_request_body_size"},
		{name: "over max_request_body_size once gunzipped", body: gzipped(t, huge), header: map[string]string{"Content-Encoding": "gzip"}, status: http.StatusRequestEntityTooLarge, wantError: "max_request_body_size"},
		{name: "not gzip despite the header", body: []byte(minimalAlert), header: map[string]string{"Content-Encoding": "gzip"}, status: http.StatusBadRequest},
		{name: "unknown Content-Encoding", body: []byte(minimalAlert), header: map[string]string{"Content-Encoding": "br"}, status: http.StatusBadRequest, wantError: "unsupported Content-Encoding"},
		{name: "GET on the alert path", method: http.MethodGet, path: "/", status: http.StatusMethodNotAllowed, wantError: "POST"},
		{name: "PUT on /v1/falco", method: http.MethodPut, path: "/v1/falco", body: []byte(minimalAlert), status: http.StatusMethodNotAllowed, wantError: "POST"},
		{name: "POST to /healthz", path: "/healthz", body: []byte(minimalAlert), status: http.StatusMethodNotAllowed},
		{name: "GET on an unknown path", method: http.MethodGet, path: "/v1/logs", status: http.StatusNotFound, wantError: "POST Falco alerts to /"},
		{name: "GET on /test", method: http.MethodGet, path: "/test", status: http.StatusMethodNotAllowed, wantError: "POST"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sink := &consumertest.LogsSink{}
			f := startHTTPReceiver(t, httpOptions{next: sink, config: func(c *HTTPConfig) {
				c.ServerConfig.MaxRequestBodySize = 16 << 10
				c.MaxAlertsPerRequest = 3
			}})
			method, path := tt.method, tt.path
			if method == "" {
				method = http.MethodPost
			}
			if path == "" {
				path = "/"
			}
			resp := f.do(t, method, path, tt.body, tt.header)
			assert.Equal(t, tt.status, resp.status, resp.raw)
			assert.Contains(t, resp.body.Error, tt.wantError)
			assert.Equal(t, tt.line, resp.body.Line)
			assert.Equal(t, tt.field, resp.body.Field)
			if tt.status == http.StatusMethodNotAllowed {
				assert.NotEmpty(t, resp.header.Get("Allow"))
			}
			assert.Zero(t, sink.LogRecordCount(), "nothing of a rejected request reaches the pipeline")
			assert.Zero(t, countedEvents(f.r), "nothing of a rejected request is counted")
		})
	}
}

func TestHTTPPipelineRefusal(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		status     int
		retryAfter string
		counted    int64
	}{
		{name: "retryable (memory_limiter)", err: errors.New("data refused due to high memory usage"), status: http.StatusServiceUnavailable, retryAfter: "1", counted: 0},
		{name: "permanent", err: consumererror.NewPermanent(errors.New("bad data")), status: http.StatusInternalServerError, counted: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := startHTTPReceiver(t, httpOptions{next: consumertest.NewErr(tt.err)})
			resp := f.post(t, ndjson(minimalAlert, minimalAlert), nil)
			assert.Equal(t, tt.status, resp.status)
			assert.Equal(t, tt.retryAfter, resp.header.Get("Retry-After"))
			assert.Contains(t, resp.body.Error, tt.err.Error())
			assert.Equal(t, tt.counted, countedEvents(f.r))
		})
	}
}

// TestHTTPRetryAfterRefusalCountsOnce is the sender's view of a memory_limiter refusal: 503,
// then the same request again once the pipeline accepts, and every alert counted once.
func TestHTTPRetryAfterRefusalCountsOnce(t *testing.T) {
	var refuse atomic.Bool
	sink := &consumertest.LogsSink{}
	next, err := consumer.NewLogs(func(ctx context.Context, ld plog.Logs) error {
		if refuse.Load() {
			return errors.New("data refused due to high memory usage")
		}
		return sink.ConsumeLogs(ctx, ld)
	})
	require.NoError(t, err)
	f := startHTTPReceiver(t, httpOptions{next: next})
	body := ndjson(minimalAlert, minimalAlert, minimalAlert)

	refuse.Store(true)
	require.Equal(t, http.StatusServiceUnavailable, f.post(t, body, nil).status)
	refuse.Store(false)
	require.Equal(t, http.StatusOK, f.post(t, body, nil).status)
	assert.Equal(t, 3, sink.LogRecordCount())
	assert.Equal(t, int64(3), countedEvents(f.r))
}

func TestHTTPHealthz(t *testing.T) {
	f := startHTTPReceiver(t, httpOptions{})
	for _, method := range []string{http.MethodGet, http.MethodHead} {
		resp := f.do(t, method, "/healthz", nil, nil)
		assert.Equal(t, http.StatusOK, resp.status, method)
	}
	require.NoError(t, f.r.Shutdown(context.Background()))
	_, err := f.client.Get(f.url + "/healthz")
	assert.Error(t, err, "nothing answers once the receiver stopped")
}

// TestHTTPKeepAlive checks Falco's usage: many single-alert POSTs over one connection.
func TestHTTPKeepAlive(t *testing.T) {
	sink := &consumertest.LogsSink{}
	f := startHTTPReceiver(t, httpOptions{next: sink})
	var reused int
	for range 20 {
		trace := &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) {
			if info.Reused {
				reused++
			}
		}}
		req, err := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), http.MethodPost, f.url+"/", strings.NewReader(minimalAlert))
		require.NoError(t, err)
		resp, err := f.client.Do(req)
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
	}
	assert.Equal(t, 19, reused)
	assert.Equal(t, 20, sink.LogRecordCount())
}

// tokenAuth stands in for bearertokenauth: it accepts "Authorization: Bearer <token>".
type tokenAuth struct {
	component.StartFunc
	component.ShutdownFunc
	extensionauth.ServerAuthenticateFunc
}

type hostWithExtensions map[component.ID]component.Component

func (h hostWithExtensions) GetExtensions() map[component.ID]component.Component { return h }

func TestHTTPAuth(t *testing.T) {
	authID := component.MustNewID("bearertokenauth")
	auth := tokenAuth{ServerAuthenticateFunc: func(ctx context.Context, sources map[string][]string) (context.Context, error) {
		for k, v := range sources {
			if strings.EqualFold(k, "Authorization") && len(v) == 1 && v[0] == "Bearer s3cret" {
				return ctx, nil
			}
		}
		return ctx, errors.New("missing or invalid bearer token")
	}}
	sink := &consumertest.LogsSink{}
	f := startHTTPReceiver(t, httpOptions{
		next: sink,
		host: hostWithExtensions{authID: auth},
		config: func(c *HTTPConfig) {
			c.ServerConfig.Auth = configoptional.Some(confighttp.AuthConfig{Config: configauth.Config{AuthenticatorID: authID}})
		},
	})

	tests := []struct {
		name   string
		header map[string]string
		status int
	}{
		{"no token", nil, http.StatusUnauthorized},
		{"wrong token", map[string]string{"Authorization": "Bearer guess"}, http.StatusUnauthorized},
		{"the token", map[string]string{"Authorization": "Bearer s3cret"}, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := countedEvents(f.r)
			resp := f.post(t, []byte(minimalAlert), tt.header)
			require.Equal(t, tt.status, resp.status, resp.raw)
			if tt.status == http.StatusUnauthorized {
				assert.Contains(t, resp.body.Error, "bearer token")
				assert.Equal(t, before, countedEvents(f.r), "a rejected request is not counted")
			}
		})
	}
	assert.Equal(t, 1, sink.LogRecordCount())
	assert.Equal(t, int64(1), countedEvents(f.r))
	assert.Equal(t, http.StatusOK, f.do(t, http.MethodGet, "/healthz", nil, nil).status, "probes need no token")
}

func TestHTTPStartFailsOnABusyPort(t *testing.T) {
	f := startHTTPReceiver(t, httpOptions{})
	cfg := createDefaultConfig().(*Config)
	httpCfg := defaultHTTPConfig()
	httpCfg.ServerConfig.NetAddr.Endpoint = f.r.http.addr.String()
	cfg.HTTP = configoptional.Some(httpCfg)
	rcv, err := NewFactory().CreateLogs(context.Background(), receivertest.NewNopSettings(metadata.Type), cfg, consumertest.NewNop())
	require.NoError(t, err)
	err = rcv.Start(context.Background(), componenttest.NewNopHost())
	assert.ErrorContains(t, err, "listen on")
	assert.NoError(t, rcv.Shutdown(context.Background()))
}

func TestLoadHTTPConfig(t *testing.T) {
	t.Run("defaults", func(t *testing.T) {
		cfg := loadConfig(t, "http_defaults")
		require.NoError(t, cfg.Validate())
		assert.False(t, cfg.GRPC.HasValue())
		require.True(t, cfg.HTTP.HasValue())
		h := cfg.HTTP.Get()
		assert.Equal(t, "0.0.0.0:2801", h.ServerConfig.NetAddr.Endpoint)
		// The memory bounds of a node agent (README, "Limits").
		assert.Equal(t, int64(8<<20), h.ServerConfig.MaxRequestBodySize)
		assert.Equal(t, 5*time.Second, h.ServerConfig.ReadHeaderTimeout)
		assert.Equal(t, 10*time.Second, h.ServerConfig.ReadTimeout)
		assert.Equal(t, 5000, h.MaxAlertsPerRequest)
		assert.Equal(t, 1, h.MaxConcurrentRequests)
		assert.Equal(t, 1024, h.MaxConnections)
	})
	t.Run("limits below 1", func(t *testing.T) {
		cfg := loadConfig(t, "http_defaults")
		h := cfg.HTTP.Get()
		h.MaxAlertsPerRequest, h.MaxConcurrentRequests, h.MaxConnections = 0, -1, 0
		err := cfg.Validate()
		for _, name := range []string{"max_alerts_per_request", "max_concurrent_requests", "max_connections"} {
			assert.ErrorContains(t, err, "http."+name+" must be at least 1")
		}
	})
	t.Run("TLS, mTLS, auth and a body limit", func(t *testing.T) {
		cfg := loadConfig(t, "http_full")
		require.NoError(t, cfg.Validate())
		s := cfg.HTTP.Get().ServerConfig
		assert.Equal(t, int64(1<<20), s.MaxRequestBodySize)
		require.True(t, s.TLS.HasValue())
		assert.Equal(t, "/etc/falco/certs/ca.crt", s.TLS.Get().ClientCAFile)
		require.True(t, s.Auth.HasValue())
		assert.Equal(t, component.MustNewID("bearertokenauth"), s.Auth.Get().Config.AuthenticatorID)
	})
	t.Run("empty endpoint", func(t *testing.T) {
		assert.ErrorContains(t, loadConfig(t, "http_empty_endpoint").Validate(), "http.endpoint: empty")
	})
}

// TestHTTPAndGRPCGiveTheSameTelemetry decodes the same emulated alerts from Falco's JSON (http)
// and from its gRPC response: the log records match, and so do the falco.events series.
func TestHTTPAndGRPCGiveTheSameTelemetry(t *testing.T) {
	gen, err := falcoemu.NewGenerator(falcoemu.GeneratorConfig{Seed: 1, Pods: 20, K8sMeta: true, Priorities: falcoemu.AllPriorities()})
	require.NoError(t, err)
	const count = 2000
	var (
		dec                httpDecoder
		overHTTP, overGRPC []*alert
		received           = time.Now()
		checked            int
	)
	for range count {
		a := gen.Next()
		decoded, err := dec.decode(a.AppendJSON(nil))
		require.NoError(t, err)
		h := *decoded[0]
		h.Fields, h.Tags = slices.Clone(h.Fields), slices.Clone(h.Tags) // dec reuses its alerts
		g := &alert{}
		require.NoError(t, decodeResponse(a.AppendProto(nil), g))
		overHTTP, overGRPC = append(overHTTP, &h), append(overGRPC, g)
	}

	httpLogs, grpcLogs := alertsToLogs(overHTTP, received), alertsToLogs(overGRPC, received)
	require.Equal(t, httpLogs.ResourceLogs().Len(), grpcLogs.ResourceLogs().Len())
	for i := range httpLogs.ResourceLogs().Len() {
		hr, gr := httpLogs.ResourceLogs().At(i), grpcLogs.ResourceLogs().At(i)
		assert.Equal(t, gr.Resource().Attributes().AsRaw(), hr.Resource().Attributes().AsRaw())
		hl, gl := hr.ScopeLogs().At(0).LogRecords(), gr.ScopeLogs().At(0).LogRecords()
		require.Equal(t, gl.Len(), hl.Len())
		for j := range hl.Len() {
			h, g := hl.At(j), gl.At(j)
			assert.Equal(t, g.Timestamp(), h.Timestamp())
			assert.Equal(t, g.Body().Str(), h.Body().Str())
			assert.Equal(t, g.SeverityNumber(), h.SeverityNumber())
			require.Equal(t, g.Attributes().AsRaw(), h.Attributes().AsRaw())
			checked++
		}
	}
	require.Equal(t, count, checked)

	httpCounter, grpcCounter := newEventCounter(defaultMetricsConfig(), nil), newEventCounter(defaultMetricsConfig(), nil)
	httpCounter.count(overHTTP, received)
	grpcCounter.count(overGRPC, received)
	assert.Equal(t, seriesOf(grpcCounter), seriesOf(httpCounter), "the same falco.events series")
}

// seriesOf renders a counter's series as "host|attr=value,...|count".
func seriesOf(c *eventCounter) []string {
	var out []string
	rms := c.snapshot(time.Now()).ResourceMetrics()
	for i := range rms.Len() {
		host, _ := rms.At(i).Resource().Attributes().Get(attrHostName)
		dps := rms.At(i).ScopeMetrics().At(0).Metrics().At(0).Sum().DataPoints()
		for j := range dps.Len() {
			out = append(out, fmt.Sprintf("%s|%v|%d", host.Str(), dps.At(j).Attributes().AsRaw(), dps.At(j).IntValue()))
		}
	}
	slices.Sort(out)
	return out
}
