// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package falcoreceiver // import "github.com/otelcol-falco/otelcol-falco/receiver/falcoreceiver"

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/confighttp/xconfighttp"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/receiver/receiverhelper"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.uber.org/zap"
)

const (
	// httpRootPath is falcosidekick's path, so Falco's http_output URL only changes host. As in
	// falcosidekick, a POST to any path other than the ones below is an alert.
	httpRootPath   = "/"
	httpAlertsPath = "/v1/falco"
	httpHealthPath = "/healthz"
	httpPingPath   = "/ping" // falcosidekick's liveness probe: "pong"
	httpTestPath   = "/test" // falcosidekick's: push one test alert through the pipeline

	// retryAfterSeconds is what a 503 asks senders to wait: about one memory_limiter check.
	retryAfterSeconds = "1"

	// Request buffers beyond these sizes are not pooled, so one large batch does not keep its
	// memory for the single-alert requests that follow.
	maxPooledBody   = 1 << 20
	maxPooledAlerts = 1024

	// deliveryChunk is the most alerts handed to the pipeline at once (see deliver).
	deliveryChunk = 1000
)

// httpTransport accepts the POSTs of Falco's http_output (and batches from other senders) and
// hands the alerts to consumeAlerts. The answer reflects the pipeline's: 200 only once the next
// consumer accepted every alert of the request.
type httpTransport struct {
	cfg      *HTTPConfig
	r        *falcoReceiver
	obsrep   *receiverhelper.ObsReport
	logger   *zap.Logger
	states   sync.Pool // *httpRequestState
	maxBody  int64
	limits   *ingestLimits
	refusals *logLimiter // warnings about refused requests, per reason and sender
	textWarn *logLimiter // advice to turn json_output on, per sender

	server *http.Server
	addr   net.Addr      // where it listens (a port chosen at start for :0)
	done   chan struct{} // closed when Serve returned
}

// httpRequestState is what one request needs, reused across requests.
type httpRequestState struct {
	body []byte
	dec  httpDecoder
}

func newHTTPTransport(cfg *HTTPConfig, r *falcoReceiver) (*httpTransport, error) {
	obsrep, err := receiverhelper.NewObsReport(receiverhelper.ObsReportSettings{
		ReceiverID: r.settings.ID, Transport: "http", ReceiverCreateSettings: r.settings,
	})
	if err != nil {
		return nil, err
	}
	maxAlerts := cfg.MaxAlertsPerRequest
	return &httpTransport{
		cfg:      cfg,
		r:        r,
		obsrep:   obsrep,
		logger:   r.settings.Logger.With(zap.String("falco.http.endpoint", cfg.ServerConfig.NetAddr.Endpoint)),
		states:   sync.Pool{New: func() any { return &httpRequestState{dec: httpDecoder{maxAlerts: maxAlerts}} }},
		refusals: newLogLimiter(refusalLogInterval),
		textWarn: newLogLimiter(textOutputWarnInterval),
	}, nil
}

// start listens and serves. TLS, auth extensions, decompression and max_request_body_size come
// from confighttp; only routing and the alert handler are ours.
func (t *httpTransport) start(ctx context.Context, host component.Host) error {
	srv, err := t.cfg.ServerConfig.ToServer(ctx, host.GetExtensions(), t.r.settings.TelemetrySettings,
		http.HandlerFunc(t.handleAlerts), confighttp.WithErrorHandler(t.writeConfighttpError),
		// Falco sends one alert per request: a span and HTTP metrics per request would cost about
		// as much CPU as the alert itself. The receiver's own telemetry (otelcol_receiver_*, with
		// transport=http, and its span per delivery) accounts for every request's alerts.
		xconfighttp.WithOtelHTTPOptions(otelhttp.WithFilter(func(*http.Request) bool { return false })))
	if err != nil {
		return fmt.Errorf("falco http: %w", err)
	}
	t.maxBody = t.cfg.ServerConfig.MaxRequestBodySize // ToServer filled in the default
	t.limits = newIngestLimits(max(t.cfg.MaxConcurrentRequests, 1), t.maxBody)
	ln, err := t.listen(ctx)
	if err != nil {
		return fmt.Errorf("falco http: listen on %s: %w", t.cfg.ServerConfig.NetAddr.Endpoint, err)
	}
	srv.Handler = t.router(srv.Handler)
	t.server, t.addr, t.done = srv, ln.Addr(), make(chan struct{})
	go func() {
		defer close(t.done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			componentstatus.ReportStatus(host, componentstatus.NewFatalErrorEvent(fmt.Errorf("falco http: %w", err)))
		}
	}()
	t.logger.Info("accepting Falco http_output alerts", zap.Stringer("address", ln.Addr()))
	return nil
}

// listen is confighttp's ToListener with the connection limit under TLS, so a connection
// refused for the limit costs no handshake and net/http still sees the *tls.Conn.
func (t *httpTransport) listen(ctx context.Context) (net.Listener, error) {
	sc := &t.cfg.ServerConfig
	ln, err := sc.NetAddr.Listen(ctx)
	if err != nil {
		return nil, err
	}
	if t.cfg.MaxConnections > 0 {
		ln = newLimitListener(ln, t.cfg.MaxConnections, func(remote net.Addr) {
			t.countRefusal(reasonTooManyConnections, remote.String(), zap.Int("max_connections", t.cfg.MaxConnections))
		})
	}
	if sc.TLS.HasValue() {
		tlsCfg, err := sc.TLS.Get().LoadTLSConfig(ctx)
		if err != nil {
			_ = ln.Close()
			return nil, err
		}
		tlsCfg.NextProtos = []string{"h2", "http/1.1"}
		ln = tls.NewListener(ln, tlsCfg)
	}
	return ln, nil
}

// shutdown stops accepting, lets requests in flight finish their delivery, then returns.
func (t *httpTransport) shutdown(ctx context.Context) error {
	if t.server == nil {
		return nil
	}
	err := t.server.Shutdown(ctx)
	if err != nil {
		err = errors.Join(err, t.server.Close())
	}
	<-t.done
	return err
}

// router answers health checks, pings and wrong methods itself, so probes need no credentials;
// alert POSTs (any other path, as in falcosidekick) and /test pass through confighttp's auth,
// decompression and limits.
func (t *httpTransport) router(alerts http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		switch path := req.URL.Path; {
		case path == httpHealthPath:
			if !t.allowGet(w, req) {
				return
			}
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"status":"ok"}`)
		case path == httpPingPath:
			if !t.allowGet(w, req) {
				return
			}
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			_, _ = io.WriteString(w, "pong\n")
		case req.Method == http.MethodPost:
			alerts.ServeHTTP(w, req)
		case path == httpRootPath || path == httpAlertsPath || path == httpTestPath:
			w.Header().Set("Allow", http.MethodPost)
			t.refuse(w, req, http.StatusMethodNotAllowed, reasonMethodNotAllowed,
				errorBody{Error: "Falco alerts are POSTed; " + req.Method + " is not supported"})
		default:
			t.refuse(w, req, http.StatusNotFound, reasonNotFound,
				errorBody{Error: "no such path; POST Falco alerts to / (any path is taken as falcosidekick does)"})
		}
	})
}

func (t *httpTransport) allowGet(w http.ResponseWriter, req *http.Request) bool {
	if req.Method == http.MethodGet || req.Method == http.MethodHead {
		return true
	}
	w.Header().Set("Allow", "GET, HEAD")
	t.refuse(w, req, http.StatusMethodNotAllowed, reasonMethodNotAllowed, errorBody{Error: req.Method + " is not supported"})
	return false
}

// handleAlerts decodes one request's alerts and answers with the pipeline's verdict.
func (t *httpTransport) handleAlerts(w http.ResponseWriter, req *http.Request) {
	if req.URL.Path == httpTestPath {
		t.deliver(w, req, []*alert{newTestAlert(time.Now())}, time.Now())
		return
	}
	if req.ContentLength > t.maxBody {
		t.refuseUnread(w, req, http.StatusRequestEntityTooLarge, reasonTooLarge, errorBody{Error: t.tooLarge()})
		return
	}
	st := t.states.Get().(*httpRequestState)
	defer t.release(st)

	body, reserved, err := t.limits.readBody(req, st.body[:0], t.maxBody)
	defer t.limits.unreserve(reserved)
	st.body = body
	if err != nil {
		switch _, tooLarge := errors.AsType[*http.MaxBytesError](err); {
		case tooLarge:
			t.refuseUnread(w, req, http.StatusRequestEntityTooLarge, reasonTooLarge, errorBody{Error: t.tooLarge()})
		case errors.Is(err, errBusy):
			t.refuseUnread(w, req, http.StatusServiceUnavailable, reasonBusy, errorBody{Error: err.Error()})
		default:
			t.refuseUnread(w, req, http.StatusBadRequest, reasonReadFailed, errorBody{Error: "reading the body: " + err.Error()})
		}
		return
	}
	// Decoded alerts and their logs cost several times the body: only so many at once.
	release := t.limits.acquire(req.Context(), len(body))
	if release == nil {
		t.refuse(w, req, http.StatusServiceUnavailable, reasonBusy, errorBody{Error: errBusy.Error()})
		return
	}
	defer release()
	received := time.Now()
	st.dec.received = received
	alerts, err := st.dec.decode(body)
	if err != nil {
		t.rejectMalformed(w, req, err)
		return
	}
	if st.dec.sawText {
		t.adviseJSONOutput(req)
	}
	t.deliver(w, req, alerts, received)
}

// deliver hands alerts to the pipeline, deliveryChunk at a time, and answers with its verdict.
// Parts keep the pipeline's unit of work small: a single alert from Falco waits behind one
// part's write to the disk queue, not behind a whole batch's.
func (t *httpTransport) deliver(w http.ResponseWriter, req *http.Request, alerts []*alert, received time.Time) {
	var permanent error
	for start := 0; start < len(alerts); start += deliveryChunk {
		part := alerts[start:min(start+deliveryChunk, len(alerts))]
		if len(alerts) > 1 && t.r.spool != nil {
			// A batch sender waits a moment for a drain that is behind, as Falco's gRPC stream
			// does: otherwise its batches go to disk only and are read back, which costs more
			// than the drain saves and keeps it behind. Falco's single-alert POSTs never wait.
			t.r.spool.awaitRoom(req.Context(), time.Second)
		}
		err := t.r.consumeAlerts(req.Context(), t.obsrep, part, received)
		switch {
		case err == nil:
		case consumererror.IsPermanent(err):
			// The part was counted; a retry would count it twice. The other parts go on.
			t.logger.Error("the pipeline permanently refused Falco alerts", zap.Int("alerts", len(part)), zap.Error(err))
			permanent = err
		default:
			// This part and the rest were not counted; the earlier parts were delivered.
			t.refuse(w, req, http.StatusServiceUnavailable, reasonPipelineRefused, errorBody{Accepted: start,
				Error: fmt.Sprintf("the pipeline is not accepting data, retry later (the first %d alerts of the request were accepted): %v", start, err)})
			return
		}
	}
	if permanent != nil { // 500 is not retryable in OTLP
		t.refuse(w, req, http.StatusInternalServerError, reasonPipelineFailed,
			errorBody{Error: "the pipeline refused alerts permanently: " + permanent.Error()})
		return
	}
	w.WriteHeader(http.StatusOK)
}

// adviseJSONOutput tells, once an hour per sender, that Falco's JSON output carries more.
func (t *httpTransport) adviseJSONOutput(req *http.Request) {
	if ok, _ := t.textWarn.allow(senderHost(req.RemoteAddr), time.Now()); ok {
		t.logger.Warn("a Falco sender uses text output (json_output: false, Falco's default): its alerts are kept with their time, "+
			"priority and text, but without rule, hostname, tags or fields; set json_output: true in falco.yaml",
			zap.String("sender", req.RemoteAddr), zap.String("falco.rule", textOutputRule))
	}
}

func (t *httpTransport) rejectMalformed(w http.ResponseWriter, req *http.Request, err error) {
	if tm, ok := errors.AsType[*tooManyAlertsError](err); ok {
		t.refuse(w, req, http.StatusRequestEntityTooLarge, reasonTooManyAlerts, errorBody{Error: tm.Error() + "; no alert of this request was accepted"})
		return
	}
	body := errorBody{Error: err.Error() + "; no alert of this request was accepted"}
	if de, ok := errors.AsType[*decodeError](err); ok {
		body.Line, body.Field = de.Line, de.Field
	}
	t.refuse(w, req, http.StatusBadRequest, reasonMalformed, body)
}

func (t *httpTransport) tooLarge() string {
	return fmt.Sprintf("body larger than max_request_body_size (%d bytes)", t.maxBody)
}

func (t *httpTransport) release(st *httpRequestState) {
	if cap(st.body) > maxPooledBody {
		st.body = nil
	}
	if len(st.dec.alerts) > maxPooledAlerts {
		st.dec.alerts = nil
	}
	t.states.Put(st)
}

// errorBody is every error answer: what went wrong and, for a malformed alert, where.
type errorBody struct {
	Error    string `json:"error"`
	Line     int    `json:"line,omitempty"`
	Field    string `json:"field,omitempty"`
	Accepted int    `json:"accepted,omitempty"` // alerts of a refused batch delivered before the refusal
}

func writeError(w http.ResponseWriter, status int, body errorBody) {
	b, err := json.Marshal(body)
	if err != nil {
		b = []byte(`{"error":"unknown"}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// writeConfighttpError answers confighttp's own rejections (401 from auth, 400 for an unknown
// Content-Encoding, 413) in the same JSON shape, counted and logged like ours.
func (t *httpTransport) writeConfighttpError(w http.ResponseWriter, req *http.Request, msg string, status int) {
	reason := reasonBadRequest
	switch status {
	case http.StatusUnauthorized, http.StatusForbidden:
		reason = reasonUnauthorized
	case http.StatusRequestEntityTooLarge:
		reason = reasonTooLarge
	}
	t.refuse(w, req, status, reason, errorBody{Error: msg})
}
