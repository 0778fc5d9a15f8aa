// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package testbed // import "github.com/otelcol-falco/otelcol-falco/internal/testbed"

import (
	"errors"

	"google.golang.org/protobuf/encoding/protowire"
)

var errWire = errors.New("malformed OTLP protobuf")

// recordTimes returns the time_unix_nano of every LogRecord of a serialized
// ExportLogsServiceRequest, walking the wire format without building pdata: a counting sink
// then costs a few nanoseconds per record instead of a full decode.
//
//	ExportLogsServiceRequest { repeated ResourceLogs resource_logs = 1; }
//	ResourceLogs { Resource resource = 1; repeated ScopeLogs scope_logs = 2; }
//	ScopeLogs { InstrumentationScope scope = 1; repeated LogRecord log_records = 2; }
//	LogRecord { fixed64 time_unix_nano = 1; ... }
func recordTimes(b []byte) ([]uint64, error) {
	var times []uint64
	err := eachField(b, 1, protowire.BytesType, func(rl []byte) error {
		return eachField(rl, 2, protowire.BytesType, func(sl []byte) error {
			return eachField(sl, 2, protowire.BytesType, func(lr []byte) error {
				var ts uint64
				err := eachField(lr, 1, protowire.Fixed64Type, func(v []byte) error {
					ts, _ = protowire.ConsumeFixed64(v)
					return nil
				})
				times = append(times, ts)
				return err
			})
		})
	})
	return times, err
}

// eachField calls f with every field numbered want of type typ: the payload of a bytes field,
// the raw value of any other type.
func eachField(b []byte, want protowire.Number, typ protowire.Type, f func([]byte) error) error {
	for len(b) > 0 {
		num, t, n := protowire.ConsumeTag(b)
		if n < 0 {
			return errWire
		}
		b = b[n:]
		n = protowire.ConsumeFieldValue(num, t, b)
		if n < 0 {
			return errWire
		}
		value := b[:n]
		b = b[n:]
		if num != want || t != typ {
			continue
		}
		if t == protowire.BytesType {
			value, _ = protowire.ConsumeBytes(value)
		}
		if err := f(value); err != nil {
			return err
		}
	}
	return nil
}
