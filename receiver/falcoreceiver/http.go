// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package falcoreceiver // import "github.com/otelcol-falco/otelcol-falco/receiver/falcoreceiver"

import (
	"context"
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
	// httpRootPath is falcosidekick's path, so Falco's http_output URL only changes host.
	httpRootPath   = "/"
	httpAlertsPath = "/v1/falco"
	httpHealthPath = "/healthz"

	// retryAfterSeconds is what a 503 asks senders to wait: about one memory_limiter check.
	retryAfterSeconds = "1"

	// Request buffers beyond these sizes are not pooled, so one large batch does not keep its
	// memory for the single-alert requests that follow.
	maxPooledBody   = 1 << 20
	maxPooledAlerts = 4096
)

// httpTransport accepts the POSTs of Falco's http_output (and batches from other senders) and
// hands the alerts to consumeAlerts. The answer reflects the pipeline's: 200 only once the next
// consumer accepted every alert of the request.
type httpTransport struct {
	cfg     *HTTPConfig
	r       *falcoReceiver
	obsrep  *receiverhelper.ObsReport
	logger  *zap.Logger
	states  sync.Pool // *httpRequestState
	maxBody int64

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
	return &httpTransport{
		cfg:    cfg,
		r:      r,
		obsrep: obsrep,
		logger: r.settings.Logger.With(zap.String("falco.http.endpoint", cfg.ServerConfig.NetAddr.Endpoint)),
		states: sync.Pool{New: func() any { return &httpRequestState{} }},
	}, nil
}

// start listens and serves. TLS, auth extensions, decompression and max_request_body_size come
// from confighttp; only routing and the alert handler are ours.
func (t *httpTransport) start(ctx context.Context, host component.Host) error {
	srv, err := t.cfg.ServerConfig.ToServer(ctx, host.GetExtensions(), t.r.settings.TelemetrySettings,
		http.HandlerFunc(t.handleAlerts), confighttp.WithErrorHandler(writeErrorHandler),
		// Falco sends one alert per request: a span and HTTP metrics per request would cost about
		// as much CPU as the alert itself. The receiver's own telemetry (otelcol_receiver_*, with
		// transport=http, and its span per delivery) accounts for every request's alerts.
		xconfighttp.WithOtelHTTPOptions(otelhttp.WithFilter(func(*http.Request) bool { return false })))
	if err != nil {
		return fmt.Errorf("falco http: %w", err)
	}
	t.maxBody = t.cfg.ServerConfig.MaxRequestBodySize // ToServer filled in the default
	ln, err := t.cfg.ServerConfig.ToListener(ctx)
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

// router answers health checks, wrong paths and wrong methods itself, so probes need no
// credentials and only alert POSTs pass through confighttp's auth, decompression and limits.
func (t *httpTransport) router(alerts http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		switch req.URL.Path {
		case httpRootPath, httpAlertsPath:
			if req.Method != http.MethodPost {
				w.Header().Set("Allow", http.MethodPost)
				writeError(w, http.StatusMethodNotAllowed, errorBody{Error: "Falco alerts are POSTed; " + req.Method + " is not supported"})
				return
			}
			alerts.ServeHTTP(w, req)
		case httpHealthPath:
			if req.Method != http.MethodGet && req.Method != http.MethodHead {
				w.Header().Set("Allow", "GET, HEAD")
				writeError(w, http.StatusMethodNotAllowed, errorBody{Error: req.Method + " is not supported"})
				return
			}
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"status":"ok"}`)
		default:
			writeError(w, http.StatusNotFound, errorBody{Error: "no such path; POST Falco alerts to / or " + httpAlertsPath})
		}
	})
}

// handleAlerts decodes one request's alerts and answers with the pipeline's verdict.
func (t *httpTransport) handleAlerts(w http.ResponseWriter, req *http.Request) {
	if req.ContentLength > t.maxBody {
		writeError(w, http.StatusRequestEntityTooLarge, errorBody{Error: t.tooLarge()})
		return
	}
	st := t.states.Get().(*httpRequestState)
	defer t.release(st)

	body, err := readBody(req, st.body[:0])
	st.body = body
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			writeError(w, http.StatusRequestEntityTooLarge, errorBody{Error: t.tooLarge()})
			return
		}
		writeError(w, http.StatusBadRequest, errorBody{Error: "reading the body: " + err.Error()})
		return
	}
	alerts, err := st.dec.decode(body)
	if err != nil {
		t.rejectMalformed(w, err)
		return
	}
	err = t.r.consumeAlerts(req.Context(), t.obsrep, alerts, time.Now())
	switch {
	case err == nil:
		w.WriteHeader(http.StatusOK)
	case consumererror.IsPermanent(err):
		// The alerts were counted; a retry would count them twice. 500 is not retryable in OTLP.
		t.logger.Error("the pipeline permanently refused Falco alerts", zap.Int("alerts", len(alerts)), zap.Error(err))
		writeError(w, http.StatusInternalServerError, errorBody{Error: "the pipeline refused the alerts permanently: " + err.Error()})
	default:
		// Nothing was counted: the sender may retry without counting twice.
		t.logger.Debug("pipeline refused Falco alerts; answering 503", zap.Int("alerts", len(alerts)), zap.Error(err))
		w.Header().Set("Retry-After", retryAfterSeconds)
		writeError(w, http.StatusServiceUnavailable, errorBody{Error: "the pipeline is not accepting data, retry later: " + err.Error()})
	}
}

func (t *httpTransport) rejectMalformed(w http.ResponseWriter, err error) {
	body := errorBody{Error: err.Error() + "; no alert of this request was accepted"}
	if de, ok := errors.AsType[*decodeError](err); ok {
		body.Line, body.Field = de.Line, de.Field
	}
	t.logger.Debug("rejected a malformed Falco alert request", zap.Error(err))
	writeError(w, http.StatusBadRequest, body)
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

// readBody reads the whole body into buf, sized up front when the length is known (up to
// maxPooledBody: a declared length alone does not get to allocate more).
func readBody(req *http.Request, buf []byte) ([]byte, error) {
	if n := min(req.ContentLength, maxPooledBody); n > int64(cap(buf)) {
		buf = make([]byte, 0, n)
	}
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := req.Body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if errors.Is(err, io.EOF) {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// errorBody is every error answer: what went wrong and, for a malformed alert, where.
type errorBody struct {
	Error string `json:"error"`
	Line  int    `json:"line,omitempty"`
	Field string `json:"field,omitempty"`
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

// writeErrorHandler answers confighttp's own rejections (401 from auth, 400 for an unknown
// Content-Encoding) in the same JSON shape.
func writeErrorHandler(w http.ResponseWriter, _ *http.Request, msg string, status int) {
	writeError(w, status, errorBody{Error: msg})
}
