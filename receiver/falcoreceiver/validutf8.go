// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package falcoreceiver // import "github.com/otelcol-falco/otelcol-falco/receiver/falcoreceiver"

import "unicode/utf8"

// Every string the receiver hands on is valid UTF-8: OTLP's string type requires it, and a SIEM
// that checks refuses the whole export request for one bad byte, losing every alert batched with
// it. Invalid bytes become U+FFFD, one per byte, as encoding/json and Falco's JSON writer do.

// appendValidUTF8 appends b to dst with every byte that is not part of valid UTF-8 replaced.
func appendValidUTF8(dst, b []byte) []byte {
	for i := 0; i < len(b); {
		c := b[i]
		if c < utf8.RuneSelf {
			dst = append(dst, c)
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			dst = utf8.AppendRune(dst, utf8.RuneError)
		} else {
			dst = append(dst, b[i:i+size]...)
		}
		i += size
	}
	return dst
}

// validString views b as a string when it is valid UTF-8 (the usual case, no copy) and copies
// it with invalid bytes replaced otherwise.
func validString(b []byte) string {
	if utf8.Valid(b) {
		return bytesString(b)
	}
	return string(appendValidUTF8(make([]byte, 0, len(b)+8), b))
}
