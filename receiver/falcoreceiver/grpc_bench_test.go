// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package falcoreceiver

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/falcosecurity/client-go/pkg/api/outputs"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/otelcol-falco/otelcol-falco/internal/falcoemu"
)

// BenchmarkGRPCStream reads alerts from the Falco emulator over a unix socket through the
// receiver's codec: transport and decoding per alert (the emulator's side included), with gRPC's
// default client options and with the receiver's (keep the two in step with subscribeLoop).
func BenchmarkGRPCStream(b *testing.B) {
	for _, tt := range []struct {
		name string
		opts []grpc.DialOption
	}{
		{"grpc-defaults", nil},
		{"receiver", []grpc.DialOption{grpc.WithInitialWindowSize(flowControlWindow), grpc.WithInitialConnWindowSize(flowControlWindow)}},
	} {
		b.Run(tt.name, func(b *testing.B) { benchGRPCStream(b, tt.opts) })
	}
}

func benchGRPCStream(b *testing.B, opts []grpc.DialOption) {
	socket := filepath.Join(b.TempDir(), "falco.sock")
	emu, err := falcoemu.NewGRPCServer(falcoemu.GRPCServerConfig{Addr: "unix://" + socket, QueueSize: 4096})
	if err != nil {
		b.Fatal(err)
	}
	if err := emu.Start(); err != nil {
		b.Fatal(err)
	}
	defer emu.Stop()
	gen, err := falcoemu.NewGenerator(falcoemu.GeneratorConfig{Seed: 7, Pods: 10})
	if err != nil {
		b.Fatal(err)
	}
	pregen := make([]falcoemu.Alert, 4096)
	for i := range pregen {
		pregen[i] = gen.Next()
	}
	conn, err := grpc.NewClient("unix://"+socket, append([]grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}, opts...)...)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stream, err := conn.NewStream(ctx, &outputs.Service_ServiceDesc.Streams[0], outputs.Service_Sub_FullMethodName, grpc.ForceCodecV2(alertCodec{}))
	if err != nil {
		b.Fatal(err)
	}
	go func() { // keep the queue full and ask for drains, as the receiver does
		for i := 0; ctx.Err() == nil; i++ {
			emu.Enqueue(ctx, pregen[i%len(pregen)])
		}
	}()
	go func() {
		for ctx.Err() == nil {
			_ = stream.SendMsg(&outputs.Request{})
			time.Sleep(time.Millisecond)
		}
	}()
	a := &alert{Fields: make([]field, 0, 32)}
	b.ReportAllocs()
	b.ResetTimer()
	cpu := processCPU(b)
	for range b.N {
		a.reset()
		if err := stream.RecvMsg(a); err != nil {
			b.Fatal(err)
		}
	}
	// Wall time shares the CPUs with the emulator; the process CPU (client and emulator) is what
	// the options change.
	b.ReportMetric(float64(processCPU(b)-cpu)/float64(b.N), "cpu-ns/op")
}
