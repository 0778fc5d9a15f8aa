// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package falcoreceiver // import "github.com/otelcol-falco/otelcol-falco/receiver/falcoreceiver"

import (
	"fmt"

	"github.com/klauspost/compress/s2"
)

// A stored entry of several alerts (gRPC, NDJSON) is its OTLP encoding compressed with S2
// behind a zero byte. Alerts in a batch repeat their rules, output formats and workloads, so
// the entry shrinks several times: the store's log, write buffers and tables carry that much
// less, and fewer entries outlive the write buffer before they are delivered (Pebble then
// writes them to tables and compacts them: the dearest part of a fast gRPC stream). One alert
// (a Falco >= 0.44 POST) would shrink ~15% for ~3 µs, so it is stored as it is. A protobuf
// message never starts with a zero byte (field number 0 does not exist): both forms, and what
// earlier versions stored, read back.
//
// spool.max_bytes counts OTLP bytes, not stored ones: its capacity in alerts does not depend on
// how well they compress, and the disk holds less than the limit.
const (
	spoolEntryS2          = 0x00
	spoolCompressFromSize = 4 << 10 // a single alert's OTLP is ~1 KB
)

func encodeSpoolEntry(otlp []byte) []byte {
	if len(otlp) < spoolCompressFromSize {
		return otlp
	}
	buf := make([]byte, 1+s2.MaxEncodedLen(len(otlp)))
	buf[0] = spoolEntryS2
	n := len(s2.Encode(buf[1:], otlp))
	return buf[:1+n]
}

func decodeSpoolEntry(stored []byte) ([]byte, error) {
	if len(stored) == 0 || stored[0] != spoolEntryS2 {
		return stored, nil
	}
	otlp, err := s2.Decode(nil, stored[1:])
	if err != nil {
		return nil, fmt.Errorf("decompressing a stored entry: %w", err)
	}
	return otlp, nil
}

// spoolEntrySize is the OTLP size of a stored entry, read from the compressed form's header;
// a damaged header counts as the stored size.
func spoolEntrySize(stored []byte) int {
	if len(stored) == 0 || stored[0] != spoolEntryS2 {
		return len(stored)
	}
	if n, err := s2.DecodedLen(stored[1:]); err == nil {
		return n
	}
	return len(stored)
}
