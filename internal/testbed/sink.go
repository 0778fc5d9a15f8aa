// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package testbed // import "github.com/otelcol-falco/otelcol-falco/internal/testbed"

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/zstd"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
)

// Sink is an OTLP/HTTP logs endpoint standing in for a SIEM. It counts every record, notes when
// records arrived and how long after their timestamp, can keep them for inspection, tells
// duplicates apart, and can be taken down and brought back.
type Sink struct {
	Addr string
	keep bool

	mu         sync.Mutex
	records    []plog.LogRecord
	seen       map[string]struct{}
	duplicates int
	latencies  []latencySample

	total      atomic.Int64
	firstAt    atomic.Int64 // unix nanos of the first records' arrival
	firstBatch atomic.Int64 // records of the request that brought them
	lastAt     atomic.Int64 // unix nanos of the latest records' arrival
	requests   atomic.Int64
	rejected   atomic.Int64 // requests refused for invalid UTF-8
	down       atomic.Bool
	strict     atomic.Bool // refuse requests with invalid UTF-8, as a real SIEM does
	server     *http.Server
	listener   net.Listener
}

// StartSink starts a sink on a free loopback port. keep=true stores every record (tests);
// keep=false only counts, reading the protobuf wire format without decoding it, so that a
// benchmark's sink takes little CPU from the collector it measures.
func StartSink(tb TB, keep bool) *Sink {
	tb.Helper()
	s := newSink(keep)
	s.Addr = FreeAddr(tb)
	s.listen(tb)
	tb.Cleanup(s.Close)
	return s
}

// newSink makes the record store without an endpoint; the Kafka consumer fills one too.
func newSink(keep bool) *Sink {
	return &Sink{keep: keep, seen: map[string]struct{}{}}
}

func (s *Sink) listen(tb TB) {
	tb.Helper()
	var l net.Listener
	var err error
	WaitFor(5*time.Second, func() bool { // the port may linger for a moment after Close
		l, err = net.Listen("tcp", s.Addr)
		return err == nil
	})
	if err != nil {
		tb.Fatalf("sink listen %s: %v", s.Addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/v1/logs", s.handleLogs)
	mux.HandleFunc("/v1/metrics", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusOK)
	})
	s.server = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	s.listener = l
	go func() { _ = s.server.Serve(l) }()
}

// Endpoint is the base URL for an otlp_http exporter.
func (s *Sink) Endpoint() string { return "http://" + s.Addr }

// Close stops the sink's listener: senders see connection refused, as with a SIEM outage.
func (s *Sink) Close() {
	if s.server != nil {
		_ = s.server.Close()
		s.server = nil
	}
}

// Reopen brings a closed sink back on the same address.
func (s *Sink) Reopen(tb TB) {
	tb.Helper()
	s.listen(tb)
}

// SetUnavailable makes the sink answer 503 while on, as an overloaded SIEM intake does.
func (s *Sink) SetUnavailable(on bool) { s.down.Store(on) }

// RejectInvalidUTF8 makes the sink answer 400 to a whole request when any string in it is not
// valid UTF-8, as SIEMs (and every protobuf library that checks proto3 strings) do.
func (s *Sink) RejectInvalidUTF8(on bool) { s.strict.Store(on) }

// RejectedRequests is the number of requests refused for invalid UTF-8.
func (s *Sink) RejectedRequests() int64 { return s.rejected.Load() }

// Count is the number of records received, duplicates included.
func (s *Sink) Count() int64 { return s.total.Load() }

// Requests is the number of export requests the sink was sent, refused ones (503) included.
func (s *Sink) Requests() int64 { return s.requests.Load() }

// Unique is the number of distinct records received.
func (s *Sink) Unique() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.keep {
		return int(s.total.Load())
	}
	return len(s.seen)
}

// Duplicates is how many records arrived more than once.
func (s *Sink) Duplicates() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.duplicates
}

// Records returns copies of the stored records.
func (s *Sink) Records() []plog.LogRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]plog.LogRecord(nil), s.records...)
}

// latencySample is one record's timestamp (the alert's time) and how long after it it arrived.
type latencySample struct {
	raised  int64 // unix nanos
	latency time.Duration
}

// Latencies returns arrival time minus timestamp of the records raised at or after from (all
// records for the zero time; records without a timestamp are left out).
func (s *Sink) Latencies(from time.Time) []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	var since int64 // from, in unix nanos: zero keeps every sample
	if !from.IsZero() {
		since = from.UnixNano()
	}
	out := make([]time.Duration, 0, len(s.latencies))
	for _, l := range s.latencies {
		if l.raised >= since {
			out = append(out, l.latency)
		}
	}
	return out
}

// FirstArrival is when the first records arrived (the zero time before).
func (s *Sink) FirstArrival() time.Time { return unixNanos(s.firstAt.Load()) }

// FirstBatch is how many records the first request carried: a throughput measured from
// FirstArrival leaves them out.
func (s *Sink) FirstBatch() int64 { return s.firstBatch.Load() }

// LastArrival is when the latest records arrived (the zero time before).
func (s *Sink) LastArrival() time.Time { return unixNanos(s.lastAt.Load()) }

func unixNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

func (s *Sink) handleLogs(w http.ResponseWriter, r *http.Request) {
	arrived := time.Now()
	s.requests.Add(1)
	if s.down.Load() {
		w.Header().Set("Retry-After", "1")
		http.Error(w, "sink unavailable", http.StatusServiceUnavailable)
		return
	}
	body, err := readBody(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	isJSON := r.Header.Get("Content-Type") == "application/json"
	var times []uint64
	if s.keep || s.strict.Load() || isJSON {
		req := plogotlp.NewExportRequest()
		if isJSON {
			err = req.UnmarshalJSON(body)
		} else {
			err = req.UnmarshalProto(body)
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if s.strict.Load() {
			if where := invalidUTF8(req.Logs()); where != "" {
				s.rejected.Add(1)
				http.Error(w, "invalid UTF-8 in "+where, http.StatusBadRequest)
				return
			}
		}
		times = s.keepRecords(req.Logs())
	} else if times, err = recordTimes(body); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.arrived(times, arrived)
	w.Header().Set("Content-Type", "application/x-protobuf")
	out, _ := plogotlp.NewExportResponse().MarshalProto()
	_, _ = w.Write(out)
}

// record takes in logs that arrived at arrived (the Kafka consumer's way in).
func (s *Sink) record(logs plog.Logs, arrived time.Time) {
	s.arrived(s.keepRecords(logs), arrived)
}

// arrived counts records with these timestamps that arrived at at. The count goes up last, so a
// caller that sees it reach a number also sees those records' arrival times and latencies.
func (s *Sink) arrived(times []uint64, at time.Time) {
	n := int64(len(times))
	if n == 0 {
		return
	}
	now := at.UnixNano()
	if s.firstAt.CompareAndSwap(0, now) {
		s.firstBatch.Store(n)
	}
	for t := now; ; {
		if old := s.lastAt.Load(); old >= t || s.lastAt.CompareAndSwap(old, t) {
			break
		}
	}
	s.mu.Lock()
	for _, ts := range times {
		if ts != 0 {
			s.latencies = append(s.latencies, latencySample{raised: int64(ts), latency: time.Duration(now - int64(ts))})
		}
	}
	s.mu.Unlock()
	s.total.Add(n)
}

// keepRecords stores copies of the records when the sink keeps them, and returns their timestamps.
func (s *Sink) keepRecords(logs plog.Logs) []uint64 {
	times := make([]uint64, 0, logs.LogRecordCount())
	s.mu.Lock()
	defer s.mu.Unlock()
	rls := logs.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		rl := rls.At(i)
		for j := 0; j < rl.ScopeLogs().Len(); j++ {
			lrs := rl.ScopeLogs().At(j).LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				times = append(times, uint64(lrs.At(k).Timestamp()))
				if !s.keep {
					continue
				}
				lr := plog.NewLogRecord()
				lrs.At(k).CopyTo(lr)
				// Resource attributes travel with the copy so tests can check identity too.
				rl.Resource().Attributes().Range(func(key string, v pcommon.Value) bool {
					v.CopyTo(lr.Attributes().PutEmpty("resource." + key))
					return true
				})
				key := lr.Timestamp().String() + "|" + lr.Body().AsString()
				if _, dup := s.seen[key]; dup {
					s.duplicates++
				} else {
					s.seen[key] = struct{}{}
				}
				s.records = append(s.records, lr)
			}
		}
	}
	return times
}

// readBody reads the request body, decompressed. The buffer starts at the body's length: from
// io.ReadAll's 512 bytes, a benchmark's megabyte requests would be copied a dozen times over.
func readBody(r *http.Request) ([]byte, error) {
	var reader io.Reader = r.Body
	switch r.Header.Get("Content-Encoding") {
	case "gzip":
		gz, err := gzip.NewReader(r.Body)
		if err != nil {
			return nil, err
		}
		defer gz.Close()
		reader = gz
	case "zstd":
		dec, err := zstd.NewReader(r.Body, zstd.WithDecoderConcurrency(1))
		if err != nil {
			return nil, err
		}
		defer dec.Close()
		reader = dec
	case "", "identity":
	default:
		return nil, errors.New("unsupported Content-Encoding " + r.Header.Get("Content-Encoding"))
	}
	buf := bytes.NewBuffer(make([]byte, 0, max(r.ContentLength, 0)+bytes.MinRead))
	_, err := buf.ReadFrom(reader)
	return buf.Bytes(), err
}
