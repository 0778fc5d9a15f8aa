// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package testbed

import (
	"bytes"
	"net/http"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
)

func TestRecordTimesMatchesPdata(t *testing.T) {
	logs, want := sampleLogs()
	got, err := recordTimes(marshal(t, logs))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("got %d records, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("record %d: time %d, want %d", i, got[i], want[i])
		}
	}
	if _, err := recordTimes([]byte{0x0a, 0x05, 0x01}); err == nil {
		t.Error("a truncated request parsed")
	}
}

// TestSinkModes sends the same request to a keeping and a counting sink: both count the records
// and note their arrival and latency.
func TestSinkModes(t *testing.T) {
	logs, times := sampleLogs()
	for _, keep := range []bool{true, false} {
		s := StartSink(t, keep)
		before := time.Now()
		resp, err := http.Post(s.Endpoint()+"/v1/logs", "application/x-protobuf", bytes.NewReader(marshal(t, logs)))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || s.Count() != int64(len(times)) || s.FirstBatch() != s.Count() {
			t.Fatalf("keep=%v: status %d, %d records, first batch %d; want 200, %d", keep, resp.StatusCode, s.Count(), s.FirstBatch(), len(times))
		}
		if s.FirstArrival().Before(before) || s.LastArrival().Before(s.FirstArrival()) {
			t.Errorf("keep=%v: arrivals %v, %v before the request at %v", keep, s.FirstArrival(), s.LastArrival(), before)
		}
		if n := len(s.Latencies(time.Time{})); n != 8 { // 12 records, 4 without a timestamp
			t.Errorf("keep=%v: %d latencies, want 8", keep, n)
		}
		if n := len(s.Latencies(time.Date(2026, 1, 1, 1, 0, 0, 0, time.UTC))); n != 4 {
			t.Errorf("keep=%v: %d latencies of the second resource, want 4", keep, n)
		}
		if kept := len(s.Records()); keep && kept != len(times) || !keep && kept != 0 {
			t.Errorf("keep=%v: %d records kept", keep, kept)
		}
	}
}

// sampleLogs is two resources of two scopes of three records; the second record of each scope
// has no timestamp.
func sampleLogs() (plog.Logs, []uint64) {
	logs := plog.NewLogs()
	want := []uint64{}
	for r := range 2 {
		rl := logs.ResourceLogs().AppendEmpty()
		rl.Resource().Attributes().PutStr("k8s.pod.name", "p")
		for s := range 2 {
			sl := rl.ScopeLogs().AppendEmpty()
			sl.Scope().SetName("falco")
			for i := range 3 {
				lr := sl.LogRecords().AppendEmpty()
				ts := uint64(time.Date(2026, 1, 1, r, s, i, 7, time.UTC).UnixNano())
				if i == 1 {
					ts = 0 // a record without a timestamp still counts
				}
				lr.SetTimestamp(pcommon.Timestamp(ts))
				lr.SetObservedTimestamp(pcommon.Timestamp(ts + 1))
				lr.Body().SetStr("alert")
				lr.Attributes().PutInt("n", int64(i))
				want = append(want, ts)
			}
		}
	}
	return logs, want
}

func marshal(t *testing.T, logs plog.Logs) []byte {
	body, err := plogotlp.NewExportRequestFromLogs(logs).MarshalProto()
	if err != nil {
		t.Fatal(err)
	}
	return body
}
