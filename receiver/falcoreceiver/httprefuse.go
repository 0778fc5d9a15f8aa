// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package falcoreceiver // import "github.com/otelcol-falco/otelcol-falco/receiver/falcoreceiver"

// Falco ignores every non-2xx answer: no log, no retry. So each refusal is counted in
// otelcol_falco_receiver_refused_requests{reason} and logged at warn with the sender's address,
// at most once per reason and sender every refusalLogInterval, with how many were not logged.

import (
	"context"
	"net"
	"net/http"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"
)

// Reasons of refused requests: the values of the reason attribute.
const (
	reasonMalformed          = "malformed"
	reasonTooLarge           = "too_large"
	reasonTooManyAlerts      = "too_many_alerts"
	reasonReadFailed         = "read_failed"
	reasonBusy               = "busy"
	reasonTooManyConnections = "too_many_connections"
	reasonPipelineRefused    = "pipeline_refused"
	reasonPipelineFailed     = "pipeline_failed"
	reasonMethodNotAllowed   = "method_not_allowed"
	reasonNotFound           = "not_found"
	reasonUnauthorized       = "unauthorized"
	reasonBadRequest         = "bad_request"
)

const (
	refusalLogInterval = 10 * time.Second
	// textOutputWarnInterval paces the advice to turn json_output on: once per sender and hour.
	textOutputWarnInterval = time.Hour
	// maxLogKeys bounds the rate limiter's memory when many senders are refused.
	maxLogKeys = 4096
)

// logLimiter tells whether a message about a key may be logged now, and how many were held back
// since the last one. It keeps at most maxLogKeys keys.
type logLimiter struct {
	every time.Duration
	mu    sync.Mutex
	keys  map[string]*logSlot
}

type logSlot struct {
	last       time.Time
	suppressed int
}

func newLogLimiter(every time.Duration) *logLimiter {
	return &logLimiter{every: every, keys: map[string]*logSlot{}}
}

func (l *logLimiter) allow(key string, now time.Time) (ok bool, suppressed int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	s, found := l.keys[key]
	if !found {
		if len(l.keys) >= maxLogKeys {
			for k, old := range l.keys { // forget senders not heard of for a whole interval
				if now.Sub(old.last) >= l.every {
					delete(l.keys, k)
				}
			}
			if len(l.keys) >= maxLogKeys {
				return false, 0
			}
		}
		l.keys[key] = &logSlot{last: now}
		return true, 0
	}
	if now.Sub(s.last) < l.every {
		s.suppressed++
		return false, 0
	}
	suppressed = s.suppressed
	s.last, s.suppressed = now, 0
	return true, suppressed
}

// senderHost is the sender's IP address without the port, so reconnects share a log key.
func senderHost(remote string) string {
	if host, _, err := net.SplitHostPort(remote); err == nil {
		return host
	}
	return remote
}

// refuse answers an error, counts it and logs it (rate-limited).
func (t *httpTransport) refuse(w http.ResponseWriter, req *http.Request, status int, reason string, body errorBody) {
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", retryAfterSeconds)
	}
	writeError(w, status, body)
	t.countRefusal(reason, req.RemoteAddr, zap.Int("status", status), zap.String("method", req.Method),
		zap.String("path", req.URL.Path), zap.String("error", body.Error))
}

// refuseUnread refuses a request whose body was not read to its end and closes the connection:
// net/http would otherwise read up to 256 KiB of the rest before answering, waiting on a
// stalled sender until read_timeout.
func (t *httpTransport) refuseUnread(w http.ResponseWriter, req *http.Request, status int, reason string, body errorBody) {
	w.Header().Set("Connection", "close")
	t.refuse(w, req, status, reason, body)
}

func (t *httpTransport) countRefusal(reason, remote string, fields ...zap.Field) {
	t.r.telemetry.FalcoReceiverRefusedRequests.Add(context.Background(), 1,
		metric.WithAttributeSet(attribute.NewSet(attribute.String("reason", reason))))
	ok, suppressed := t.refusals.allow(reason+" "+senderHost(remote), time.Now())
	if !ok {
		return
	}
	t.logger.Warn("refused a request from a Falco sender; Falco ignores error answers, so its alerts are lost unless the sender retries",
		append(fields, zap.String("reason", reason), zap.String("sender", remote), zap.Int("refused_since_last_warning", suppressed))...)
}
