// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package falcoreceiver // import "github.com/otelcol-falco/otelcol-falco/receiver/falcoreceiver"

import (
	"bytes"
	"fmt"
	"time"
	"unicode/utf8"
)

// decodeError is a body the receiver rejects with 400: where (line), what (field) and why.
type decodeError struct {
	Line  int    // 1-based line of the body
	Field string // e.g. "priority", "output_fields.proc.pid"; empty for a syntax error between alerts
	Msg   string
}

func (e *decodeError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
	}
	return fmt.Sprintf("line %d: %s: %s", e.Line, e.Field, e.Msg)
}

// httpDecoder decodes Falco's JSON alerts straight into reused alert values: one object, a JSON
// array of objects, or objects one after another (NDJSON). It is a single pass over the bytes
// without reflection; decoded strings are copied into an arena of immutable blocks, so the body
// buffer can be reused while the strings live on in the pipeline. Not safe for concurrent use.
type httpDecoder struct {
	data    []byte
	pos     int
	arena   []byte   // current block; only the part beyond len is ever written
	scratch []byte   // unescaping values
	keyBuf  []byte   // unescaping property names, so a value never overwrites its name
	alerts  []*alert // alerts[:n] hold the current body's alerts; the rest wait for reuse
	n       int

	maxAlerts int            // alerts one body may hold (0: no limit)
	received  time.Time      // when the body arrived: the date of a text alert's clock time
	location  *time.Location // Falco's local time zone for text alerts (time.Local)
	sawText   bool           // the body was Falco's text output
}

// tooManyAlertsError is a body with more alerts than max_alerts_per_request (413).
type tooManyAlertsError struct{ max int }

func (e *tooManyAlertsError) Error() string {
	return fmt.Sprintf("more than max_alerts_per_request (%d) alerts in one request; send smaller batches", e.max)
}

// decode decodes body and returns its alerts, valid until the next call. A body is all or
// nothing: on the first bad alert it returns a *decodeError and no alerts.
func (d *httpDecoder) decode(body []byte) ([]*alert, error) {
	d.data, d.pos, d.n, d.sawText = body, 0, 0, false
	if d.location == nil {
		d.location = time.Local
	}
	if d.received.IsZero() {
		d.received = time.Now()
	}
	defer func() { d.data, d.received = nil, time.Time{} }()
	if err := d.decodeAlerts(); err != nil {
		d.n = 0
		return nil, err
	}
	return d.alerts[:d.n], nil
}

func (d *httpDecoder) decodeAlerts() error {
	d.skipSpace()
	if d.pos == len(d.data) {
		return d.errorAt(d.pos, "", "empty body; want a Falco alert in JSON")
	}
	switch d.data[d.pos] {
	case '[':
		return d.decodeArray()
	case '{':
		// One object, or NDJSON: objects separated by whitespace.
		for d.pos < len(d.data) {
			if d.data[d.pos] != '{' {
				return d.errorAt(d.pos, "", "want the next alert object ('{') after an alert")
			}
			a, err := d.nextAlert()
			if err != nil {
				return err
			}
			if err := d.decodeAlert(a); err != nil {
				return err
			}
			d.skipSpace()
		}
		return nil
	}
	return d.decodeText() // Falco's default output (json_output: false)
}

func (d *httpDecoder) decodeArray() error {
	d.pos++ // [
	d.skipSpace()
	if d.peek() == ']' {
		d.pos++
	} else {
		for {
			if d.peek() != '{' {
				return d.errorAt(d.pos, "", "want an alert object in the array")
			}
			a, err := d.nextAlert()
			if err != nil {
				return err
			}
			if err := d.decodeAlert(a); err != nil {
				return err
			}
			d.skipSpace()
			c := d.peek()
			d.pos++
			if c == ']' {
				break
			}
			if c != ',' {
				return d.errorAt(d.pos-1, "", "want ',' or ']' after an alert in the array")
			}
			d.skipSpace()
		}
	}
	d.skipSpace()
	if d.pos != len(d.data) {
		return d.errorAt(d.pos, "", "unexpected data after the array")
	}
	return nil
}

// nextAlert returns a reset alert for the next decoded one, reusing earlier ones, or an error
// once the body holds more than maxAlerts: decoded alerts cost far more memory than their bytes.
func (d *httpDecoder) nextAlert() (*alert, error) {
	if d.maxAlerts > 0 && d.n >= d.maxAlerts {
		return nil, &tooManyAlertsError{max: d.maxAlerts}
	}
	if d.n == len(d.alerts) {
		d.alerts = append(d.alerts, &alert{Fields: make([]field, 0, 16)})
	}
	a := d.alerts[d.n]
	d.n++
	a.reset()
	return a, nil
}

// decodeAlert decodes one alert object; d.pos is at its '{'.
func (d *httpDecoder) decodeAlert(a *alert) error {
	start := d.pos
	d.pos++
	var hasRule, hasPriority, hasTime bool
	err := d.eachMember("", func(key []byte) error {
		var err error
		switch string(key) {
		case "rule":
			hasRule = true
			err = d.stringInto(&a.Rule)
		case "priority":
			hasPriority = true
			err = d.decodePriority(a)
		case "time":
			hasTime = true
			err = d.decodeTime(a)
		case "output":
			err = d.optional(func() error { return d.stringInto(&a.Output) })
		case "message":
			err = d.optional(func() error { return d.stringInto(&a.Message) })
		case "source":
			err = d.optional(func() error { return d.stringInto(&a.Source) })
		case "hostname":
			err = d.optional(func() error { return d.stringInto(&a.Hostname) })
		case "tags":
			a.Tags = a.Tags[:0] // a repeated property replaces the earlier one
			err = d.optional(func() error { return d.decodeTags(a) })
		case "output_fields":
			a.Fields = a.Fields[:0]
			err = d.optional(func() error { return d.decodeOutputFields(a) })
		default:
			// Properties this receiver does not map (uuid, ...) are checked and skipped;
			// nested names reuse the key buffer, so the name is copied first for the error path.
			name := string(key)
			if err := d.skipValue(0); err != nil {
				return named(err, name)
			}
			return nil
		}
		if err != nil {
			return named(err, string(key))
		}
		return nil
	})
	if err != nil {
		return err
	}
	switch {
	case !hasRule:
		return d.errorAt(start, "rule", "missing")
	case !hasPriority:
		return d.errorAt(start, "priority", "missing")
	case !hasTime:
		return d.errorAt(start, "time", "missing")
	}
	return nil
}

func (d *httpDecoder) decodePriority(a *alert) error {
	at := d.pos
	if d.peek() != '"' {
		return d.errorAt(at, "", `want a string such as "Critical"`)
	}
	b, err := d.rawString(&d.scratch)
	if err != nil {
		return err
	}
	p, err := parsePriority(bytesString(b))
	if err != nil {
		return d.errorAt(at, "", err.Error())
	}
	a.Priority = p
	return nil
}

func (d *httpDecoder) decodeTime(a *alert) error {
	at := d.pos
	if d.peek() != '"' {
		return d.errorAt(at, "", `want an RFC 3339 string such as "2026-05-04T10:11:12.123456789Z"`)
	}
	b, err := d.rawString(&d.scratch)
	if err != nil {
		return err
	}
	t, ok := parseAlertTime(b)
	if !ok {
		return d.errorAt(at, "", fmt.Sprintf(`%q is not an RFC 3339 time such as "2026-05-04T10:11:12.123456789Z"`, b))
	}
	a.Time = t
	return nil
}

func (d *httpDecoder) decodeTags(a *alert) error {
	if d.peek() != '[' {
		return d.errorAt(d.pos, "", "want an array of strings")
	}
	d.pos++
	d.skipSpace()
	if d.peek() == ']' {
		d.pos++
		return nil
	}
	for {
		if d.peek() != '"' {
			return d.errorAt(d.pos, "", "want an array of strings")
		}
		b, err := d.rawString(&d.scratch)
		if err != nil {
			return err
		}
		a.Tags = append(a.Tags, d.keep(b))
		if done, err := d.afterArrayItem("the array"); done || err != nil {
			return err
		}
	}
}

// decodeOutputFields keeps Falco's JSON types: numbers stay ints or doubles, booleans stay
// booleans, null and "<NA>" (no value in this event) are dropped, and nested JSON (plugin fields)
// is kept as its JSON text.
func (d *httpDecoder) decodeOutputFields(a *alert) error {
	if d.peek() != '{' {
		return d.errorAt(d.pos, "", "want an object")
	}
	d.pos++
	return d.eachMember("output_fields", func(key []byte) error {
		k := d.keep(key) // before the value: a nested object's names reuse the key buffer
		v, keep, err := d.fieldValue()
		if err != nil {
			return named(err, "output_fields."+k)
		}
		if keep {
			a.Fields = append(a.Fields, field{Key: k, Value: v})
		}
		return nil
	})
}

// fieldValue decodes one output_fields value; keep is false for null.
func (d *httpDecoder) fieldValue() (v fieldValue, keep bool, err error) {
	at := d.pos
	switch c := d.peek(); {
	case c == '"':
		b, err := d.rawString(&d.scratch)
		if err != nil {
			return v, false, err
		}
		if string(b) == noValue {
			return v, false, nil // older Falco's spelling of null
		}
		return stringValue(d.keep(b)), true, nil
	case c == '-' || (c >= '0' && c <= '9'):
		v, err := d.number()
		return v, err == nil, err
	case c == 't':
		return fieldValue{Kind: kindBool, Bool: true}, true, d.literal("true")
	case c == 'f':
		return fieldValue{Kind: kindBool}, true, d.literal("false")
	case c == 'n':
		return v, false, d.literal("null")
	case c == '[':
		v, err := d.list()
		return v, err == nil, err
	case c == '{':
		if err := d.skipValue(0); err != nil {
			return v, false, err
		}
		return stringValue(d.keepJSONText(at)), true, nil
	}
	return v, false, d.invalidValue()
}

// list decodes a JSON array (Falco's list fields, such as ka.req.pod.containers.image) into its
// items; Str keeps the array's JSON text for the metric attribute of a list field.
func (d *httpDecoder) list() (fieldValue, error) {
	at := d.pos
	if err := d.skipValue(0); err != nil { // checks the whole array before any item is kept
		return fieldValue{}, err
	}
	end := d.pos
	v := fieldValue{Kind: kindList, Str: d.keepJSONText(at)}
	d.pos = at + 1
	d.skipSpace()
	if d.peek() == ']' {
		d.pos = end
		return v, nil
	}
	for {
		itemAt := d.pos
		var item fieldValue
		switch c := d.peek(); {
		case c == '"':
			b, err := d.rawString(&d.scratch)
			if err != nil {
				return v, err
			}
			item = stringValue(d.keep(b))
		case c == '-' || (c >= '0' && c <= '9'):
			n, err := d.number()
			if err != nil {
				return v, err
			}
			item = n
		case c == 't' || c == 'f':
			item = fieldValue{Kind: kindBool, Bool: c == 't'}
			_ = d.skipValue(0)
		default: // null, nested arrays and objects: their JSON text
			if err := d.skipValue(0); err != nil {
				return v, err
			}
			item = stringValue(d.keepJSONText(itemAt))
		}
		v.List = append(v.List, item)
		if done, err := d.afterArrayItem("the array"); done || err != nil {
			d.pos = end
			return v, err
		}
	}
}

// keepJSONText keeps the JSON text from offset at to d.pos. A string in it may hold bytes that
// are not UTF-8; they become U+FFFD, as in every other string the receiver hands on.
func (d *httpDecoder) keepJSONText(at int) string {
	text := d.data[at:d.pos]
	if utf8.Valid(text) {
		return d.keep(text)
	}
	d.scratch = appendValidUTF8(d.scratch[:0], text)
	return d.keep(d.scratch)
}

// named fills in the field of an error raised below the level that knows the field's name, so
// the name is only built on the error path.
func named(err error, field string) error {
	if de, ok := err.(*decodeError); ok && de.Field == "" {
		de.Field = field
	}
	return err
}

// errorAt builds a decodeError for the byte at offset; the line is counted only on this path.
func (d *httpDecoder) errorAt(offset int, field, msg string) error {
	offset = min(offset, len(d.data))
	return &decodeError{Line: 1 + bytes.Count(d.data[:offset], []byte{'\n'}), Field: field, Msg: msg}
}

// parseAlertTime parses Falco's "2026-05-04T10:11:12.123456789Z" without allocating, and any
// other RFC 3339 time (an offset, fewer digits) through the time package.
func parseAlertTime(b []byte) (time.Time, bool) {
	if t, ok := parseUTCTime(b); ok {
		return t, true
	}
	t, err := time.Parse(time.RFC3339Nano, string(b))
	if err != nil {
		return time.Time{}, false
	}
	return t.UTC(), true
}

// parseUTCTime handles YYYY-MM-DDTHH:MM:SS[.fraction]Z, the only form Falco writes.
func parseUTCTime(b []byte) (time.Time, bool) {
	if len(b) < 20 || b[4] != '-' || b[7] != '-' || b[10] != 'T' || b[13] != ':' || b[16] != ':' || b[len(b)-1] != 'Z' {
		return time.Time{}, false
	}
	year, ok1 := digits(b[0:4])
	month, ok2 := digits(b[5:7])
	day, ok3 := digits(b[8:10])
	hour, ok4 := digits(b[11:13])
	minute, ok5 := digits(b[14:16])
	sec, ok6 := digits(b[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, false
	}
	nanos := 0
	if frac := b[19 : len(b)-1]; len(frac) > 0 {
		if frac[0] != '.' || len(frac) < 2 || len(frac) > 10 {
			return time.Time{}, false
		}
		n, ok := digits(frac[1:])
		if !ok {
			return time.Time{}, false
		}
		for range 10 - len(frac) {
			n *= 10
		}
		nanos = n
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, nanos, time.UTC)
	if t.Day() != day || int(t.Month()) != month { // 2026-02-30 would roll over
		return time.Time{}, false
	}
	return t, true
}

func digits(b []byte) (int, bool) {
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, len(b) > 0
}
