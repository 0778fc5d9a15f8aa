package falcoemu

import (
	"testing"

	"google.golang.org/protobuf/proto"
)

func benchGen(b *testing.B) *Generator {
	g, err := NewGenerator(GeneratorConfig{Seed: 1, Pods: 200, K8sMeta: true})
	if err != nil {
		b.Fatal(err)
	}
	return g
}

// BenchmarkGenerate: one alert from the generator (what Feed does per alert).
func BenchmarkGenerate(b *testing.B) {
	g := benchGen(b)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		_ = g.Next()
	}
}

// BenchmarkGenerateAppendProto: generate + wire-encode (the gRPC server's path).
func BenchmarkGenerateAppendProto(b *testing.B) {
	g := benchGen(b)
	var buf []byte
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		a := g.Next()
		buf = a.AppendProto(buf[:0])
	}
	b.SetBytes(int64(len(buf)))
}

// BenchmarkToProtoMarshal: the conventional path (build outputs.Response, proto.Marshal),
// for comparison.
func BenchmarkToProtoMarshal(b *testing.B) {
	g := benchGen(b)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		a := g.Next()
		if _, err := proto.Marshal(a.ToProto()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGenerateAppendJSON: generate + Falco JSON (the HTTP sender's path).
func BenchmarkGenerateAppendJSON(b *testing.B) {
	g := benchGen(b)
	var buf []byte
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		a := g.Next()
		buf = a.AppendJSON(buf[:0])
	}
	b.SetBytes(int64(len(buf)))
}

func BenchmarkTallyAdd(b *testing.B) {
	g := benchGen(b)
	as := make([]Alert, 1024)
	for i := range as {
		as[i] = g.Next()
	}
	t := NewTally()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		t.Add(&as[i&1023])
	}
}
