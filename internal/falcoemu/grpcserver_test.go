package falcoemu

import (
	"context"
	"errors"
	"io"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/falcosecurity/client-go/pkg/api/outputs"
	"github.com/falcosecurity/client-go/pkg/api/version"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// seqClock returns strictly increasing times so each alert is identifiable by time.
func seqClock() func() time.Time {
	var n atomic.Int64
	base := time.Date(2026, 11, 26, 6, 55, 4, 0, time.UTC).UnixNano()
	return func() time.Time { return time.Unix(0, base+n.Add(1)*1000) }
}

func testGen(t testing.TB, seed int64) *Generator {
	t.Helper()
	g, err := NewGenerator(GeneratorConfig{Seed: seed, Pods: 12, Hostname: "node-a", Clock: seqClock()})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func startServer(t *testing.T, cfg GRPCServerConfig) *GRPCServer {
	t.Helper()
	if cfg.Addr == "" {
		cfg.Addr = "unix://" + filepath.Join(t.TempDir(), "falco.sock")
	}
	s, err := NewGRPCServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

func dial(t *testing.T, s *GRPCServer) *grpc.ClientConn {
	t.Helper()
	cc, err := grpc.NewClient(s.Addr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return cc
}

func enqueueN(t *testing.T, s *GRPCServer, g *Generator, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		if !s.Enqueue(context.Background(), g.Next()) {
			t.Fatal("enqueue failed")
		}
	}
}

// recvAll reads a stream into a channel until it ends.
func recvAll(stream interface {
	Recv() (*outputs.Response, error)
}) (<-chan *outputs.Response, <-chan error) {
	ch := make(chan *outputs.Response, 1<<16)
	errc := make(chan error, 1)
	go func() {
		for {
			r, err := stream.Recv()
			if err != nil {
				errc <- err
				close(ch)
				return
			}
			ch <- r
		}
	}()
	return ch, errc
}

func expectN(t *testing.T, ch <-chan *outputs.Response, n int, within time.Duration) []*outputs.Response {
	t.Helper()
	var got []*outputs.Response
	deadline := time.After(within)
	for len(got) < n {
		select {
		case r, ok := <-ch:
			if !ok {
				t.Fatalf("stream ended after %d of %d", len(got), n)
			}
			got = append(got, r)
		case <-deadline:
			t.Fatalf("got %d of %d alerts", len(got), n)
		}
	}
	return got
}

func expectNone(t *testing.T, ch <-chan *outputs.Response, wait time.Duration) {
	t.Helper()
	select {
	case r := <-ch:
		t.Fatalf("unexpected alert %q", r.Rule)
	case <-time.After(wait):
	}
}

func TestGRPCSubNothingBeforeRequestAndEachRequestDrains(t *testing.T) {
	s := startServer(t, GRPCServerConfig{})
	g := testGen(t, 1)
	enqueueN(t, s, g, 10)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stream, err := outputs.NewServiceClient(dial(t, s)).Sub(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ch, _ := recvAll(stream)
	waitFor(t, func() bool { return s.Subscribers() == 1 })
	expectNone(t, ch, 200*time.Millisecond) // no Request yet
	if s.HandedOut() != 0 || s.QueueLen() != 10 {
		t.Fatalf("handed %d queue %d", s.HandedOut(), s.QueueLen())
	}

	if err := stream.Send(&outputs.Request{}); err != nil {
		t.Fatal(err)
	}
	got := expectN(t, ch, 10, 5*time.Second)
	expectNone(t, ch, 100*time.Millisecond)
	for i, r := range got[1:] {
		if !got[i].Time.AsTime().Before(r.Time.AsTime()) {
			t.Fatal("alerts out of queue order")
		}
	}

	// New alerts wait for the next Request.
	enqueueN(t, s, g, 5)
	expectNone(t, ch, 150*time.Millisecond)
	if err := stream.Send(&outputs.Request{}); err != nil {
		t.Fatal(err)
	}
	expectN(t, ch, 5, 5*time.Second)
	if s.HandedOut() != 15 || s.Tally().Total() != 15 || s.QueueLen() != 0 {
		t.Fatalf("handed %d tally %d queue %d", s.HandedOut(), s.Tally().Total(), s.QueueLen())
	}
	// A Request on an empty queue sends nothing and the stream stays open.
	if err := stream.Send(&outputs.Request{}); err != nil {
		t.Fatal(err)
	}
	expectNone(t, ch, 100*time.Millisecond)
	enqueueN(t, s, g, 3)
	expectNone(t, ch, 100*time.Millisecond)
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met")
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// subscriber keeps a sub stream requesting every few ms and collects what arrives.
func subscriber(ctx context.Context, cl outputs.ServiceClient, got chan<- *outputs.Response) error {
	stream, err := cl.Sub(ctx, grpc.WaitForReady(true))
	if err != nil {
		return err
	}
	go func() {
		t := time.NewTicker(3 * time.Millisecond)
		defer t.Stop()
		for {
			if stream.Send(&outputs.Request{}) != nil {
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-stream.Context().Done():
				return
			case <-t.C:
			}
		}
	}()
	for {
		r, err := stream.Recv()
		if err != nil {
			return err
		}
		got <- r
	}
}

func TestGRPCTwoSubscribersShareOneQueue(t *testing.T) {
	s := startServer(t, GRPCServerConfig{})
	g := testGen(t, 2)
	cl := outputs.NewServiceClient(dial(t, s))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := make(chan *outputs.Response, 1<<16)
	var wg sync.WaitGroup
	counts := make([]atomic.Int64, 2)
	for i := 0; i < 2; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			mine := make(chan *outputs.Response, 1<<16)
			go func() {
				for r := range mine {
					counts[i].Add(1)
					got <- r
				}
			}()
			subscriber(ctx, cl, mine)
			close(mine)
		}(i)
	}
	waitFor(t, func() bool { return s.Subscribers() == 2 })
	const n = 3000
	go s.Feed(ctx, g, n, 0)
	seen := map[int64]bool{}
	deadline := time.After(10 * time.Second)
	for len(seen) < n {
		select {
		case r := <-got:
			ns := r.Time.AsTime().UnixNano()
			if seen[ns] {
				t.Fatalf("alert delivered twice: %s", r.Output)
			}
			seen[ns] = true
		case <-deadline:
			t.Fatalf("received %d of %d", len(seen), n)
		}
	}
	expectNone(t, got, 100*time.Millisecond)
	if s.HandedOut() != n {
		t.Fatalf("handed out %d", s.HandedOut())
	}
	if counts[0].Load() == 0 || counts[1].Load() == 0 {
		t.Logf("one subscriber got everything: %d/%d", counts[0].Load(), counts[1].Load())
	}
	cancel()
	wg.Wait()
	waitFor(t, func() bool { return s.Subscribers() == 0 })
}

func TestGRPCGetDrainsAndEnds(t *testing.T) {
	s := startServer(t, GRPCServerConfig{})
	g := testGen(t, 3)
	enqueueN(t, s, g, 100)
	stream, err := outputs.NewServiceClient(dial(t, s)).Get(context.Background(), &outputs.Request{})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for {
		_, err := stream.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 100 || s.HandedOut() != 100 || s.QueueLen() != 0 {
		t.Fatalf("got %d handed %d queue %d", n, s.HandedOut(), s.QueueLen())
	}
	// get on an empty queue ends at once.
	stream, _ = outputs.NewServiceClient(dial(t, s)).Get(context.Background(), &outputs.Request{})
	if _, err := stream.Recv(); err != io.EOF {
		t.Fatalf("want EOF, got %v", err)
	}
}

func TestGRPCVersion(t *testing.T) {
	s := startServer(t, GRPCServerConfig{})
	v, err := version.NewServiceClient(dial(t, s)).Version(context.Background(), &version.Request{})
	if err != nil {
		t.Fatal(err)
	}
	if v.Version != DefaultFalcoVersion || v.Major != 0 || v.Minor != 41 {
		t.Fatalf("version %+v", v)
	}
}

// The collector-side scenario: the server stops and restarts on the same socket
// while a client keeps reconnecting; nothing handed out may be lost.
func TestGRPCStopRestartLosesNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "falco.sock")
	s := startServer(t, GRPCServerConfig{Addr: "unix://" + path, QueueSize: 4096})
	g := testGen(t, 4)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	got := make(chan *outputs.Response, 1<<17)
	var clientDone sync.WaitGroup
	clientDone.Add(1)
	go func() { // a client that always reconnects
		defer clientDone.Done()
		cc, err := grpc.NewClient("unix://"+path, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Error(err)
			return
		}
		defer cc.Close()
		cl := outputs.NewServiceClient(cc)
		for ctx.Err() == nil {
			err := subscriber(ctx, cl, got)
			if err != nil && !errors.Is(err, io.EOF) && ctx.Err() == nil {
				time.Sleep(5 * time.Millisecond)
			}
		}
	}()

	feedCtx, stopFeed := context.WithCancel(ctx)
	fed := make(chan uint64, 1)
	go func() { fed <- s.Feed(feedCtx, g, 0, 20000) }()

	for i := 0; i < 5; i++ {
		time.Sleep(120 * time.Millisecond)
		s.Stop()
		if s.Subscribers() != 0 {
			t.Fatalf("subscribers after stop: %d", s.Subscribers())
		}
		time.Sleep(30 * time.Millisecond)
		if err := s.Start(); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(100 * time.Millisecond)
	stopFeed()
	total := <-fed
	if err := s.WaitHandedOut(ctxTimeout(t, 10*time.Second), total); err != nil {
		t.Fatalf("handed out %d of %d: %v", s.HandedOut(), total, err)
	}
	seen := map[int64]bool{}
	deadline := time.After(10 * time.Second)
	for uint64(len(seen)) < total {
		select {
		case r := <-got:
			ns := r.Time.AsTime().UnixNano()
			if seen[ns] {
				t.Fatalf("duplicate alert")
			}
			seen[ns] = true
		case <-deadline:
			t.Fatalf("client received %d, server handed out %d (generated %d)", len(seen), s.HandedOut(), total)
		}
	}
	if s.HandedOut() != total || s.Tally().Total() != total {
		t.Fatalf("handed %d tally %d total %d", s.HandedOut(), s.Tally().Total(), total)
	}
	t.Logf("generated %d, requeued after failed sends %d", total, s.Requeued())
	cancel()
	clientDone.Wait()
}

func ctxTimeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func TestGRPCDropWhenFull(t *testing.T) {
	s := startServer(t, GRPCServerConfig{QueueSize: 10, DropWhenFull: true})
	g := testGen(t, 5)
	for i := 0; i < 25; i++ {
		s.Enqueue(context.Background(), g.Next())
	}
	if s.Enqueued() != 10 || s.Dropped() != 15 || s.QueueLen() != 10 {
		t.Fatalf("enqueued %d dropped %d len %d", s.Enqueued(), s.Dropped(), s.QueueLen())
	}
}

func TestParseListenAddr(t *testing.T) {
	for in, want := range map[string][2]string{
		"unix:///run/falco/falco.sock": {"unix", "/run/falco/falco.sock"},
		"unix:/tmp/f.sock":             {"unix", "/tmp/f.sock"},
		"/tmp/f.sock":                  {"unix", "/tmp/f.sock"},
		"127.0.0.1:5060":               {"tcp", "127.0.0.1:5060"},
		"tcp://0.0.0.0:5060":           {"tcp", "0.0.0.0:5060"},
	} {
		n, a, err := ParseListenAddr(in)
		if err != nil || n != want[0] || a != want[1] {
			t.Errorf("%s: %s %s %v", in, n, a, err)
		}
	}
}
