package falcoemu

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// HTTP sender modes.
const (
	// ModeSingle posts one JSON alert per request, like Falco's http_output.
	ModeSingle = "single"
	// ModeNDJSON posts Batch alerts per request, one JSON alert per line.
	ModeNDJSON = "ndjson"
	// ModeArray posts Batch alerts per request as a JSON array.
	ModeArray = "array"
)

// HTTPSenderConfig configures an HTTPSender.
type HTTPSenderConfig struct {
	URL string
	// Mode is ModeSingle (default), ModeNDJSON or ModeArray.
	Mode string
	// Batch is the number of alerts per request in the batch modes (default 100).
	Batch int
	// Connections is the number of concurrent keep-alive connections (default 1).
	Connections int
	// Gzip compresses bodies (Content-Encoding: gzip).
	Gzip bool
	// Token, when set, is sent as "Authorization: Bearer <token>".
	Token string
	// Headers are extra request headers.
	Headers map[string]string
	// UserAgent defaults to Falco's "falcosecurity/falco".
	UserAgent string
	// MaxRetries bounds the retries of a request answered 503 or failing at the
	// transport level (default 5; < 0 means none).
	MaxRetries int
	// MaxRetryWait caps the wait before a retry, including a Retry-After (default 5s).
	MaxRetryWait time.Duration
	// Timeout is the per-request timeout (default 10s).
	Timeout time.Duration
	// FlushInterval sends a partial batch when no alert arrived for this long in the
	// batch modes (default 100ms).
	FlushInterval time.Duration
	// InsecureSkipVerify, CAFile, CertFile, KeyFile configure HTTPS.
	InsecureSkipVerify        bool
	CAFile, CertFile, KeyFile string
	// Tally counts acknowledged (2xx) alerts (default: a new Tally).
	Tally *Tally
	// Client overrides the HTTP client (then Connections and TLS settings only bound
	// concurrency).
	Client *http.Client
}

// HTTPStats are an HTTPSender's counters.
type HTTPStats struct {
	Generated       uint64            `json:"generated"`        // alerts produced
	Acked           uint64            `json:"acked"`            // alerts in 2xx-answered requests
	Failed          uint64            `json:"failed"`           // alerts given up on (non-2xx, retries exhausted)
	Abandoned       uint64            `json:"abandoned"`        // alerts not sent because of shutdown
	Requests        uint64            `json:"requests"`         // HTTP requests made, retries included
	Retries         uint64            `json:"retries"`          // requests repeated
	TransportErrors uint64            `json:"transport_errors"` // requests without an HTTP answer
	BytesSent       uint64            `json:"bytes_sent"`       // request body bytes (after gzip)
	Status          map[string]uint64 `json:"status"`           // answers by status code
}

// HTTPSender posts generated alerts to a URL like Falco's http_output.
type HTTPSender struct {
	cfg    HTTPSenderConfig
	client *http.Client
	tally  *Tally

	generated, acked, failed, abandoned atomic.Uint64
	requests, retries, transportErrs    atomic.Uint64
	bytesSent                           atomic.Uint64
	smu                                 sync.Mutex
	status                              map[int]uint64
}

// NewHTTPSender validates cfg and builds a sender.
func NewHTTPSender(cfg HTTPSenderConfig) (*HTTPSender, error) {
	if cfg.URL == "" {
		return nil, errors.New("http: no URL")
	}
	switch cfg.Mode {
	case "":
		cfg.Mode = ModeSingle
	case ModeSingle, ModeNDJSON, ModeArray:
	default:
		return nil, fmt.Errorf("http: unknown mode %q (single, ndjson, array)", cfg.Mode)
	}
	if cfg.Mode == ModeSingle {
		cfg.Batch = 1
	} else if cfg.Batch <= 0 {
		cfg.Batch = 100
	}
	if cfg.Connections <= 0 {
		cfg.Connections = 1
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = "falcosecurity/falco"
	}
	if cfg.MaxRetries == 0 {
		cfg.MaxRetries = 5
	} else if cfg.MaxRetries < 0 {
		cfg.MaxRetries = 0
	}
	if cfg.MaxRetryWait <= 0 {
		cfg.MaxRetryWait = 5 * time.Second
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.FlushInterval <= 0 {
		cfg.FlushInterval = 100 * time.Millisecond
	}
	s := &HTTPSender{cfg: cfg, client: cfg.Client, tally: cfg.Tally, status: map[int]uint64{}}
	if s.tally == nil {
		s.tally = NewTally()
	}
	if s.client == nil {
		tc := &tls.Config{InsecureSkipVerify: cfg.InsecureSkipVerify} //nolint:gosec // test tool option
		if cfg.CAFile != "" {
			pem, err := os.ReadFile(cfg.CAFile)
			if err != nil {
				return nil, err
			}
			tc.RootCAs = x509.NewCertPool()
			tc.RootCAs.AppendCertsFromPEM(pem)
		}
		if cfg.CertFile != "" {
			c, err := tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile)
			if err != nil {
				return nil, err
			}
			tc.Certificates = []tls.Certificate{c}
		}
		s.client = &http.Client{Transport: &http.Transport{
			Proxy:               nil,
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:        cfg.Connections,
			MaxIdleConnsPerHost: cfg.Connections,
			MaxConnsPerHost:     cfg.Connections,
			IdleConnTimeout:     90 * time.Second,
			TLSClientConfig:     tc,
			DisableCompression:  true,
			ForceAttemptHTTP2:   false,
		}}
	}
	return s, nil
}

// Tally returns the tally of acknowledged alerts.
func (s *HTTPSender) Tally() *Tally { return s.tally }

// Stats returns the counters so far.
func (s *HTTPSender) Stats() HTTPStats {
	st := HTTPStats{
		Generated: s.generated.Load(), Acked: s.acked.Load(), Failed: s.failed.Load(),
		Abandoned: s.abandoned.Load(), Requests: s.requests.Load(), Retries: s.retries.Load(),
		TransportErrors: s.transportErrs.Load(), BytesSent: s.bytesSent.Load(), Status: map[string]uint64{},
	}
	s.smu.Lock()
	for c, n := range s.status {
		st.Status[strconv.Itoa(c)] = n
	}
	s.smu.Unlock()
	return st
}

// Run generates count alerts (0 = until ctx is done) at rate alerts/s (0 = as fast
// as the connections allow) and posts them; it returns when all were answered (or
// given up on). When ctx is done it stops generating, finishes the requests in
// flight and abandons the batches not yet sent.
func (s *HTTPSender) Run(ctx context.Context, g *Generator, count uint64, rate float64) HTTPStats {
	batches := make(chan []Alert, s.cfg.Connections*2)
	var wg sync.WaitGroup
	for i := 0; i < s.cfg.Connections; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := newBodyWriter(s.cfg)
			for b := range batches {
				if ctx.Err() != nil {
					s.abandoned.Add(uint64(len(b)))
					continue
				}
				s.post(ctx, w, b)
			}
		}()
	}

	p := NewPacer(rate)
	bs := s.cfg.Batch
	cur := make([]Alert, 0, bs)
	var firstAt time.Time
	flush := func() {
		if len(cur) > 0 {
			batches <- cur
			cur = make([]Alert, 0, bs)
		}
	}
	var n uint64
	for count == 0 || n < count {
		want := bs - len(cur)
		if count > 0 && count-n < uint64(want) {
			want = int(count - n)
		}
		// Send a partial batch if the rate leaves it waiting too long.
		if len(cur) > 0 && time.Since(firstAt) >= s.cfg.FlushInterval {
			flush()
		}
		tctx := ctx
		var cancel context.CancelFunc
		if len(cur) > 0 {
			tctx, cancel = context.WithDeadline(ctx, firstAt.Add(s.cfg.FlushInterval))
		}
		k := p.Take(tctx, want)
		if cancel != nil {
			cancel()
		}
		if k == 0 {
			if ctx.Err() != nil {
				break
			}
			continue // flush deadline reached
		}
		for i := 0; i < k; i++ {
			if len(cur) == 0 {
				firstAt = time.Now()
			}
			cur = append(cur, g.Next())
			n++
			s.generated.Add(1)
			if len(cur) == bs {
				flush()
			}
		}
	}
	flush()
	close(batches)
	wg.Wait()
	return s.Stats()
}

// Send posts alerts now, in requests of the configured mode and batch size, and
// returns when all were answered.
func (s *HTTPSender) Send(ctx context.Context, alerts []Alert) {
	w := newBodyWriter(s.cfg)
	for len(alerts) > 0 {
		k := min(len(alerts), s.cfg.Batch)
		s.post(ctx, w, alerts[:k])
		alerts = alerts[k:]
	}
}

// bodyWriter encodes batches into a reused buffer (gzip writer reused too).
type bodyWriter struct {
	mode string
	gz   *gzip.Writer
	raw  []byte
	zbuf bytes.Buffer
	body []byte
}

func newBodyWriter(cfg HTTPSenderConfig) *bodyWriter {
	w := &bodyWriter{mode: cfg.Mode}
	if cfg.Gzip {
		w.gz, _ = gzip.NewWriterLevel(io.Discard, gzip.BestSpeed)
	}
	return w
}

func (w *bodyWriter) encode(alerts []Alert) []byte {
	b := w.raw[:0]
	switch w.mode {
	case ModeArray:
		b = append(b, '[')
		for i := range alerts {
			if i > 0 {
				b = append(b, ',')
			}
			b = alerts[i].AppendJSON(b)
		}
		b = append(b, ']')
	case ModeNDJSON:
		for i := range alerts {
			b = alerts[i].AppendJSON(b)
			b = append(b, '\n')
		}
	default:
		b = alerts[0].AppendJSON(b)
	}
	w.raw = b
	if w.gz == nil {
		return b
	}
	w.zbuf.Reset()
	w.gz.Reset(&w.zbuf)
	w.gz.Write(b)
	w.gz.Close()
	return w.zbuf.Bytes()
}

func (s *HTTPSender) contentType() string {
	if s.cfg.Mode == ModeNDJSON {
		return "application/x-ndjson"
	}
	return "application/json"
}

// post sends one batch with retries and accounts for it.
func (s *HTTPSender) post(ctx context.Context, w *bodyWriter, alerts []Alert) {
	body := w.encode(alerts)
	n := uint64(len(alerts))
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			s.retries.Add(1)
		}
		code, retryAfter, err := s.do(body)
		if err == nil && code >= 200 && code < 300 {
			s.tally.AddAll(alerts)
			s.acked.Add(n)
			return
		}
		retryable := err != nil || code == http.StatusServiceUnavailable
		if !retryable || attempt >= s.cfg.MaxRetries {
			s.failed.Add(n)
			return
		}
		wait := retryAfter
		if wait <= 0 {
			wait = time.Duration(100<<attempt) * time.Millisecond
		}
		wait = min(wait, s.cfg.MaxRetryWait)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			s.abandoned.Add(n)
			return
		case <-t.C:
		}
	}
}

// do makes one request; the body buffer may be reused only after Close.
func (s *HTTPSender) do(body []byte) (code int, retryAfter time.Duration, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.Timeout)
	defer cancel()
	rb := &trackedBody{Reader: bytes.NewReader(body), done: make(chan struct{})}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.cfg.URL, rb)
	if err != nil {
		return 0, 0, err
	}
	req.ContentLength = int64(len(body))
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	req.Header.Set("Content-Type", s.contentType())
	req.Header.Set("User-Agent", s.cfg.UserAgent)
	if s.cfg.Gzip {
		req.Header.Set("Content-Encoding", "gzip")
	}
	if s.cfg.Token != "" {
		req.Header.Set("Authorization", "Bearer "+s.cfg.Token)
	}
	for k, v := range s.cfg.Headers {
		req.Header.Set(k, v)
	}
	s.requests.Add(1)
	s.bytesSent.Add(uint64(len(body)))
	resp, err := s.client.Do(req)
	if err != nil {
		s.transportErrs.Add(1)
		rb.wait()
		return 0, 0, err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	rb.wait()
	s.smu.Lock()
	s.status[resp.StatusCode]++
	s.smu.Unlock()
	return resp.StatusCode, parseRetryAfter(resp.Header.Get("Retry-After")), nil
}

// trackedBody signals when the transport is done with the request body, so the
// encoding buffer can be reused safely.
type trackedBody struct {
	*bytes.Reader
	once sync.Once
	done chan struct{}
}

func (b *trackedBody) Close() error {
	b.once.Do(func() { close(b.done) })
	return nil
}

func (b *trackedBody) wait() {
	select {
	case <-b.done:
	case <-time.After(5 * time.Second):
	}
}

func parseRetryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if secs, err := strconv.Atoi(v); err == nil {
		if secs < 0 {
			return 0
		}
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return time.Until(t)
	}
	return 0
}
