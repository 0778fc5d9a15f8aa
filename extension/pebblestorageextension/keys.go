// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package pebblestorageextension // import "github.com/otelcol-falco/otelcol-falco/extension/pebblestorageextension"

import (
	"encoding/binary"
	"strconv"
)

// The persistent queue names its items by their decimal index ("0", "1", ..., "10"). Stored as
// text, "10" sorts before "9", so new items would land among old ones and the LSM would rewrite
// the whole backlog in compactions. A canonical decimal key is therefore stored as 0x01 and its
// value as 8 big-endian bytes, in the order it was written; any other key as 0x00 and its bytes.
// The mapping is one to one (a canonical decimal has one spelling), and nothing ever decodes it:
// storage.Client has no iteration.
const (
	tagText    = 0x00
	tagDecimal = 0x01
)

func encodeKey(key string) []byte {
	if n, ok := canonicalDecimal(key); ok {
		buf := make([]byte, 9)
		buf[0] = tagDecimal
		binary.BigEndian.PutUint64(buf[1:], n)
		return buf
	}
	buf := make([]byte, 1+len(key))
	buf[0] = tagText
	copy(buf[1:], key)
	return buf
}

// decimalOf is the number of an encoded decimal key.
func decimalOf(encoded []byte) (uint64, bool) {
	if len(encoded) != 9 || encoded[0] != tagDecimal {
		return 0, false
	}
	return binary.BigEndian.Uint64(encoded[1:]), true
}

func canonicalDecimal(key string) (uint64, bool) {
	if key == "" || len(key) > 20 || (key[0] == '0' && len(key) > 1) {
		return 0, false
	}
	for i := 0; i < len(key); i++ {
		if key[i] < '0' || key[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseUint(key, 10, 64)
	return n, err == nil
}
