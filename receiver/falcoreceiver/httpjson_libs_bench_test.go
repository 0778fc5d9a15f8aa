// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

//go:build goexperiment.jsonv2

package falcoreceiver

// Measures the hand-written JSON decoder against decoders built on well-kept libraries, on the
// bodies Falco sends (one alert per POST) and on NDJSON batches. Run with
//
//	GOEXPERIMENT=jsonv2 go test -run '^$' -bench BenchmarkJSONDecoders -benchmem ./receiver/falcoreceiver
//
// The file needs encoding/json/v2 (an experiment in Go 1.26) and is left out of ordinary builds.

import (
	"bytes"
	"encoding/json"
	"encoding/json/jsontext"
	"errors"
	"fmt"
	"io"
	"strconv"
	"testing"
	"time"
)

func BenchmarkJSONDecoders(b *testing.B) {
	bodies := []struct {
		name   string
		body   []byte
		alerts int
	}{
		{"single", []byte(benchAlerts[2]), 1},
		{"ndjson-1000", ndjsonBatch(1000), 1000},
	}
	for _, body := range bodies {
		b.Run(body.name+"/hand-written", func(b *testing.B) {
			var d httpDecoder
			runJSONDecoder(b, body.body, body.alerts, func(data []byte) (int, error) {
				alerts, err := d.decode(data)
				return len(alerts), err
			})
		})
		b.Run(body.name+"/jsontext", func(b *testing.B) {
			dec := jsontext.NewDecoder(bytes.NewReader(nil))
			runJSONDecoder(b, body.body, body.alerts, func(data []byte) (int, error) {
				alerts, err := decodeWithJSONText(dec, data)
				return len(alerts), err
			})
		})
		b.Run(body.name+"/encoding-json-v1", func(b *testing.B) {
			runJSONDecoder(b, body.body, body.alerts, func(data []byte) (int, error) {
				alerts, err := decodeWithEncodingJSON(data)
				return len(alerts), err
			})
		})
	}
}

func runJSONDecoder(b *testing.B, body []byte, want int, decode func([]byte) (int, error)) {
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		n, err := decode(body)
		if err != nil || n != want {
			b.Fatalf("%d alerts, %v", n, err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*want), "ns/alert")
}

// TestJSONTextDecoderAgrees keeps the benchmark honest: the jsontext decoder gives the alerts
// the hand-written one gives.
func TestJSONTextDecoderAgrees(t *testing.T) {
	body := ndjsonBatch(6)
	var d httpDecoder
	want, err := d.decode(body)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeWithJSONText(jsontext.NewDecoder(bytes.NewReader(nil)), body)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d alerts, want %d", len(got), len(want))
	}
	for i := range want {
		sortFields(want[i])
		sortFields(got[i])
		if fmt.Sprint(want[i]) != fmt.Sprint(got[i]) {
			t.Fatalf("alert %d:\n got %v\nwant %v", i, got[i], want[i])
		}
	}
}

// decodeWithJSONText decodes one alert, an array of alerts or NDJSON with encoding/json/v2's
// tokenizer, typing values as the hand-written decoder does.
func decodeWithJSONText(dec *jsontext.Decoder, body []byte) ([]*alert, error) {
	dec.Reset(bytes.NewReader(body))
	var alerts []*alert
	for {
		switch dec.PeekKind() {
		case '{':
			a, err := decodeAlertJSONText(dec)
			if err != nil {
				return nil, err
			}
			alerts = append(alerts, a)
		case '[':
			if _, err := dec.ReadToken(); err != nil {
				return nil, err
			}
			for dec.PeekKind() != ']' {
				a, err := decodeAlertJSONText(dec)
				if err != nil {
					return nil, err
				}
				alerts = append(alerts, a)
			}
			if _, err := dec.ReadToken(); err != nil {
				return nil, err
			}
		default:
			if _, err := dec.ReadToken(); errors.Is(err, io.EOF) {
				return alerts, nil
			} else if err != nil {
				return nil, err
			}
			return nil, errors.New("not an alert")
		}
	}
}

func decodeAlertJSONText(dec *jsontext.Decoder) (*alert, error) {
	a := &alert{}
	if _, err := dec.ReadToken(); err != nil {
		return nil, err
	}
	for dec.PeekKind() != '}' {
		key, err := dec.ReadToken()
		if err != nil {
			return nil, err
		}
		switch key.String() {
		case "rule":
			err = readString(dec, &a.Rule)
		case "output":
			err = readString(dec, &a.Output)
		case "hostname":
			err = readString(dec, &a.Hostname)
		case "source":
			err = readString(dec, &a.Source)
		case "priority":
			var s string
			if err = readString(dec, &s); err == nil {
				a.Priority, err = parsePriority(s)
			}
		case "time":
			var v jsontext.Value
			if v, err = dec.ReadValue(); err == nil {
				var ok bool
				if a.Time, ok = parseAlertTime(v[1 : len(v)-1]); !ok {
					err = errors.New("bad time")
				}
			}
		case "tags":
			err = readTags(dec, a)
		case "output_fields":
			err = readOutputFields(dec, a)
		default:
			err = dec.SkipValue()
		}
		if err != nil {
			return nil, err
		}
	}
	_, err := dec.ReadToken()
	return a, err
}

func readString(dec *jsontext.Decoder, dst *string) error {
	tok, err := dec.ReadToken()
	if err != nil {
		return err
	}
	if tok.Kind() != '"' {
		return errors.New("want a string")
	}
	*dst = tok.String()
	return nil
}

func readTags(dec *jsontext.Decoder, a *alert) error {
	if _, err := dec.ReadToken(); err != nil {
		return err
	}
	for dec.PeekKind() != ']' {
		var s string
		if err := readString(dec, &s); err != nil {
			return err
		}
		a.Tags = append(a.Tags, s)
	}
	_, err := dec.ReadToken()
	return err
}

func readOutputFields(dec *jsontext.Decoder, a *alert) error {
	if _, err := dec.ReadToken(); err != nil {
		return err
	}
	for dec.PeekKind() != '}' {
		key, err := dec.ReadToken()
		if err != nil {
			return err
		}
		k := key.String()
		var v fieldValue
		switch dec.PeekKind() {
		case '"':
			var s string
			err = readString(dec, &s)
			v = stringValue(s)
		case '0':
			var raw jsontext.Value
			if raw, err = dec.ReadValue(); err == nil {
				if i, ok := parseInt64(raw); ok {
					v = fieldValue{Kind: kindInt, Int: i}
				} else {
					f, _ := strconv.ParseFloat(string(raw), 64)
					v = fieldValue{Kind: kindDouble, Double: f}
				}
			}
		case 't', 'f':
			var tok jsontext.Token
			tok, err = dec.ReadToken()
			v = fieldValue{Kind: kindBool, Bool: tok.Bool()}
		case 'n':
			_, err = dec.ReadToken()
			if err != nil {
				return err
			}
			continue // no value in this event
		default: // nested JSON is kept as its text
			var raw jsontext.Value
			raw, err = dec.ReadValue()
			v = stringValue(string(raw))
		}
		if err != nil {
			return err
		}
		a.Fields = append(a.Fields, field{Key: k, Value: v})
	}
	_, err := dec.ReadToken()
	return err
}

// decodeWithEncodingJSON is the obvious code: encoding/json (v1) into a struct, NDJSON through
// its Decoder, output_fields through map[string]any. It does not type nested values like the
// others and is only a reference point.
func decodeWithEncodingJSON(body []byte) ([]*alert, error) {
	type wireAlert struct {
		Rule         string          `json:"rule"`
		Priority     string          `json:"priority"`
		Time         time.Time       `json:"time"`
		Output       string          `json:"output"`
		Source       string          `json:"source"`
		Hostname     string          `json:"hostname"`
		Tags         []string        `json:"tags"`
		OutputFields map[string]any  `json:"output_fields"`
		_            json.RawMessage `json:"-"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var alerts []*alert
	for {
		var w wireAlert
		if err := dec.Decode(&w); errors.Is(err, io.EOF) {
			return alerts, nil
		} else if err != nil {
			return nil, err
		}
		p, err := parsePriority(w.Priority)
		if err != nil {
			return nil, err
		}
		a := &alert{Time: w.Time, Priority: p, Rule: w.Rule, Output: w.Output, Source: w.Source, Hostname: w.Hostname, Tags: w.Tags}
		for k, v := range w.OutputFields {
			switch v := v.(type) {
			case string:
				a.Fields = append(a.Fields, field{Key: k, Value: stringValue(v)})
			case json.Number:
				if i, err := v.Int64(); err == nil {
					a.Fields = append(a.Fields, field{Key: k, Value: fieldValue{Kind: kindInt, Int: i}})
				} else {
					f, _ := v.Float64()
					a.Fields = append(a.Fields, field{Key: k, Value: fieldValue{Kind: kindDouble, Double: f}})
				}
			case bool:
				a.Fields = append(a.Fields, field{Key: k, Value: fieldValue{Kind: kindBool, Bool: v}})
			}
		}
		alerts = append(alerts, a)
	}
}
