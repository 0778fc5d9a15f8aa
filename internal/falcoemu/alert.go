package falcoemu

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/falcosecurity/client-go/pkg/api/outputs"
	"github.com/falcosecurity/client-go/pkg/api/schema"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Field is one output field of an alert. Value is a string, int64, float64, bool, or
// nil for a value Falco could not resolve (rendered "<NA>" in text and over gRPC,
// null in JSON).
type Field struct {
	Key   string
	Value any
}

// NA is how Falco renders a missing value in text and over gRPC.
const NA = "<NA>"

// EvtTimeField is the output_fields key Falco adds from the output's time prefix.
const EvtTimeField = "evt.time"

// Alert is one Falco alert. Alerts come from a Generator or from NewAlert; the rendered
// parts they share are immutable, so an Alert is cheap to copy and safe to render from
// several goroutines.
type Alert struct {
	// Time is when the alert was generated (nanosecond precision).
	Time time.Time
	Rule *Rule
	// Priority is the alert's priority (the rule's own unless overridden).
	Priority Priority
	Hostname string

	v *variant
	c *alertContext
}

// variant holds the rule-dependent part of an alert, rendered once.
type variant struct {
	rule    *Rule
	evtType string
	evtIdx  int32    // registry index of evtType
	fields  []Field  // sorted by key; never contains evt.time
	msg     string   // the rule's output rendered with fields
	msgJSON []byte   // msg, JSON-escaped (no quotes)
	pb      []byte   // fields as encoded output_fields map entries (proto field 6)
	jfrag   [][]byte // per field: `"key":value`
}

// alertContext holds the where-part of a syscall alert: container and k8s fields.
// (NewAlert uses one with only ns and pod set: it renders nothing.)
type alertContext struct {
	idx        int32  // registry index (> 0)
	ns, pod    string // "" on the host
	fields     []Field
	suffix     string // " container_id=... k8s_ns_name=..." as appended to the output
	suffixJSON []byte
	pb         []byte
	jfrag      [][]byte
}

// NewAlert builds an alert by hand: every field of rule.Output missing from fields is
// added with a nil value, the output is rendered from rule.Output (nothing is appended),
// and an "evt.time" entry in fields is ignored (the time comes from t). Values may be
// any integer, float, bool, string or nil; they are normalised to int64/float64.
func NewAlert(t time.Time, rule *Rule, prio Priority, hostname string, fields []Field) Alert {
	seen := make(map[string]bool, len(fields))
	fs := make([]Field, 0, len(fields)+len(rule.Fields))
	for _, f := range fields {
		if f.Key == EvtTimeField || seen[f.Key] {
			continue
		}
		seen[f.Key] = true
		fs = append(fs, Field{f.Key, normalizeValue(f.Value)})
	}
	for _, k := range FormatFields(rule.Output) {
		if !seen[k] && k != EvtTimeField {
			seen[k] = true
			fs = append(fs, Field{k, nil})
		}
	}
	v := newVariant(rule, fs)
	ns, _ := lookupString(v.fields, "k8s.ns.name")
	pod, _ := lookupString(v.fields, "k8s.pod.name")
	return Alert{Time: t, Rule: rule, Priority: prio, Hostname: hostname, v: v, c: podOnlyContext(ns, pod)}
}

func lookupString(fs []Field, key string) (string, bool) {
	v, _ := lookup(fs, key)
	s, ok := v.(string)
	return s, ok
}

func normalizeValue(v any) any {
	switch x := v.(type) {
	case nil, string, int64, float64, bool:
		return x
	case int:
		return int64(x)
	case int8:
		return int64(x)
	case int16:
		return int64(x)
	case int32:
		return int64(x)
	case uint:
		return int64(x)
	case uint8:
		return int64(x)
	case uint16:
		return int64(x)
	case uint32:
		return int64(x)
	case uint64:
		return int64(x)
	case float32:
		return float64(x)
	case fmt.Stringer:
		return x.String()
	}
	return fmt.Sprint(v)
}

func sortFields(fs []Field) {
	sort.Slice(fs, func(i, j int) bool { return fs[i].Key < fs[j].Key })
}

func lookup(fs []Field, key string) (any, bool) {
	i := sort.Search(len(fs), func(i int) bool { return fs[i].Key >= key })
	if i < len(fs) && fs[i].Key == key {
		return fs[i].Value, true
	}
	return nil, false
}

// render renders a parsed format with values from fs (missing: "<NA>").
func render(segs []segment, fs []Field) string {
	var b []byte
	for _, s := range segs {
		if s.field == "" {
			b = append(b, s.text...)
			continue
		}
		v, _ := lookup(fs, s.field)
		b = appendValueText(b, v)
	}
	return string(b)
}

func newVariant(rule *Rule, fs []Field) *variant {
	fs = append([]Field(nil), fs...)
	sortFields(fs)
	v := &variant{rule: rule, fields: fs}
	if et, ok := lookup(fs, "evt.type"); ok {
		if s, ok := et.(string); ok {
			v.evtType = s
		}
	}
	v.evtIdx = internEvtType(v.evtType)
	v.msg = render(rule.segments(), fs)
	v.msgJSON = appendJSONEscaped(nil, v.msg)
	v.pb, v.jfrag = encodeFields(fs)
	return v
}

func newContext(ns, pod string, fs []Field) *alertContext {
	fs = append([]Field(nil), fs...)
	sortFields(fs)
	c := &alertContext{ns: ns, pod: pod, fields: fs, idx: newContextIdx()}
	c.suffix = " " + render(parseFormat(containerSuffixFormat), fs)
	c.suffixJSON = appendJSONEscaped(nil, c.suffix)
	c.pb, c.jfrag = encodeFields(fs)
	return c
}

func encodeFields(fs []Field) (pb []byte, jfrag [][]byte) {
	jfrag = make([][]byte, len(fs))
	for i, f := range fs {
		pb = appendMapEntry(pb, f.Key, string(appendValueText(nil, f.Value)))
		var j []byte
		j = append(j, '"')
		j = appendJSONEscaped(j, f.Key)
		j = append(j, '"', ':')
		j = appendJSONValue(j, f.Value)
		jfrag[i] = j
	}
	return pb, jfrag
}

// ---- accessors ----

// Source returns the rule's source ("syscall" or "k8s_audit").
func (a *Alert) Source() string { return a.Rule.Source }

// Tags returns the rule's tags (sorted; do not modify).
func (a *Alert) Tags() []string { return a.Rule.Tags }

// EvtType returns the alert's evt.type ("" when it has none, e.g. k8s_audit).
func (a *Alert) EvtType() string { return a.v.evtType }

// Namespace returns k8s.ns.name ("" when absent or <NA>).
func (a *Alert) Namespace() string {
	if a.c != nil {
		return a.c.ns
	}
	return ""
}

// Pod returns k8s.pod.name ("" when absent or <NA>).
func (a *Alert) Pod() string {
	if a.c != nil {
		return a.c.pod
	}
	return ""
}

// Fields returns all output fields sorted by key, including "evt.time" (int64 ns since
// the epoch, as in Falco's JSON). It allocates; renderers don't use it.
func (a *Alert) Fields() []Field {
	n := len(a.v.fields) + 1
	if a.c != nil {
		n += len(a.c.fields)
	}
	out := make([]Field, 0, n)
	out = append(out, a.v.fields...)
	if a.c != nil {
		out = append(out, a.c.fields...)
	}
	out = append(out, Field{EvtTimeField, a.Time.UnixNano()})
	sortFields(out)
	return out
}

// Field returns one output field's value (ok=false when the alert has no such key).
func (a *Alert) Field(key string) (any, bool) {
	if key == EvtTimeField {
		return a.Time.UnixNano(), true
	}
	if v, ok := lookup(a.v.fields, key); ok {
		return v, true
	}
	if a.c != nil {
		return lookup(a.c.fields, key)
	}
	return nil, false
}

// Output returns the output line as Falco renders it, e.g.
// "06:55:04.123456789: Critical Executing binary ... container_id=... k8s_ns_name=prod".
func (a *Alert) Output() string { return string(a.AppendOutput(nil)) }

// AppendOutput appends the output line to dst.
func (a *Alert) AppendOutput(dst []byte) []byte {
	dst = appendClock(dst, a.Time)
	dst = append(dst, ':', ' ')
	dst = append(dst, a.Priority.String()...)
	dst = append(dst, ' ')
	dst = append(dst, a.v.msg...)
	if a.c != nil {
		dst = append(dst, a.c.suffix...)
	}
	return dst
}

func (a *Alert) outputLen() int {
	n := 18 + 2 + len(a.Priority.String()) + 1 + len(a.v.msg)
	if a.c != nil {
		n += len(a.c.suffix)
	}
	return n
}

// ---- time formatting ----

// appendClock appends "HH:MM:SS.nnnnnnnnn" (UTC), Falco's %evt.time.
func appendClock(dst []byte, t time.Time) []byte {
	t = t.UTC()
	h, m, s := t.Clock()
	dst = append2(dst, h)
	dst = append(dst, ':')
	dst = append2(dst, m)
	dst = append(dst, ':')
	dst = append2(dst, s)
	dst = append(dst, '.')
	return append9(dst, t.Nanosecond())
}

// appendISOTime appends "2006-01-02T15:04:05.123456789Z", Falco's JSON "time".
func appendISOTime(dst []byte, t time.Time) []byte {
	t = t.UTC()
	y, mo, d := t.Date()
	dst = append4(dst, y)
	dst = append(dst, '-')
	dst = append2(dst, int(mo))
	dst = append(dst, '-')
	dst = append2(dst, d)
	dst = append(dst, 'T')
	h, m, s := t.Clock()
	dst = append2(dst, h)
	dst = append(dst, ':')
	dst = append2(dst, m)
	dst = append(dst, ':')
	dst = append2(dst, s)
	dst = append(dst, '.')
	dst = append9(dst, t.Nanosecond())
	return append(dst, 'Z')
}

func append2(dst []byte, v int) []byte { return append(dst, byte('0'+v/10), byte('0'+v%10)) }

func append4(dst []byte, v int) []byte {
	if v < 0 || v > 9999 {
		return strconv.AppendInt(dst, int64(v), 10)
	}
	return append(dst, byte('0'+v/1000), byte('0'+v/100%10), byte('0'+v/10%10), byte('0'+v%10))
}

func append9(dst []byte, v int) []byte {
	var b [9]byte
	for i := 8; i >= 0; i-- {
		b[i] = byte('0' + v%10)
		v /= 10
	}
	return append(dst, b[:]...)
}

// ---- value rendering ----

func appendValueText(dst []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(dst, NA...)
	case string:
		return append(dst, x...)
	case int64:
		return strconv.AppendInt(dst, x, 10)
	case float64:
		return strconv.AppendFloat(dst, x, 'g', -1, 64)
	case bool:
		return strconv.AppendBool(dst, x)
	}
	return append(dst, fmt.Sprint(v)...)
}

func appendJSONValue(dst []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(dst, "null"...)
	case string:
		dst = append(dst, '"')
		dst = appendJSONEscaped(dst, x)
		return append(dst, '"')
	case int64:
		return strconv.AppendInt(dst, x, 10)
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return append(dst, "null"...) // as nlohmann::json does
		}
		n := len(dst)
		dst = strconv.AppendFloat(dst, x, 'g', -1, 64)
		integral := true
		for _, c := range dst[n:] {
			if c == '.' || c == 'e' || c == 'E' {
				integral = false
			}
		}
		if integral {
			dst = append(dst, '.', '0') // nlohmann prints 1.0, not 1
		}
		return dst
	case bool:
		return strconv.AppendBool(dst, x)
	}
	b, _ := json.Marshal(fmt.Sprint(v))
	return append(dst, b...)
}

const hexDigits = "0123456789abcdef"

// appendJSONEscaped escapes s like nlohmann::json::dump (ensure_ascii=false): quote,
// backslash and control characters; invalid UTF-8 becomes U+FFFD; '/', '<', '>' and
// '&' are left alone (unlike encoding/json).
func appendJSONEscaped(dst []byte, s string) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"':
				dst = append(dst, '\\', '"')
			case c == '\\':
				dst = append(dst, '\\', '\\')
			case c == '\n':
				dst = append(dst, '\\', 'n')
			case c == '\r':
				dst = append(dst, '\\', 'r')
			case c == '\t':
				dst = append(dst, '\\', 't')
			case c == '\b':
				dst = append(dst, '\\', 'b')
			case c == '\f':
				dst = append(dst, '\\', 'f')
			case c < 0x20:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			default:
				dst = append(dst, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, "\ufffd"...)
		} else {
			dst = append(dst, s[i:i+size]...)
		}
		i += size
	}
	return dst
}

// ---- JSON (Falco's json_output) ----

// AppendJSON appends the alert as Falco's json_output renders it (json_include_output_property,
// json_include_tags_property and json_include_output_fields_property on, message off):
// {"hostname","output","output_fields","priority","rule","source","tags","time"} with
// keys sorted like nlohmann::json, output_fields typed (numbers stay numbers, missing
// values are null) and including "evt.time" as integer nanoseconds.
func (a *Alert) AppendJSON(dst []byte) []byte {
	dst = append(dst, `{"hostname":"`...)
	dst = appendJSONEscaped(dst, a.Hostname)
	dst = append(dst, `","output":"`...)
	dst = appendClock(dst, a.Time)
	dst = append(dst, ':', ' ')
	dst = append(dst, a.Priority.String()...)
	dst = append(dst, ' ')
	dst = append(dst, a.v.msgJSON...)
	if a.c != nil {
		dst = append(dst, a.c.suffixJSON...)
	}
	dst = append(dst, `","output_fields":{`...)
	dst = a.appendJSONFields(dst)
	dst = append(dst, `},"priority":"`...)
	dst = append(dst, a.Priority.String()...)
	dst = append(dst, '"', ',')
	dst = append(dst, a.Rule.jsonTail()...)
	dst = appendISOTime(dst, a.Time)
	return append(dst, '"', '}')
}

// appendJSONFields merges the variant's, the context's and evt.time in key order.
func (a *Alert) appendJSONFields(dst []byte) []byte {
	vf, vj := a.v.fields, a.v.jfrag
	var cf []Field
	var cj [][]byte
	if a.c != nil {
		cf, cj = a.c.fields, a.c.jfrag
	}
	i, j, timeDone, first := 0, 0, false, true
	for {
		src := -1
		var key string
		if i < len(vf) {
			key, src = vf[i].Key, 0
		}
		if j < len(cf) && (src < 0 || cf[j].Key < key) {
			key, src = cf[j].Key, 1
		}
		if !timeDone && (src < 0 || EvtTimeField < key) {
			src = 2
		}
		if src < 0 {
			return dst
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		switch src {
		case 0:
			dst = append(dst, vj[i]...)
			i++
		case 1:
			dst = append(dst, cj[j]...)
			j++
		default:
			dst = append(dst, `"evt.time":`...)
			dst = strconv.AppendInt(dst, a.Time.UnixNano(), 10)
			timeDone = true
		}
	}
}

// MarshalJSON renders the alert like AppendJSON.
func (a Alert) MarshalJSON() ([]byte, error) { return a.AppendJSON(nil), nil }

// JSONTail caches `"rule":"…","source":"…","tags":[…],"time":"` for a rule.
func (r *Rule) jsonTail() []byte {
	r.encOnce.Do(r.encode)
	return r.jTail
}

func (r *Rule) pbStatic() []byte {
	r.encOnce.Do(r.encode)
	return r.pbRule
}

func (r *Rule) encode() {
	var j []byte
	j = append(j, `"rule":"`...)
	j = appendJSONEscaped(j, r.Name)
	j = append(j, `","source":"`...)
	j = appendJSONEscaped(j, r.Source)
	j = append(j, `","tags":[`...)
	for i, t := range r.Tags {
		if i > 0 {
			j = append(j, ',')
		}
		j = append(j, '"')
		j = appendJSONEscaped(j, t)
		j = append(j, '"')
	}
	j = append(j, `],"time":"`...)
	r.jTail = j

	// Proto: source_deprecated (3), rule (4) — written before output (5); tags (8) and
	// source (9) are written by pbTail.
	var p []byte
	if sd := sourceDeprecated(r.Source); sd != 0 {
		p = appendVarintField(p, 3, uint64(sd))
	}
	p = appendStringField(p, 4, r.Name)
	r.pbRule = p
	var t []byte
	for _, tag := range r.Tags {
		t = appendStringField(t, 8, tag)
	}
	t = appendStringField(t, 9, r.Source)
	r.pbTags = t
}

func sourceDeprecated(src string) schema.Source {
	if v, ok := schema.Source_value[src]; ok {
		return schema.Source(v)
	}
	return schema.Source_PLUGIN // as Falco: unknown names come from plugins
}

// ---- protobuf (Falco's gRPC outputs.Response) ----

// ToProto returns the alert as Falco's gRPC output: every output_fields value is a
// string ("<NA>" when missing), "evt.time" is "HH:MM:SS.nnnnnnnnn", priority is the
// schema.Priority enum (0 = emergency … 7 = debug) and source is field 9.
func (a *Alert) ToProto() *outputs.Response {
	fields := make(map[string]string, len(a.v.fields)+7)
	for _, f := range a.v.fields {
		fields[f.Key] = string(appendValueText(nil, f.Value))
	}
	if a.c != nil {
		for _, f := range a.c.fields {
			fields[f.Key] = string(appendValueText(nil, f.Value))
		}
	}
	fields[EvtTimeField] = string(appendClock(nil, a.Time))
	return &outputs.Response{
		Time:             timestamppb.New(a.Time),
		Priority:         schema.Priority(a.Priority),
		SourceDeprecated: sourceDeprecated(a.Rule.Source),
		Rule:             a.Rule.Name,
		Output:           a.Output(),
		OutputFields:     fields,
		Hostname:         a.Hostname,
		Tags:             append([]string(nil), a.Rule.Tags...),
		Source:           a.Rule.Source,
	}
}

// AppendProto appends the protobuf wire encoding of ToProto() to dst, without building
// the message (this is what the gRPC server sends). proto.Unmarshal of the result
// equals ToProto().
func (a *Alert) AppendProto(dst []byte) []byte {
	// time (1): google.protobuf.Timestamp{seconds=1, nanos=2}
	sec, nsec := a.Time.Unix(), int64(a.Time.Nanosecond())
	tsLen := 0
	if sec != 0 {
		tsLen += 1 + varintLen(uint64(sec))
	}
	if nsec != 0 {
		tsLen += 1 + varintLen(uint64(nsec))
	}
	dst = append(dst, 0x0a)
	dst = appendVarint(dst, uint64(tsLen))
	if sec != 0 {
		dst = appendVarintField(dst, 1, uint64(sec))
	}
	if nsec != 0 {
		dst = appendVarintField(dst, 2, uint64(nsec))
	}
	// priority (2)
	if a.Priority != 0 {
		dst = appendVarintField(dst, 2, uint64(a.Priority))
	}
	// source_deprecated (3), rule (4)
	dst = append(dst, a.Rule.pbStatic()...)
	// output (5)
	dst = append(dst, 0x2a)
	dst = appendVarint(dst, uint64(a.outputLen()))
	dst = a.AppendOutput(dst)
	// output_fields (6)
	dst = append(dst, a.v.pb...)
	if a.c != nil {
		dst = append(dst, a.c.pb...)
	}
	// evt.time entry: key "evt.time" (8 bytes), value "HH:MM:SS.nnnnnnnnn" (18 bytes)
	dst = append(dst, 0x32, 2+8+2+18, 0x0a, 8)
	dst = append(dst, EvtTimeField...)
	dst = append(dst, 0x12, 18)
	dst = appendClock(dst, a.Time)
	// hostname (7)
	if a.Hostname != "" {
		dst = appendStringField(dst, 7, a.Hostname)
	}
	// tags (8), source (9)
	r := a.Rule
	r.encOnce.Do(r.encode)
	return append(dst, r.pbTags...)
}

func varintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

func appendVarint(dst []byte, v uint64) []byte {
	for v >= 0x80 {
		dst = append(dst, byte(v)|0x80)
		v >>= 7
	}
	return append(dst, byte(v))
}

func appendVarintField(dst []byte, field int, v uint64) []byte {
	dst = appendVarint(dst, uint64(field)<<3)
	return appendVarint(dst, v)
}

func appendStringField(dst []byte, field int, s string) []byte {
	dst = appendVarint(dst, uint64(field)<<3|2)
	dst = appendVarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// appendMapEntry appends one output_fields (field 6) map<string,string> entry.
func appendMapEntry(dst []byte, k, v string) []byte {
	n := 1 + varintLen(uint64(len(k))) + len(k) + 1 + varintLen(uint64(len(v))) + len(v)
	dst = append(dst, 0x32)
	dst = appendVarint(dst, uint64(n))
	dst = appendStringField(dst, 1, k)
	return appendStringField(dst, 2, v)
}
