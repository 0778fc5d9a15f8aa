package falcoemu

import (
	"bytes"
	"encoding/json"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/falcosecurity/client-go/pkg/api/outputs"
	"github.com/falcosecurity/client-go/pkg/api/schema"
	"google.golang.org/protobuf/proto"
)

func TestProtoRoundTrip(t *testing.T) {
	g, err := NewGenerator(GeneratorConfig{Seed: 11, Pods: 25, K8sMeta: true, Priorities: AllPriorities(), Clock: time.Now})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3000; i++ {
		a := g.Next()
		want := a.ToProto()
		// The hand-encoded wire form decodes to the same message...
		var got outputs.Response
		if err := proto.Unmarshal(a.AppendProto(nil), &got); err != nil {
			t.Fatal(err)
		}
		if !proto.Equal(&got, want) {
			t.Fatalf("AppendProto != ToProto\n got %v\nwant %v", &got, want)
		}
		// ...and so does the regular marshalling.
		b, err := proto.Marshal(want)
		if err != nil {
			t.Fatal(err)
		}
		var back outputs.Response
		if err := proto.Unmarshal(b, &back); err != nil || !proto.Equal(&back, want) {
			t.Fatal("proto.Marshal round trip", err)
		}
		checkProto(t, &a, want)
	}
}

func checkProto(t *testing.T, a *Alert, r *outputs.Response) {
	t.Helper()
	if r.Priority != schema.Priority(a.Priority) || r.Rule != a.Rule.Name || r.Source != a.Rule.Source || r.Hostname != a.Hostname {
		t.Fatalf("header %v", r)
	}
	if !r.Time.AsTime().Equal(a.Time) {
		t.Fatal("time")
	}
	wantSD := schema.Source_SYSCALL
	if a.Rule.Source == "k8s_audit" {
		wantSD = schema.Source_K8S_AUDIT
	}
	if r.SourceDeprecated != wantSD {
		t.Fatalf("source_deprecated %v", r.SourceDeprecated)
	}
	fs := a.Fields()
	if len(r.OutputFields) != len(fs) {
		t.Fatalf("%d output_fields, want %d", len(r.OutputFields), len(fs))
	}
	for _, f := range fs {
		v, ok := r.OutputFields[f.Key]
		if !ok {
			t.Fatalf("missing %s", f.Key)
		}
		switch {
		case f.Key == EvtTimeField:
			if v != a.Time.UTC().Format("15:04:05.000000000") {
				t.Fatalf("evt.time %q", v)
			}
		case f.Value == nil:
			if v != "<NA>" {
				t.Fatalf("%s: nil rendered %q", f.Key, v)
			}
		}
	}
	if !reflect_sorted(r.Tags) {
		t.Fatal("tags unsorted")
	}
}

func reflect_sorted(s []string) bool { return sort.StringsAreSorted(s) }

var isoTime = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$`)

func TestJSONRendering(t *testing.T) {
	g, err := NewGenerator(GeneratorConfig{Seed: 12, Pods: 10, Clock: time.Now})
	if err != nil {
		t.Fatal(err)
	}
	keys := []string{"hostname", "output", "output_fields", "priority", "rule", "source", "tags", "time"}
	for i := 0; i < 3000; i++ {
		a := g.Next()
		raw := a.AppendJSON(nil)
		var enc bytes.Buffer // encoding/json would HTML-escape '<' unless told not to
		e := json.NewEncoder(&enc)
		e.SetEscapeHTML(false)
		if err := e.Encode(a); err != nil || !bytes.Equal(bytes.TrimSuffix(enc.Bytes(), []byte("\n")), raw) {
			t.Fatalf("MarshalJSON differs: %v", err)
		}
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			t.Fatalf("%v: %s", err, raw)
		}
		if len(m) != len(keys) {
			t.Fatalf("keys %v", m)
		}
		// nlohmann::json dumps keys sorted.
		last := -1
		for _, k := range keys {
			j := bytes.Index(raw, []byte(`"`+k+`":`))
			if j < 0 || j < last {
				t.Fatalf("key %s out of order in %s", k, raw)
			}
			last = j
		}
		if m["priority"] != a.Priority.String() || m["rule"] != a.Rule.Name || m["source"] != a.Rule.Source || m["hostname"] != a.Hostname {
			t.Fatalf("header %s", raw)
		}
		if m["output"] != a.Output() || !isoTime.MatchString(m["time"].(string)) {
			t.Fatalf("output/time %s", raw)
		}
		tm, _ := time.Parse(time.RFC3339Nano, m["time"].(string))
		if !tm.Equal(a.Time) {
			t.Fatal("time value")
		}
		tags := m["tags"].([]any)
		if len(tags) != len(a.Rule.Tags) {
			t.Fatal("tags")
		}
		of := m["output_fields"].(map[string]any)
		fs := a.Fields()
		if len(of) != len(fs) {
			t.Fatalf("output_fields %d want %d", len(of), len(fs))
		}
		for _, f := range fs {
			v := of[f.Key]
			switch x := f.Value.(type) {
			case nil:
				if v != nil {
					t.Fatalf("%s: %v want null", f.Key, v)
				}
			case int64:
				n, ok := v.(json.Number)
				if !ok || n.String() != strings.TrimSpace(string(appendValueText(nil, x))) {
					t.Fatalf("%s: %v (%T) want number %d", f.Key, v, v, x)
				}
			case string:
				if v != x {
					t.Fatalf("%s: %v want %q", f.Key, v, x)
				}
			case bool:
				if v != x {
					t.Fatalf("%s", f.Key)
				}
			}
		}
		// output_fields keys are sorted too.
		start := bytes.Index(raw, []byte(`"output_fields":{`))
		prev := ""
		for _, f := range fs {
			j := bytes.Index(raw[start:], []byte(`"`+f.Key+`":`))
			if j < 0 || f.Key < prev {
				t.Fatal("output_fields order")
			}
			prev = f.Key
		}
	}
}

func TestNewAlertAndEscaping(t *testing.T) {
	r := RuleByName("Terminal shell in container")
	ts := time.Date(2026, 11, 26, 6, 55, 4, 5, time.UTC)
	a := NewAlert(ts, r, PriorityNotice, "node-1", []Field{
		{"evt.type", "execve"}, {"user.name", "root"}, {"user.uid", 0}, {"user.loginuid", -1},
		{"proc.name", "bash"}, {"proc.cmdline", "bash -c \"echo <hi> & \\ \t\x01\""}, {"proc.tty", uint32(34816)},
		{"k8s.ns.name", "prod"}, {"k8s.pod.name", "web-1"}, {"container.privileged", true}, {"evt.time", "ignored"},
	})
	if a.Namespace() != "prod" || a.Pod() != "web-1" || a.EvtType() != "execve" {
		t.Fatal("accessors")
	}
	if v, _ := a.Field("proc.pname"); v != nil {
		t.Fatal("missing format field should be nil")
	}
	want := "06:55:04.000000005: Notice A shell was spawned in a container with an attached terminal | evt_type=execve user=root user_uid=0 user_loginuid=-1 process=bash proc_exepath=<NA> parent=<NA> command=bash -c \"echo <hi> & \\ \t\x01\" terminal=34816 exe_flags=<NA>"
	if a.Output() != want {
		t.Fatalf("output\n%q\n%q", a.Output(), want)
	}
	raw := string(a.AppendJSON(nil))
	for _, s := range []string{
		`"proc.cmdline":"bash -c \"echo <hi> & \\ \t\u0001\""`, `"user.loginuid":-1`, `"user.uid":0`,
		`"proc.tty":34816`, `"container.privileged":true`, `"proc.pname":null`, `"evt.time":1795676104000000005`,
		`"time":"2026-11-26T06:55:04.000000005Z"`, `"priority":"Notice"`,
	} {
		if !strings.Contains(raw, s) {
			t.Errorf("JSON lacks %s\n%s", s, raw)
		}
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		t.Fatal(err)
	}
	var got outputs.Response
	if err := proto.Unmarshal(a.AppendProto(nil), &got); err != nil || !proto.Equal(&got, a.ToProto()) {
		t.Fatal("proto", err)
	}
	if got.OutputFields["container.privileged"] != "true" || got.OutputFields["proc.pname"] != "<NA>" || got.OutputFields["user.loginuid"] != "-1" {
		t.Fatalf("proto fields %v", got.OutputFields)
	}
	// Emergency (0) is omitted on the wire and still decodes as emergency.
	e := NewAlert(ts, r, PriorityEmergency, "", nil)
	if err := proto.Unmarshal(e.AppendProto(nil), &got); err != nil || !proto.Equal(&got, e.ToProto()) || got.Priority != schema.Priority_EMERGENCY {
		t.Fatal("emergency", err)
	}
	if s := string(appendJSONEscaped(nil, "a\xffb/é")); s != "a\ufffdb/é" {
		t.Fatalf("escape %q", s)
	}
	if s := string(appendJSONValue(nil, 2.0)); s != "2.0" {
		t.Fatal(s)
	}
}

func TestCustomRule(t *testing.T) {
	r := &Rule{Name: "My rule", Priority: PriorityAlert, Source: "aws_cloudtrail", Tags: []string{"cloud"},
		Output: "Console login (user=%ct.user ip=%ct.srcip)"}
	a := NewAlert(time.Unix(1, 0), r, r.Priority, "h", []Field{{"ct.user", "bob"}})
	p := a.ToProto()
	if p.SourceDeprecated != schema.Source_PLUGIN || p.OutputFields["ct.srcip"] != "<NA>" || !strings.HasSuffix(p.Output, "Alert Console login (user=bob ip=<NA>)") {
		t.Fatalf("%v", p)
	}
	var got outputs.Response
	if err := proto.Unmarshal(a.AppendProto(nil), &got); err != nil || !proto.Equal(&got, p) {
		t.Fatal(err)
	}
}
