package falcoemu

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// receiver is a test HTTP endpoint that decodes what it gets.
type receiver struct {
	mu       sync.Mutex
	alerts   []map[string]any
	requests int
	headers  []http.Header
	// respond, when set, decides the status of each request (n counts from 1).
	respond func(n int, w http.ResponseWriter) bool
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rc.mu.Lock()
	rc.requests++
	n := rc.requests
	rc.headers = append(rc.headers, r.Header.Clone())
	rc.mu.Unlock()
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		body = zr
	}
	raw, _ := io.ReadAll(body)
	if rc.respond != nil && rc.respond(n, w) {
		return
	}
	var got []map[string]any
	switch {
	case bytes.HasPrefix(raw, []byte("[")):
		if err := json.Unmarshal(raw, &got); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
	default:
		sc := bufio.NewScanner(bytes.NewReader(raw))
		sc.Buffer(make([]byte, 1<<20), 1<<24)
		for sc.Scan() {
			var m map[string]any
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
				http.Error(w, err.Error(), 400)
				return
			}
			got = append(got, m)
		}
	}
	rc.mu.Lock()
	rc.alerts = append(rc.alerts, got...)
	rc.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

func TestHTTPSingle(t *testing.T) {
	rc := &receiver{}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	s, err := NewHTTPSender(HTTPSenderConfig{URL: srv.URL, Token: "s3cret", Connections: 2})
	if err != nil {
		t.Fatal(err)
	}
	st := s.Run(context.Background(), testGen(t, 21), 50, 0)
	if st.Acked != 50 || st.Requests != 50 || st.Status["200"] != 50 || len(rc.alerts) != 50 || s.Tally().Total() != 50 {
		t.Fatalf("stats %+v, received %d", st, len(rc.alerts))
	}
	h := rc.headers[0]
	if h.Get("Content-Type") != "application/json" || h.Get("Authorization") != "Bearer s3cret" || h.Get("User-Agent") != "falcosecurity/falco" || h.Get("Content-Encoding") != "" {
		t.Fatalf("headers %v", h)
	}
	a := rc.alerts[0]
	for _, k := range []string{"hostname", "output", "output_fields", "priority", "rule", "source", "tags", "time"} {
		if _, ok := a[k]; !ok {
			t.Fatalf("missing %s", k)
		}
	}
}

func TestHTTPBatchModesAndGzip(t *testing.T) {
	for _, mode := range []string{ModeNDJSON, ModeArray} {
		for _, gz := range []bool{false, true} {
			rc := &receiver{}
			srv := httptest.NewServer(rc)
			s, err := NewHTTPSender(HTTPSenderConfig{URL: srv.URL, Mode: mode, Batch: 40, Gzip: gz, Connections: 3})
			if err != nil {
				t.Fatal(err)
			}
			st := s.Run(context.Background(), testGen(t, 22), 1000, 0)
			srv.Close()
			if st.Acked != 1000 || len(rc.alerts) != 1000 || st.Requests != 25 {
				t.Fatalf("%s gzip=%v: %+v received %d", mode, gz, st, len(rc.alerts))
			}
			ct := rc.headers[0].Get("Content-Type")
			if (mode == ModeNDJSON && ct != "application/x-ndjson") || (mode == ModeArray && ct != "application/json") {
				t.Fatalf("content type %q", ct)
			}
			if gz != (rc.headers[0].Get("Content-Encoding") == "gzip") {
				t.Fatal("content-encoding")
			}
			seen := map[string]bool{}
			for _, a := range rc.alerts {
				k := a["time"].(string)
				if seen[k] {
					t.Fatal("duplicate")
				}
				seen[k] = true
			}
		}
	}
}

func TestHTTPRetriesOn503(t *testing.T) {
	rc := &receiver{respond: func(n int, w http.ResponseWriter) bool {
		if n%2 == 1 { // every first attempt is refused
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusServiceUnavailable)
			return true
		}
		return false
	}}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	s, _ := NewHTTPSender(HTTPSenderConfig{URL: srv.URL, Mode: ModeArray, Batch: 10})
	st := s.Run(context.Background(), testGen(t, 23), 30, 0)
	if st.Acked != 30 || st.Retries != 3 || st.Status["503"] != 3 || st.Status["200"] != 3 || len(rc.alerts) != 30 || st.Failed != 0 {
		t.Fatalf("%+v received %d", st, len(rc.alerts))
	}

	// Retry-After is honoured (bounded by MaxRetryWait) and retries are bounded.
	var times []time.Time
	var mu sync.Mutex
	always := &receiver{respond: func(n int, w http.ResponseWriter) bool {
		mu.Lock()
		times = append(times, time.Now())
		mu.Unlock()
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusServiceUnavailable)
		return true
	}}
	srv2 := httptest.NewServer(always)
	defer srv2.Close()
	s2, _ := NewHTTPSender(HTTPSenderConfig{URL: srv2.URL, MaxRetries: 2, MaxRetryWait: 150 * time.Millisecond})
	st = s2.Run(context.Background(), testGen(t, 24), 1, 0)
	if st.Acked != 0 || st.Failed != 1 || st.Requests != 3 || s2.Tally().Total() != 0 {
		t.Fatalf("%+v", st)
	}
	if d := times[1].Sub(times[0]); d < 140*time.Millisecond || d > time.Second {
		t.Fatalf("retry after %v", d)
	}
}

func TestHTTPOtherStatusNotCounted(t *testing.T) {
	var n atomic.Int64
	rc := &receiver{respond: func(_ int, w http.ResponseWriter) bool {
		if n.Add(1)%3 == 0 {
			w.WriteHeader(http.StatusBadRequest)
			return true
		}
		return false
	}}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	s, _ := NewHTTPSender(HTTPSenderConfig{URL: srv.URL})
	st := s.Run(context.Background(), testGen(t, 25), 30, 0)
	if st.Acked != 20 || st.Failed != 10 || st.Status["400"] != 10 || st.Retries != 0 || s.Tally().Total() != 20 {
		t.Fatalf("%+v", st)
	}
}

func TestHTTPRateAndPartialBatches(t *testing.T) {
	rc := &receiver{}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	s, _ := NewHTTPSender(HTTPSenderConfig{URL: srv.URL, Mode: ModeNDJSON, Batch: 1000, FlushInterval: 50 * time.Millisecond})
	start := time.Now()
	st := s.Run(context.Background(), testGen(t, 26), 100, 400)
	el := time.Since(start)
	if st.Acked != 100 || el < 200*time.Millisecond || el > 2*time.Second {
		t.Fatalf("%+v in %v", st, el)
	}
	if st.Requests < 3 { // partial batches were flushed while waiting for the rate
		t.Fatalf("requests %d", st.Requests)
	}
}

func TestHTTPCancel(t *testing.T) {
	rc := &receiver{}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	s, _ := NewHTTPSender(HTTPSenderConfig{URL: srv.URL})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	st := s.Run(ctx, testGen(t, 27), 0, 100)
	if st.Generated == 0 || st.Acked+st.Abandoned+st.Failed != st.Generated {
		t.Fatalf("%+v", st)
	}
}
