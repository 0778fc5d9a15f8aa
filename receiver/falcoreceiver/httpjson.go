// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package falcoreceiver // import "github.com/otelcol-falco/otelcol-falco/receiver/falcoreceiver"

// The JSON reading under httpDecoder: objects, strings, numbers and values it skips, with the
// checks of JSON's grammar that encoding/json makes.

import (
	"bytes"
	"encoding/binary"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

const (
	// maxJSONDepth bounds nesting inside output_fields values (plugin fields may hold JSON), so
	// a hostile body cannot exhaust the stack.
	maxJSONDepth = 64
	// arenaChunk is the size of the blocks decoded strings are carved from. A live string keeps
	// its whole block alive, so blocks stay small.
	arenaChunk = 4096
)

// optional decodes a property that may be null, which leaves it unset.
func (d *httpDecoder) optional(decode func() error) error {
	if bytes.HasPrefix(d.data[d.pos:], nullLiteral) {
		d.pos += len(nullLiteral)
		return nil
	}
	return decode()
}

var nullLiteral = []byte("null")

// eachMember walks the members of an object whose '{' was consumed, calling fn with d.pos at each
// value; fn must consume the value. Errors of the object's own syntax are named path.
func (d *httpDecoder) eachMember(path string, fn func(key []byte) error) error {
	d.skipSpace()
	if d.peek() == '}' {
		d.pos++
		return nil
	}
	for {
		if d.peek() != '"' {
			return d.errorAt(d.pos, path, "want a property name in double quotes")
		}
		key, err := d.rawString(&d.keyBuf)
		if err != nil {
			return named(err, path)
		}
		d.skipSpace()
		if d.peek() != ':' {
			return d.errorAt(d.pos, path, "want ':' after a property name")
		}
		d.pos++
		d.skipSpace()
		if err := fn(key); err != nil {
			return err
		}
		d.skipSpace()
		c := d.peek()
		d.pos++
		switch c {
		case ',':
			d.skipSpace()
		case '}':
			return nil
		default:
			return d.errorAt(d.pos-1, path, "want ',' or '}' after a property")
		}
	}
}

func (d *httpDecoder) stringInto(dst *string) error {
	if d.peek() != '"' {
		return d.errorAt(d.pos, "", "want a string")
	}
	b, err := d.rawString(&d.scratch)
	if err != nil {
		return err
	}
	*dst = d.keep(b)
	return nil
}

// number decodes a JSON number: an integer that fits int64 becomes an int, one that does not
// keeps its digits as a string (as typing a gRPC value would), anything else is a double.
func (d *httpDecoder) number() (fieldValue, error) {
	start := d.pos
	end, isInt, ok := scanNumber(d.data, start)
	if !ok {
		return fieldValue{}, d.errorAt(start, "", "invalid number")
	}
	d.pos = end
	text := d.data[start:end]
	if isInt {
		if n, ok := parseInt64(text); ok {
			return fieldValue{Kind: kindInt, Int: n}, nil
		}
		return stringValue(d.keep(text)), nil
	}
	f, err := strconv.ParseFloat(bytesString(text), 64)
	if err != nil { // beyond float64's range
		return stringValue(d.keep(text)), nil
	}
	return fieldValue{Kind: kindDouble, Double: f}, nil
}

// scanNumber checks JSON's number grammar from i and returns where the number ends.
func scanNumber(b []byte, i int) (end int, isInt, ok bool) {
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
		if i < len(b) && b[i] >= '0' && b[i] <= '9' {
			return i, false, false // JSON has no leading zeros
		}
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		i = skipDigits(b, i)
	default:
		return i, false, false
	}
	isInt = true
	if i < len(b) && b[i] == '.' {
		isInt = false
		i++
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			return i, false, false
		}
		i = skipDigits(b, i)
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		isInt = false
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			return i, false, false
		}
		i = skipDigits(b, i)
	}
	return i, isInt, true
}

func skipDigits(b []byte, i int) int {
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	return i
}

// parseInt64 parses a grammar-checked JSON integer, reporting false when it overflows int64.
func parseInt64(b []byte) (int64, bool) {
	neg := b[0] == '-'
	if neg {
		b = b[1:]
	}
	var u uint64
	for _, c := range b {
		if u > (1<<63)/10 {
			return 0, false
		}
		u = u*10 + uint64(c-'0')
		if u > 1<<63 {
			return 0, false
		}
	}
	if neg {
		return -int64(u), true // -(1<<63) wraps to itself: MinInt64
	}
	if u > 1<<63-1 {
		return 0, false
	}
	return int64(u), true
}

func (d *httpDecoder) literal(lit string) error {
	if !bytes.HasPrefix(d.data[d.pos:], []byte(lit)) {
		return d.invalidValue()
	}
	d.pos += len(lit)
	return nil
}

func (d *httpDecoder) invalidValue() error {
	if d.pos >= len(d.data) {
		return d.errorAt(d.pos, "", "unexpected end of body")
	}
	return d.errorAt(d.pos, "", "invalid JSON value")
}

// skipValue checks and skips one JSON value of any type.
func (d *httpDecoder) skipValue(depth int) error {
	if depth > maxJSONDepth {
		return d.errorAt(d.pos, "", "JSON nested too deeply")
	}
	switch c := d.peek(); {
	case c == '"':
		_, err := d.rawString(&d.scratch)
		return err
	case c == '-' || (c >= '0' && c <= '9'):
		end, _, ok := scanNumber(d.data, d.pos)
		if !ok {
			return d.errorAt(d.pos, "", "invalid number")
		}
		d.pos = end
		return nil
	case c == 't':
		return d.literal("true")
	case c == 'f':
		return d.literal("false")
	case c == 'n':
		return d.literal("null")
	case c == '{':
		d.pos++
		return d.eachMember("", func([]byte) error { return d.skipValue(depth + 1) })
	case c == '[':
		d.pos++
		d.skipSpace()
		if d.peek() == ']' {
			d.pos++
			return nil
		}
		for {
			if err := d.skipValue(depth + 1); err != nil {
				return err
			}
			if done, err := d.afterArrayItem("an array"); done || err != nil {
				return err
			}
		}
	}
	return d.invalidValue()
}

// rawString decodes the string at d.pos (its opening quote). The result views the body when the
// string needs no unescaping, else *buf; either way it is only valid until buf is used again,
// and keep copies what outlives the request.
func (d *httpDecoder) rawString(buf *[]byte) ([]byte, error) {
	start := d.pos + 1
	data := d.data
	i := start
	for i+8 <= len(data) && !hasSpecialByte(binary.LittleEndian.Uint64(data[i:])) { // 8 bytes a step
		i += 8
	}
	for i < len(data) && plainStringByte[data[i]] {
		i++
	}
	plain := true // no escapes and all ASCII
	for ; i < len(data); i++ {
		c := data[i]
		if plainStringByte[c] {
			continue
		}
		if c == '"' {
			break
		}
		if c < 0x20 {
			return nil, d.errorAt(i, "", "control character in a string (must be escaped)")
		}
		plain = false
		if c == '\\' {
			i++ // the escaped byte cannot end the string
		}
	}
	if i >= len(data) {
		return nil, d.errorAt(d.pos, "", "unterminated string")
	}
	d.pos = i + 1
	s := data[start:i]
	if plain || (bytes.IndexByte(s, '\\') < 0 && utf8.Valid(s)) {
		return s, nil
	}
	return d.unescape(buf, s, start)
}

// hasSpecialByte tells whether any of the 8 bytes in x is not a plainStringByte: below 0x20,
// '"', '\\' or 0x80 and above ("Bit Twiddling Hacks": hasless and haszero).
func hasSpecialByte(x uint64) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	quote, backslash := x^(ones*'"'), x^(ones*'\\')
	// A byte's high bit is set by a byte >= 0x80 (x), or, for bytes below 0x80, by a byte below
	// 0x20 or equal to '"' or '\\' (its subtraction borrows). A borrow only reaches the bytes
	// above one that was special, so the answer is exact.
	return ((x-ones*0x20)|(quote-ones)|(backslash-ones)|x)&highs != 0
}

// plainStringByte tells the bytes a JSON string holds as they are: ASCII other than the quote,
// the backslash and control characters.
var plainStringByte = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// unescape resolves escapes; invalid UTF-8 and unpaired surrogates become U+FFFD, as
// encoding/json and Falco's own JSON writer do.
func (d *httpDecoder) unescape(buf *[]byte, s []byte, offset int) ([]byte, error) {
	out := (*buf)[:0]
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRune(s[i:])
			out = utf8.AppendRune(out, r) // RuneError for invalid bytes
			i += size
			continue
		}
		if c != '\\' {
			out = append(out, c)
			i++
			continue
		}
		if i+1 >= len(s) {
			return nil, d.errorAt(offset+i, "", "invalid escape in a string")
		}
		switch e := s[i+1]; e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := hex4(s[i+2:])
			if !ok {
				return nil, d.errorAt(offset+i, "", "invalid \\u escape in a string")
			}
			i += 6
			if utf16.IsSurrogate(r) {
				r2, ok := rune(-1), false
				if i+1 < len(s) && s[i] == '\\' && s[i+1] == 'u' {
					r2, ok = hex4(s[i+2:])
				}
				if dec := utf16.DecodeRune(r, r2); ok && dec != utf8.RuneError {
					r = dec
					i += 6
				} else {
					r = utf8.RuneError
				}
			}
			out = utf8.AppendRune(out, r)
			continue
		default:
			return nil, d.errorAt(offset+i, "", "invalid escape in a string")
		}
		i += 2
	}
	*buf = out
	return out, nil
}

func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// keep copies b into the arena and returns it as a string. Arena blocks are never written again
// once handed out, so the strings stay valid in the pipeline after the body buffer is reused.
func (d *httpDecoder) keep(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if len(b) > arenaChunk/4 {
		return string(b) // large values get their own allocation instead of wasting a block
	}
	if cap(d.arena)-len(d.arena) < len(b) {
		d.arena = make([]byte, 0, arenaChunk)
	}
	start := len(d.arena)
	d.arena = append(d.arena, b...)
	return unsafe.String(&d.arena[start], len(b))
}

func (d *httpDecoder) peek() byte {
	if d.pos < len(d.data) {
		return d.data[d.pos]
	}
	return 0
}

func (d *httpDecoder) skipSpace() {
	for d.pos < len(d.data) {
		switch d.data[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

// afterArrayItem consumes what follows an array item and reports whether the array ended.
func (d *httpDecoder) afterArrayItem(what string) (done bool, err error) {
	d.skipSpace()
	c := d.peek()
	d.pos++
	switch c {
	case ',':
		d.skipSpace()
		return false, nil
	case ']':
		return true, nil
	}
	return false, d.errorAt(d.pos-1, "", "want ',' or ']' in "+what)
}
