// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/zstd"
	"google.golang.org/protobuf/encoding/protowire"
)

// countingSink is an OTLP/HTTP logs endpoint that discards what it gets. It counts log records by
// walking the protobuf wire format (no pdata, no allocation per record), so on a 2-core machine
// it takes as little CPU as possible away from the collector under test. With latencies on it
// also records, per record, arrival time minus the record's timestamp (the alert's time).
type countingSink struct {
	Addr string

	records  atomic.Int64
	requests atomic.Int64
	bytes    atomic.Int64
	badReqs  atomic.Int64

	firstAt    atomic.Int64 // unix nanos of the first records' arrival
	firstBatch atomic.Int64 // how many records that first request carried
	lastAt     atomic.Int64 // unix nanos of the latest records' arrival

	keepLatency bool
	mu          sync.Mutex
	latencies   []latencySample

	bufs   sync.Pool
	zstd   sync.Pool
	server *http.Server
}

func startCountingSink(tb *runTB, keepLatency bool) *countingSink {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("sink: %v", err)
	}
	s := &countingSink{Addr: l.Addr().String(), keepLatency: keepLatency}
	s.bufs.New = func() any { b := make([]byte, 0, 1<<20); return &b }
	mux := http.NewServeMux()
	mux.HandleFunc("/v1/logs", s.handleLogs)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusOK)
	})
	s.server = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.server.Serve(l) }()
	tb.Cleanup(func() { _ = s.server.Close() })
	return s
}

func (s *countingSink) Endpoint() string { return "http://" + s.Addr }

func (s *countingSink) Count() int64 { return s.records.Load() }

// FirstArrival is when the first record arrived (zero before).
func (s *countingSink) FirstArrival() time.Time {
	if n := s.firstAt.Load(); n != 0 {
		return time.Unix(0, n)
	}
	return time.Time{}
}

// LastArrival is when the latest records arrived.
func (s *countingSink) LastArrival() time.Time { return time.Unix(0, s.lastAt.Load()) }

// FirstBatch is the number of records of the first request, which the throughput leaves out.
func (s *countingSink) FirstBatch() int64 { return s.firstBatch.Load() }

// latencySample is one record's alert time and how long after it the record arrived.
type latencySample struct {
	alert   time.Time
	latency time.Duration
}

// Latencies returns the latencies of the records whose alert was raised after from.
func (s *countingSink) Latencies(from time.Time) []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]time.Duration, 0, len(s.latencies))
	for _, l := range s.latencies {
		if !l.alert.Before(from) {
			out = append(out, l.latency)
		}
	}
	return out
}

func (s *countingSink) handleLogs(w http.ResponseWriter, r *http.Request) {
	arrived := time.Now()
	s.requests.Add(1)
	bp := s.bufs.Get().(*[]byte)
	defer s.bufs.Put(bp)
	body, err := s.readBody(r, (*bp)[:0])
	*bp = body[:0]
	if err != nil {
		s.badReqs.Add(1)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.bytes.Add(int64(len(body)))
	var lat []latencySample
	if s.keepLatency {
		lat = make([]latencySample, 0, 64)
	}
	n, err := countLogRecords(body, func(ts uint64) {
		if s.keepLatency && ts != 0 {
			at := time.Unix(0, int64(ts))
			lat = append(lat, latencySample{alert: at, latency: arrived.Sub(at)})
		}
	})
	if err != nil {
		s.badReqs.Add(1)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if n > 0 {
		if s.firstAt.CompareAndSwap(0, arrived.UnixNano()) {
			s.firstBatch.Store(int64(n))
		}
		for t := arrived.UnixNano(); ; {
			if old := s.lastAt.Load(); old >= t || s.lastAt.CompareAndSwap(old, t) {
				break
			}
		}
	}
	if len(lat) > 0 {
		s.mu.Lock()
		s.latencies = append(s.latencies, lat...)
		s.mu.Unlock()
	}
	s.records.Add(int64(n))
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.WriteHeader(http.StatusOK) // an empty ExportLogsServiceResponse
}

func (s *countingSink) readBody(r *http.Request, buf []byte) ([]byte, error) {
	raw := bytes.NewBuffer(buf)
	if _, err := raw.ReadFrom(r.Body); err != nil {
		return raw.Bytes(), err
	}
	switch r.Header.Get("Content-Encoding") {
	case "", "identity":
		return raw.Bytes(), nil
	case "zstd":
		d, _ := s.zstd.Get().(*zstd.Decoder)
		if d == nil {
			var err error
			if d, err = zstd.NewReader(nil, zstd.WithDecoderConcurrency(1)); err != nil {
				return nil, err
			}
		}
		defer s.zstd.Put(d)
		return d.DecodeAll(raw.Bytes(), nil)
	case "gzip":
		gz, err := gzip.NewReader(raw)
		if err != nil {
			return nil, err
		}
		return io.ReadAll(gz)
	}
	return nil, fmt.Errorf("unsupported Content-Encoding %q", r.Header.Get("Content-Encoding"))
}

// countLogRecords counts the LogRecords of a serialized ExportLogsServiceRequest and calls ts with
// each record's time_unix_nano.
//
//	ExportLogsServiceRequest { repeated ResourceLogs resource_logs = 1; }
//	ResourceLogs { Resource resource = 1; repeated ScopeLogs scope_logs = 2; }
//	ScopeLogs { InstrumentationScope scope = 1; repeated LogRecord log_records = 2; }
//	LogRecord { fixed64 time_unix_nano = 1; ... }
func countLogRecords(b []byte, ts func(uint64)) (int, error) {
	n := 0
	err := eachBytesField(b, 1, func(rl []byte) error {
		return eachBytesField(rl, 2, func(sl []byte) error {
			return eachBytesField(sl, 2, func(lr []byte) error {
				n++
				ts(recordTime(lr))
				return nil
			})
		})
	})
	return n, err
}

var errWire = errors.New("malformed OTLP protobuf")

// eachBytesField calls f with the payload of every length-delimited field numbered want.
func eachBytesField(b []byte, want protowire.Number, f func([]byte) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return errWire
		}
		b = b[n:]
		if num == want && typ == protowire.BytesType {
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return errWire
			}
			b = b[n:]
			if err := f(v); err != nil {
				return err
			}
			continue
		}
		n = protowire.ConsumeFieldValue(num, typ, b)
		if n < 0 {
			return errWire
		}
		b = b[n:]
	}
	return nil
}

func recordTime(lr []byte) uint64 {
	for len(lr) > 0 {
		num, typ, n := protowire.ConsumeTag(lr)
		if n < 0 {
			return 0
		}
		lr = lr[n:]
		if num == 1 && typ == protowire.Fixed64Type {
			v, n := protowire.ConsumeFixed64(lr)
			if n < 0 {
				return 0
			}
			return v
		}
		n = protowire.ConsumeFieldValue(num, typ, lr)
		if n < 0 {
			return 0
		}
		lr = lr[n:]
	}
	return 0
}
