// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package falcoreceiver // import "github.com/otelcol-falco/otelcol-falco/receiver/falcoreceiver"

// Falco's text output (json_output: false, Falco's default) POSTs one line per alert:
//
//	14:53:20.123456789: Notice A shell was spawned in a container ... | evt_type=execve user=root
//	2026-07-31T14:53:20.123456789Z: Notice A shell was spawned ...   (time_format_iso_8601: true)
//
// It names neither the rule nor the host, and its fields are formatted into the text. Such an
// alert becomes a log record with Falco's time and priority and the line as its body, counted
// under textOutputRule; the receiver advises json_output: true in its log.

import (
	"bytes"
	"fmt"
	"time"
	"unicode/utf8"
)

// textOutputRule is the falco.rule of alerts from Falco's text output, which names no rule.
const textOutputRule = "unknown (Falco text output; set json_output: true)"

// decodeText decodes a body of Falco text lines; blank lines are skipped.
func (d *httpDecoder) decodeText() error {
	d.sawText = true
	for line := 1; d.pos < len(d.data); line++ {
		rest := d.data[d.pos:]
		end := bytes.IndexByte(rest, '\n')
		if end < 0 {
			end = len(rest)
		}
		text := bytes.TrimRight(rest[:end], " \t\r")
		d.pos += min(end+1, len(rest))
		if len(bytes.TrimLeft(text, " \t")) == 0 {
			continue
		}
		a, err := d.nextAlert()
		if err != nil {
			return err
		}
		if err := parseTextAlert(text, d.received, d.location, a); err != nil {
			return &decodeError{Line: line, Msg: err.Error()}
		}
		a.Output = d.keepValid(text)
	}
	if d.n == 0 {
		return &decodeError{Line: 1, Msg: "empty body; want a Falco alert"}
	}
	return nil
}

// keepValid keeps b with bytes that are not UTF-8 replaced.
func (d *httpDecoder) keepValid(b []byte) string {
	if utf8.Valid(b) {
		return d.keep(b)
	}
	d.scratch = appendValidUTF8(d.scratch[:0], b)
	return d.keep(d.scratch)
}

// parseTextAlert fills a's time, priority and rule from one text line. A clock time without a
// date is Falco's local time; it is placed on the day (in loc) that puts it nearest to received.
func parseTextAlert(line []byte, received time.Time, loc *time.Location, a *alert) error {
	sep := bytes.Index(line, []byte(": "))
	if sep < 0 {
		return fmt.Errorf("not a Falco alert: want JSON (json_output: true) or Falco's text output %q", "<time>: <Priority> <message>")
	}
	t, ok := parseTextTime(line[:sep], received, loc)
	if !ok {
		return fmt.Errorf("%q is not Falco's time (15:04:05.123456789 or RFC 3339); want JSON (json_output: true) or Falco's text output", line[:sep])
	}
	rest := line[sep+2:]
	word := rest
	if sp := bytes.IndexByte(rest, ' '); sp >= 0 {
		word = rest[:sp]
	}
	p, err := parsePriority(bytesString(word))
	if err != nil {
		return err
	}
	a.Time, a.Priority, a.Rule = t, p, textOutputRule
	return nil
}

func parseTextTime(b []byte, received time.Time, loc *time.Location) (time.Time, bool) {
	if len(b) > 10 && b[10] == 'T' { // time_format_iso_8601
		if t, ok := parseAlertTime(b); ok {
			return t, true
		}
		t, err := time.Parse("2006-01-02T15:04:05.999999999-0700", string(b))
		return t.UTC(), err == nil
	}
	// HH:MM:SS[.fraction]
	if len(b) < 8 || b[2] != ':' || b[5] != ':' {
		return time.Time{}, false
	}
	hour, ok1 := digits(b[0:2])
	minute, ok2 := digits(b[3:5])
	sec, ok3 := digits(b[6:8])
	if !(ok1 && ok2 && ok3) || hour > 23 || minute > 59 || sec > 60 {
		return time.Time{}, false
	}
	nanos := 0
	if frac := b[8:]; len(frac) > 0 {
		n, ok := digits(frac[1:])
		if frac[0] != '.' || !ok || len(frac) > 10 {
			return time.Time{}, false
		}
		for range 10 - len(frac) {
			n *= 10
		}
		nanos = n
	}
	local := received.In(loc)
	t := time.Date(local.Year(), local.Month(), local.Day(), hour, minute, sec, nanos, loc)
	switch d := t.Sub(received); {
	case d > 12*time.Hour: // written just before midnight, received just after
		t = t.AddDate(0, 0, -1)
	case d < -12*time.Hour: // Falco's clock a little ahead across midnight
		t = t.AddDate(0, 0, 1)
	}
	return t.UTC(), true
}
