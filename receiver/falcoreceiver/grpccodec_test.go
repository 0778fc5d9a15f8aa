// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package falcoreceiver

import (
	"slices"
	"strings"
	"testing"

	"github.com/falcosecurity/client-go/pkg/api/outputs"
	"github.com/falcosecurity/client-go/pkg/api/schema"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// readSensitiveFileResponse is Falco's "Read sensitive file untrusted" alert as its gRPC output
// sends it.
func readSensitiveFileResponse() *outputs.Response {
	return &outputs.Response{
		Time:             timestamppb.New(alertTime),
		Priority:         schema.Priority_WARNING,
		SourceDeprecated: schema.Source_SYSCALL,
		Source:           "syscall",
		Rule:             "Read sensitive file untrusted",
		Output:           "06:55:04.123456789: Warning Sensitive file opened for reading by non-trusted program | file=/etc/shadow ...",
		Hostname:         "node-1",
		Tags:             []string{"T1555", "container", "filesystem", "host", "maturity_stable", "mitre_credential_access"},
		OutputFields: map[string]string{
			"evt.type":       "openat",
			"evt.time":       "06:55:04.123456789",
			"fd.name":        "/etc/shadow",
			"user.name":      "root",
			"user.uid":       "0",
			"user.loginuid":  "-1",
			"proc.name":      "cat",
			"proc.exepath":   "/usr/bin/cat",
			"proc.pname":     "bash",
			"proc.cmdline":   "cat /etc/shadow",
			"proc.tty":       "0",
			"proc.aname[2]":  "containerd-shim",
			"proc.aname[3]":  "<NA>",
			"evt.arg.flags":  "O_RDONLY",
			"container.id":   "3ad7b26ded6d",
			"container.name": "nginx",
			"k8s.ns.name":    "shop",
			"k8s.pod.name":   "nginx-7c5ddbdf54-x2x8p",
		},
	}
}

// alertFromResponse is the reference path: the stock proto decoding followed by the same typing.
func alertFromResponse(r *outputs.Response) *alert {
	a := &alert{
		Priority: priority(r.GetPriority()),
		Rule:     r.GetRule(),
		Output:   r.GetOutput(),
		Source:   r.GetSource(),
		Hostname: r.GetHostname(),
		Tags:     r.GetTags(),
	}
	if r.GetTime() != nil {
		a.Time = r.GetTime().AsTime()
	}
	if a.Source == "" {
		a.Source = strings.ToLower(r.GetSourceDeprecated().String())
	}
	for k, v := range r.GetOutputFields() {
		if v != noValue {
			a.Fields = append(a.Fields, field{Key: k, Value: typedFromString(k, v)})
		}
	}
	alignGRPCFields(a)
	sortFields(a)
	return a
}

func sortFields(a *alert) {
	slices.SortFunc(a.Fields, func(x, y field) int { return strings.Compare(x.Key, y.Key) })
}

func decodeForTest(t testing.TB, r *outputs.Response) *alert {
	b, err := proto.Marshal(r)
	require.NoError(t, err)
	var a alert
	require.NoError(t, alertCodec{}.Unmarshal(mem.BufferSlice{mem.SliceBuffer(b)}, &a))
	sortFields(&a)
	return &a
}

func TestCodecDecodesLikeStockProto(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(r *outputs.Response)
	}{
		{"real alert", func(*outputs.Response) {}},
		{"no tags, no fields", func(r *outputs.Response) { r.Tags, r.OutputFields = nil, nil }},
		{"no hostname, no time", func(r *outputs.Response) { r.Hostname, r.Time = "", nil }},
		{"only the deprecated source enum", func(r *outputs.Response) { r.Source, r.SourceDeprecated = "", schema.Source_K8S_AUDIT }},
		{"every priority enum value", func(r *outputs.Response) { r.Priority = schema.Priority_DEBUG }},
		{"emergency is the zero enum", func(r *outputs.Response) { r.Priority = schema.Priority_EMERGENCY }},
		{"empty values and keys", func(r *outputs.Response) { r.OutputFields[""] = ""; r.OutputFields["fd.name"] = "" }},
		{"unicode", func(r *outputs.Response) { r.OutputFields["proc.cmdline"] = "échó 'Ψ' \u0000" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := readSensitiveFileResponse()
			tt.mutate(r)
			want := alertFromResponse(r)
			got := decodeForTest(t, r)
			assert.Equal(t, want, got)
		})
	}
}

func TestCodecTypesFieldsLikeJSON(t *testing.T) {
	a := decodeForTest(t, readSensitiveFileResponse())
	byKey := map[string]fieldValue{}
	for _, f := range a.Fields {
		byKey[f.Key] = f.Value
	}
	assert.Equal(t, fieldValue{Kind: kindInt, Int: -1}, byKey["user.loginuid"])
	assert.Equal(t, fieldValue{Kind: kindInt}, byKey["user.uid"])
	assert.NotContains(t, byKey, "proc.aname[3]", "<NA> is Falco's null: no attribute")
	assert.Equal(t, stringValue("3ad7b26ded6d"), byKey["container.id"])
	assert.Equal(t, fieldValue{Kind: kindInt, Int: alertTime.UnixNano()}, byKey["evt.time"], "as in Falco's JSON")
}

func TestCodecRejectsMalformedInput(t *testing.T) {
	good, err := proto.Marshal(readSensitiveFileResponse())
	require.NoError(t, err)
	for _, b := range [][]byte{
		good[:len(good)-3],                               // truncated
		{0x22, 0xff, 0xff, 0xff},                         // rule with a length past the end
		{0x32, 0x03, 0x0a, 0x05, 'a'},                    // output_fields entry with a broken key
		{0x0a, 0x02, 0x10, 0xff},                         // time with a truncated varint
		{0x0a, 0x06, 0x10, 0xff, 0xff, 0xff, 0xff, 0x0f}, // nanos out of range
		{0xff},
	} {
		var a alert
		assert.Error(t, decodeResponse(b, &a), "%x", b)
	}
}

// The shortcuts must answer exactly like protowire, errors included, for every short input.
func TestConsumeShortcutsMatchProtowire(t *testing.T) {
	inputs := [][]byte{nil}
	for i := range 1 << 16 {
		inputs = append(inputs, []byte{byte(i)}, []byte{byte(i), byte(i >> 8)}, []byte{byte(i), byte(i >> 8), 'x', 'y'})
	}
	for _, b := range inputs {
		num, typ, n := consumeTag(b)
		wantNum, wantTyp, wantN := protowire.ConsumeTag(b)
		if n < 0 || wantN < 0 {
			require.Equal(t, wantN, n, "tag %x", b)
		} else {
			require.Equal(t, []any{wantNum, wantTyp, wantN}, []any{num, typ, n}, "tag %x", b)
		}
		v, n := consumeBytes(b)
		wantV, wantN := protowire.ConsumeBytes(b)
		require.Equal(t, wantN, n, "bytes %x", b)
		require.Equal(t, wantV, v, "bytes %x", b)
	}
}

func TestCodecMarshalsRequests(t *testing.T) {
	out, err := alertCodec{}.Marshal(&outputs.Request{})
	require.NoError(t, err)
	assert.Equal(t, 0, out.Len())
	_, err = alertCodec{}.Marshal(42)
	assert.Error(t, err)
}

// FuzzDecodeResponse is differential: the hand-written codec must decode every input as the
// stock protobuf decoding of client-go's generated type does (followed by the same typing), or
// fail where stock fails. The tolerated differences are the codec's documented choices:
//   - invalid UTF-8 in a string: stock refuses the message, the codec keeps the bytes;
//   - a field number above protobuf's maximum (2^29-1) but below 2^31: stock refuses the
//     message, the codec (through protowire.ConsumeTag) skips it as an unknown field;
//   - time.nanos outside [0, 1e9): the codec refuses the alert, stock normalizes the time;
//   - an invalid priority enum: both keep an invalid priority (the numbers may differ);
//   - neither source nor source_deprecated on the wire: stock reads the enum's zero (syscall),
//     the codec leaves the source empty (proto3 cannot tell absent from zero; the codec can);
//     an unknown source_deprecated number: stock names it ("48"), the codec skips it (leaving
//     the source empty or an earlier known number's name);
//   - a repeated time field (stock merges the two messages) or a repeated output_fields key
//     (a later "<NA>" hides the key in stock): not compared; Falco writes neither.
func FuzzDecodeResponse(f *testing.F) {
	good, _ := proto.Marshal(readSensitiveFileResponse())
	f.Add(good)
	f.Add([]byte{})
	f.Add([]byte{0x32, 0x03, 0x0a, 0x01, 'k'})
	f.Add([]byte{0x0a, 0x06, 0x10, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Add([]byte{0x10, 0xc8, 0x01, 0x22, 0x01, 0xff})
	f.Add(invalidUTF8Response(f))
	f.Fuzz(func(t *testing.T, b []byte) {
		var r outputs.Response
		stockErr := proto.Unmarshal(b, &r)
		var got alert
		err := decodeResponse(slices.Clone(b), &got)
		if err == nil {
			requireValidUTF8(t, &got)
		}
		if stockErr != nil {
			if err == nil && !strings.Contains(stockErr.Error(), "invalid UTF-8") && !hasFieldNumberAboveMax(b) {
				t.Fatalf("stock refuses %x (%v), the codec accepts it", b, stockErr)
			}
			return
		}
		if ts := r.GetTime(); ts != nil && (ts.GetNanos() < 0 || ts.GetNanos() >= 1e9) {
			if err == nil {
				t.Fatalf("time.nanos %d accepted in %x", ts.GetNanos(), b)
			}
			return
		}
		if err != nil {
			t.Fatalf("stock decodes %x, the codec fails: %v", b, err)
		}
		if repeatsTimeOrFieldKey(b) {
			return
		}
		want := alertFromResponse(&r)
		sortFields(&got)
		if p := r.GetPriority(); p < schema.Priority_EMERGENCY || p > schema.Priority_DEBUG {
			require.False(t, got.Priority.valid(), "priority enum %d decoded as %v", p, got.Priority)
			want.Priority = got.Priority // both invalid; the reference's int8 conversion may wrap
		}
		_, knownSource := schema.Source_name[int32(r.GetSourceDeprecated())]
		switch {
		case r.GetSource() == "" && r.GetSourceDeprecated() == 0 && got.Source == "":
			want.Source = ""
		case r.GetSource() == "" && !knownSource:
			want.Source = got.Source // the codec skips unknown numbers, keeping an earlier known one
		}
		if got.Tags == nil && len(want.Tags) == 0 {
			want.Tags = nil
		}
		if len(got.Fields) == 0 && len(want.Fields) == 0 {
			want.Fields, got.Fields = nil, nil
		}
		require.Equal(t, want, &got, "%x", b)
	})
}

// hasFieldNumberAboveMax reports whether a tag of the response, its time or an output_fields
// entry carries a field number above protowire.MaxValidNumber.
func hasFieldNumberAboveMax(b []byte) bool {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return false
		}
		if num > protowire.MaxValidNumber {
			return true
		}
		b = b[n:]
		if typ == protowire.BytesType && (num == respTime || num == respOutputFields) {
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return false
			}
			if hasFieldNumberAboveMax(v) {
				return true
			}
			b = b[n:]
			continue
		}
		n = protowire.ConsumeFieldValue(num, typ, b)
		if n < 0 {
			return false
		}
		b = b[n:]
	}
	return false
}

// repeatsTimeOrFieldKey reports whether a well-formed response has two time fields or two
// output_fields entries with the same key.
func repeatsTimeOrFieldKey(b []byte) bool {
	times := 0
	keys := map[string]bool{}
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		b = b[n:]
		if typ != protowire.BytesType || (num != respTime && num != respOutputFields) {
			b = b[protowire.ConsumeFieldValue(num, typ, b):]
			continue
		}
		v, n := protowire.ConsumeBytes(b)
		b = b[n:]
		if num == respTime {
			times++
			continue
		}
		key := ""
		for len(v) > 0 {
			num, typ, n := protowire.ConsumeTag(v)
			v = v[n:]
			if num == 1 && typ == protowire.BytesType {
				k, n := protowire.ConsumeBytes(v)
				key, v = string(k), v[n:]
				continue
			}
			v = v[protowire.ConsumeFieldValue(num, typ, v):]
		}
		if keys[key] {
			return true
		}
		keys[key] = true
	}
	return times > 1
}

// invalidUTF8Response is a response whose strings hold bytes that are not UTF-8, as a peer that
// is not Falco (or a Falco bug) could send: the proto library would refuse it, we repair it.
func invalidUTF8Response(tb testing.TB) []byte {
	tb.Helper()
	var b []byte
	for _, f := range []struct {
		num protowire.Number
		val string
	}{{respRule, "r\xff"}, {respOutput, "o\xc3("}, {respHostname, "h\xed\xa0\x80"}, {respTags, "t\x80"}, {respSource, "s\xff"}} {
		b = protowire.AppendTag(b, f.num, protowire.BytesType)
		b = protowire.AppendString(b, f.val)
	}
	var entry []byte
	entry = protowire.AppendTag(entry, 1, protowire.BytesType)
	entry = protowire.AppendString(entry, "k\xff")
	entry = protowire.AppendTag(entry, 2, protowire.BytesType)
	entry = protowire.AppendString(entry, "v\xfe\xfe")
	b = protowire.AppendTag(b, respOutputFields, protowire.BytesType)
	b = protowire.AppendBytes(b, entry)
	return b
}

func TestCodecRepairsInvalidUTF8(t *testing.T) {
	var a alert
	require.NoError(t, decodeResponse(invalidUTF8Response(t), &a))
	requireValidUTF8(t, &a)
	assert.Equal(t, "r\uFFFD", a.Rule)
	assert.Equal(t, "o\uFFFD(", a.Output)
	assert.Equal(t, "h\uFFFD\uFFFD\uFFFD", a.Hostname) // an encoded surrogate is three bad bytes
	assert.Equal(t, []string{"t\uFFFD"}, a.Tags)
	assert.Equal(t, "s\uFFFD", a.Source)
	assert.Equal(t, []field{{Key: "k\uFFFD", Value: stringValue("v\uFFFD\uFFFD")}}, a.Fields)
}

func BenchmarkDecodeResponse(b *testing.B) {
	msg, _ := proto.Marshal(readSensitiveFileResponse())
	b.Run("protowire", func(b *testing.B) {
		b.ReportAllocs()
		a := &alert{Fields: make([]field, 0, 32)}
		for b.Loop() {
			a.reset()
			if err := decodeResponse(slices.Clone(msg), a); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("stock-proto", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var r outputs.Response
			if err := proto.Unmarshal(msg, &r); err != nil {
				b.Fatal(err)
			}
		}
	})
}
