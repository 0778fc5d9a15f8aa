// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package falcolabelprocessor // import "github.com/otelcol-falco/otelcol-falco/processor/falcolabelprocessor"

import (
	"encoding/binary"
	"math"
	"strconv"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/otelcol-falco/otelcol-falco/internal/falcofields"
)

type valueKind uint8

const (
	kindNone valueKind = iota
	kindStr
	kindInt
	kindDouble
	kindBool
	kindStrSlice // a one-element string slice, e.g. container.image.tags
)

// mappedValue holds an attribute value as plain Go values: a pcommon.Value points into its map's
// storage, which moves when the record's Falco-named attributes are removed. num holds ints,
// the bits of doubles and booleans (0 or 1).
type mappedValue struct {
	kind valueKind
	str  string
	num  int64
}

// readStatus tells what a Falco field held.
type readStatus uint8

const (
	readValue       readStatus = iota
	readNoValue                // <NA>, empty, null: never mapped, removed with the Falco names
	readUnsupported            // bytes, maps and slices: left alone
)

// readRaw reads an attribute once, as it is: every later decision works on the Go values.
// Most Falco fields are strings: they take a path small enough to be inlined.
func readRaw(v pcommon.Value) (mappedValue, readStatus) {
	if s := v.Str(); !falcofields.IsNoValue(s) { // "" also when not a string
		return mappedValue{kind: kindStr, str: s}, readValue
	}
	return readRawSlow(v)
}

func readRawSlow(v pcommon.Value) (mappedValue, readStatus) {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		s := v.Str()
		if falcofields.IsNoValue(s) {
			return mappedValue{}, readNoValue
		}
		return mappedValue{kind: kindStr, str: s}, readValue
	case pcommon.ValueTypeInt:
		return mappedValue{kind: kindInt, num: v.Int()}, readValue
	case pcommon.ValueTypeDouble:
		return mappedValue{kind: kindDouble, num: int64(math.Float64bits(v.Double()))}, readValue
	case pcommon.ValueTypeBool:
		if v.Bool() {
			return mappedValue{kind: kindBool, num: 1}, readValue
		}
		return mappedValue{kind: kindBool}, readValue
	case pcommon.ValueTypeEmpty:
		return mappedValue{}, readNoValue
	default:
		return mappedValue{}, readUnsupported
	}
}

// convertInto writes raw converted as c into dst; it reports false when raw cannot be
// converted (e.g. proc.pid "abc" as int), and then leaves dst alone.
func convertInto(dst *mappedValue, raw *mappedValue, c conversion) bool {
	if c == convKeep || (c == convString && raw.kind == kindStr) {
		*dst = *raw
		return true
	}
	switch raw.kind {
	case kindStr:
		return setFromString(dst, raw.str, c)
	case kindInt:
		if c == convInt {
			*dst = *raw
			return true
		}
		return setFromString(dst, strconv.FormatInt(raw.num, 10), c)
	case kindDouble:
		f := math.Float64frombits(uint64(raw.num))
		if c != convInt {
			return setFromString(dst, strconv.FormatFloat(f, 'g', -1, 64), c)
		}
		if f != math.Trunc(f) || math.Abs(f) >= 1<<63 {
			return false
		}
		*dst = mappedValue{kind: kindInt, num: int64(f)}
		return true
	case kindBool:
		if c == convInt {
			return false
		}
		return setFromString(dst, strconv.FormatBool(raw.num != 0), c)
	default:
		return false
	}
}

func setFromString(dst *mappedValue, s string, c conversion) bool {
	switch c {
	case convInt:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return false
		}
		*dst = mappedValue{kind: kindInt, num: n}
	case convStringSlice:
		*dst = mappedValue{kind: kindStrSlice, str: s}
	default:
		*dst = mappedValue{kind: kindStr, str: s}
	}
	return true
}

// put writes v under key, replacing any value there.
func (v mappedValue) put(m pcommon.Map, key string) {
	switch v.kind {
	case kindStr:
		m.PutStr(key, v.str)
	case kindInt:
		m.PutInt(key, v.num)
	case kindDouble:
		m.PutDouble(key, math.Float64frombits(uint64(v.num)))
	case kindBool:
		m.PutBool(key, v.num != 0)
	case kindStrSlice:
		s := m.PutEmptySlice(key)
		s.AppendEmpty().SetStr(v.str)
	}
}

func (v *mappedValue) equal(o *mappedValue) bool {
	return v.kind == o.kind && v.num == o.num && v.str == o.str
}

// appendKey appends an unambiguous encoding of v, so equal workload keys mean equal values.
func (v *mappedValue) appendKey(buf []byte) []byte {
	buf = append(buf, byte(v.kind))
	switch v.kind {
	case kindStr, kindStrSlice:
		buf = binary.AppendUvarint(buf, uint64(len(v.str)))
		buf = append(buf, v.str...)
	case kindInt, kindDouble, kindBool:
		buf = binary.LittleEndian.AppendUint64(buf, uint64(v.num))
	}
	return buf
}

// hasValue reports whether m holds a real value under key; k8sattributesprocessor's rule is to
// never overwrite one.
func hasValue(m pcommon.Map, key string) bool {
	v, ok := m.Get(key)
	if !ok {
		return false
	}
	switch v.Type() {
	case pcommon.ValueTypeEmpty:
		return false
	case pcommon.ValueTypeStr:
		return !falcofields.IsNoValue(v.Str())
	case pcommon.ValueTypeSlice:
		return v.Slice().Len() > 0
	case pcommon.ValueTypeMap:
		return v.Map().Len() > 0
	case pcommon.ValueTypeBytes:
		return v.Bytes().Len() > 0
	default:
		return true
	}
}
