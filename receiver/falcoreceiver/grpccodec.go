// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package falcoreceiver // import "github.com/otelcol-falco/otelcol-falco/receiver/falcoreceiver"

import (
	"errors"
	"fmt"
	"time"
	"unsafe"

	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// Field numbers of falco.outputs.response (client-go pkg/api/outputs).
const (
	respTime             protowire.Number = 1
	respPriority         protowire.Number = 2
	respSourceDeprecated protowire.Number = 3
	respRule             protowire.Number = 4
	respOutput           protowire.Number = 5
	respOutputFields     protowire.Number = 6
	respHostname         protowire.Number = 7
	respTags             protowire.Number = 8
	respSource           protowire.Number = 9
)

// deprecatedSources names falco.schema.source, which Falco sets alongside the string source.
var deprecatedSources = [...]string{"syscall", "k8s_audit", "internal", "plugin"}

// alertCodec decodes Falco's gRPC responses straight into an alert. The generic proto decoder
// spends most of its time and ~130 allocations per alert building the output_fields map; this one
// copies each message once and points every string into that copy. Other messages (the empty
// request we send) go through the regular proto codec.
type alertCodec struct{}

var _ encoding.CodecV2 = alertCodec{}

func (alertCodec) Name() string { return "proto" }

func (alertCodec) Marshal(v any) (mem.BufferSlice, error) {
	m, ok := v.(proto.Message)
	if !ok {
		return nil, fmt.Errorf("falco codec: cannot marshal %T", v)
	}
	b, err := proto.Marshal(m)
	if err != nil {
		return nil, err
	}
	return mem.BufferSlice{mem.SliceBuffer(b)}, nil
}

func (alertCodec) Unmarshal(data mem.BufferSlice, v any) error {
	switch dst := v.(type) {
	case *alert:
		// Materialize copies into memory we own: the strings below outlive the gRPC buffers.
		return decodeResponse(data.Materialize(), dst)
	case proto.Message:
		return proto.Unmarshal(data.Materialize(), dst)
	}
	return fmt.Errorf("falco codec: cannot unmarshal into %T", v)
}

// decodeResponse fills a (reset) alert from a serialized falco.outputs.response. The strings it
// sets share b's memory, so b must never be written afterwards.
func decodeResponse(b []byte, a *alert) error {
	var deprecatedSource = -1
	for len(b) > 0 {
		num, typ, n := consumeTag(b)
		if n < 0 {
			return fmt.Errorf("falco response: bad tag: %w", protowire.ParseError(n))
		}
		b = b[n:]
		switch {
		case typ == protowire.BytesType && num != respTime && num != respOutputFields:
			v, n := consumeBytes(b)
			if n < 0 {
				return fieldError(num, n)
			}
			b = b[n:]
			s := validString(v)
			switch num {
			case respRule:
				a.Rule = s
			case respOutput:
				a.Output = s
			case respHostname:
				a.Hostname = s
			case respTags:
				a.Tags = append(a.Tags, s)
			case respSource:
				a.Source = s
			}
		case typ == protowire.BytesType && num == respTime:
			v, n := consumeBytes(b)
			if n < 0 {
				return fieldError(num, n)
			}
			b = b[n:]
			t, err := decodeTimestamp(v)
			if err != nil {
				return err
			}
			a.Time = t
		case typ == protowire.BytesType && num == respOutputFields:
			v, n := consumeBytes(b)
			if n < 0 {
				return fieldError(num, n)
			}
			b = b[n:]
			if err := decodeOutputField(v, a); err != nil {
				return err
			}
		case typ == protowire.VarintType && (num == respPriority || num == respSourceDeprecated):
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return fieldError(num, n)
			}
			b = b[n:]
			if num == respPriority {
				a.Priority = priority(int8(min(v, 127))) // out-of-range values stay invalid, not wrapped
			} else if v < uint64(len(deprecatedSources)) {
				deprecatedSource = int(v)
			}
		default:
			n := protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return fieldError(num, n)
			}
			b = b[n:]
		}
	}
	if a.Source == "" && deprecatedSource >= 0 {
		a.Source = deprecatedSources[deprecatedSource]
	}
	alignGRPCFields(a)
	return nil
}

// decodeOutputField decodes one map<string,string> entry and types its value.
func decodeOutputField(b []byte, a *alert) error {
	var key, val string
	for len(b) > 0 {
		num, typ, n := consumeTag(b)
		if n < 0 {
			return fieldError(respOutputFields, n)
		}
		b = b[n:]
		if typ != protowire.BytesType || (num != 1 && num != 2) {
			n = protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return fieldError(respOutputFields, n)
			}
			b = b[n:]
			continue
		}
		v, n := consumeBytes(b)
		if n < 0 {
			return fieldError(respOutputFields, n)
		}
		b = b[n:]
		if num == 1 {
			key = validString(v)
		} else {
			val = validString(v)
		}
	}
	if val == noValue {
		return nil // Falco's "no value", which its JSON output writes as null: not an attribute
	}
	a.Fields = append(a.Fields, field{Key: key, Value: typedFromString(key, val)})
	return nil
}

func decodeTimestamp(b []byte) (time.Time, error) {
	var secs, nanos int64
	for len(b) > 0 {
		num, typ, n := consumeTag(b)
		if n < 0 {
			return time.Time{}, fieldError(respTime, n)
		}
		b = b[n:]
		if typ != protowire.VarintType || (num != 1 && num != 2) {
			n = protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return time.Time{}, fieldError(respTime, n)
			}
			b = b[n:]
			continue
		}
		v, n := protowire.ConsumeVarint(b)
		if n < 0 {
			return time.Time{}, fieldError(respTime, n)
		}
		b = b[n:]
		if num == 1 {
			secs = int64(v)
		} else {
			nanos = int64(int32(v))
		}
	}
	if nanos < 0 || nanos >= int64(time.Second) {
		return time.Time{}, errors.New("falco response: time.nanos out of range")
	}
	return time.Unix(secs, nanos).UTC(), nil
}

// consumeTag is protowire.ConsumeTag with a shortcut for the one-byte tags of field numbers 1-15
// (every field of these messages): protowire's general varint path was a good part of decoding.
func consumeTag(b []byte) (protowire.Number, protowire.Type, int) {
	if len(b) > 0 && b[0] < 0x80 && b[0]>>3 != 0 { // field number 0 is invalid: protowire says why
		return protowire.Number(b[0] >> 3), protowire.Type(b[0] & 7), 1
	}
	return protowire.ConsumeTag(b)
}

// consumeBytes is protowire.ConsumeBytes with a shortcut for lengths below 128 (most values).
func consumeBytes(b []byte) ([]byte, int) {
	if len(b) > 0 && b[0] < 0x80 && int(b[0]) < len(b) {
		n := 1 + int(b[0])
		return b[1:n], n
	}
	return protowire.ConsumeBytes(b)
}

func fieldError(num protowire.Number, code int) error {
	return fmt.Errorf("falco response: field %d: %w", num, protowire.ParseError(code))
}

// bytesString views b as a string without copying; b belongs to a message copy nobody writes.
func bytesString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}
