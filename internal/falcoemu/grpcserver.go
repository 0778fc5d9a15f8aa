package falcoemu

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/falcosecurity/client-go/pkg/api/outputs"
	"github.com/falcosecurity/client-go/pkg/api/version"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
)

// GRPCServerConfig configures a GRPCServer.
type GRPCServerConfig struct {
	// Addr is where to listen: "unix:///run/falco/falco.sock", "unix:/path", an
	// absolute path (a unix socket), "tcp://127.0.0.1:5060" or "127.0.0.1:5060"
	// (port 0 picks a free port; see Addr()).
	Addr string
	// QueueSize bounds the shared queue (default 65536).
	QueueSize int
	// DropWhenFull makes Enqueue drop (and count, see Dropped) instead of block when
	// the queue is full, like Falco's outputs queue.
	DropWhenFull bool
	// CertFile and KeyFile enable TLS; ClientCAFile additionally requires client
	// certificates signed by that CA (mTLS, as Falco's gRPC server over the network).
	CertFile, KeyFile, ClientCAFile string
	// Tally counts handed-out alerts (default: a new Tally).
	Tally *Tally
	// StopTimeout bounds Stop's wait for handlers and in-flight data (default 5s);
	// after it Stop closes connections hard.
	StopTimeout time.Duration
	// Version is what /falco.version.service/version answers (default "0.41.3").
	Version string
}

// GRPCServer serves Falco's outputs API (/falco.outputs.service/sub and /get) and
// version API with Falco's semantics: one queue shared by all clients; `sub` sends
// nothing until the client sends a Request, then sends everything in the queue until
// it is empty, then waits for the next Request (one Request per drain); `get` drains
// the queue and ends the stream. An alert counts as handed out once Send returned nil.
//
// A server can be stopped and started again on the same address; the queue, the
// counters and the tally survive. Unlike Falco, an alert popped from the queue whose
// Send fails (client gone) is put back at the head of the queue rather than lost.
type GRPCServer struct {
	cfg   GRPCServerConfig
	tally *Tally
	queue chan Alert

	pmu      sync.Mutex
	pending  []Alert // alerts whose Send failed, served before the queue
	nPending atomic.Int64

	handed   atomic.Uint64
	enqueued atomic.Uint64
	dropped  atomic.Uint64
	requeued atomic.Uint64
	subs     atomic.Int64
	gets     atomic.Int64

	mu      sync.Mutex
	srv     *grpc.Server
	lis     net.Listener
	run     *runState
	addr    string
	network string
	running bool
	creds   credentials.TransportCredentials
	protoV2 encoding.CodecV2
	bufPool mem.BufferPool
}

// runState belongs to one Start..Stop run.
type runState struct {
	stop chan struct{}
	wg   sync.WaitGroup // its handlers
}

// NewGRPCServer creates a server (not started).
func NewGRPCServer(cfg GRPCServerConfig) (*GRPCServer, error) {
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = 65536
	}
	if cfg.StopTimeout <= 0 {
		cfg.StopTimeout = 5 * time.Second
	}
	if cfg.Version == "" {
		cfg.Version = DefaultFalcoVersion
	}
	network, addr, err := ParseListenAddr(cfg.Addr)
	if err != nil {
		return nil, err
	}
	s := &GRPCServer{
		cfg: cfg, tally: cfg.Tally, queue: make(chan Alert, cfg.QueueSize),
		network: network, addr: addr,
		protoV2: encoding.GetCodecV2("proto"),
		bufPool: mem.DefaultBufferPool(),
	}
	if s.tally == nil {
		s.tally = NewTally()
	}
	if cfg.CertFile != "" || cfg.KeyFile != "" {
		c, err := serverTLS(cfg.CertFile, cfg.KeyFile, cfg.ClientCAFile)
		if err != nil {
			return nil, err
		}
		s.creds = credentials.NewTLS(c)
	}
	return s, nil
}

// DefaultFalcoVersion is the Falco version the emulator claims.
const DefaultFalcoVersion = "0.41.3"

// ParseListenAddr turns an address as accepted by GRPCServerConfig.Addr into a
// network ("unix" or "tcp") and address.
func ParseListenAddr(a string) (network, addr string, err error) {
	switch {
	case a == "":
		return "", "", errors.New("grpc: empty address")
	case strings.HasPrefix(a, "unix://"):
		return "unix", strings.TrimPrefix(a, "unix://"), nil
	case strings.HasPrefix(a, "unix:"):
		return "unix", strings.TrimPrefix(a, "unix:"), nil
	case strings.HasPrefix(a, "tcp://"):
		return "tcp", strings.TrimPrefix(a, "tcp://"), nil
	case strings.HasPrefix(a, "/"), strings.HasPrefix(a, "./"):
		return "unix", a, nil
	}
	return "tcp", a, nil
}

func serverTLS(certFile, keyFile, caFile string) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("grpc tls: %w", err)
	}
	c := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("grpc tls: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("grpc tls: no certificate in %s", caFile)
		}
		c.ClientCAs = pool
		c.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return c, nil
}

// Start listens and serves in the background. It removes a stale unix socket first.
func (s *GRPCServer) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.running {
		return errors.New("grpc: already running")
	}
	if s.network == "unix" {
		if fi, err := os.Stat(s.addr); err == nil && fi.Mode()&os.ModeSocket != 0 {
			_ = os.Remove(s.addr)
		}
	}
	lis, err := net.Listen(s.network, s.addr)
	if err != nil {
		return fmt.Errorf("grpc listen: %w", err)
	}
	opts := []grpc.ServerOption{grpc.ForceServerCodecV2(rawCodec{s})}
	if s.creds != nil {
		opts = append(opts, grpc.Creds(s.creds))
	}
	srv := grpc.NewServer(opts...)
	srv.RegisterService(&outputsServiceDesc, s)
	version.RegisterServiceServer(srv, versionServer{v: s.cfg.Version})
	s.srv, s.lis, s.running = srv, lis, true
	s.run = &runState{stop: make(chan struct{})}
	go func() { _ = srv.Serve(lis) }()
	return nil
}

// Addr returns the address being served ("unix:///path" or "host:port").
func (s *GRPCServer) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.network == "unix" {
		return "unix://" + s.addr
	}
	if s.lis != nil {
		return s.lis.Addr().String()
	}
	return s.addr
}

// Stop ends every stream so that each alert already sent reaches its client: it
// tells the handlers to return (after the Send in progress, if any), waits for them,
// then stops the server gracefully. After StopTimeout it closes connections hard.
// The server can be started again.
func (s *GRPCServer) Stop() {
	s.mu.Lock()
	if !s.running {
		s.mu.Unlock()
		return
	}
	srv, run := s.srv, s.run
	s.running = false
	close(run.stop)
	s.mu.Unlock()

	deadline := time.Now().Add(s.cfg.StopTimeout)
	done := make(chan struct{})
	go func() { run.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(time.Until(deadline)):
	}
	gs := make(chan struct{})
	go func() { srv.GracefulStop(); close(gs) }()
	select {
	case <-gs:
	case <-time.After(time.Until(deadline) + 100*time.Millisecond):
		srv.Stop()
		<-gs
	}
	s.mu.Lock()
	s.srv, s.lis = nil, nil
	s.mu.Unlock()
}

// Running reports whether the server is serving.
func (s *GRPCServer) Running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.running
}

// Enqueue puts an alert in the shared queue. When the queue is full it blocks until
// there is room or ctx is done (or, with DropWhenFull, drops the alert and returns
// false).
func (s *GRPCServer) Enqueue(ctx context.Context, a Alert) bool {
	select {
	case s.queue <- a:
		s.enqueued.Add(1)
		return true
	default:
	}
	if s.cfg.DropWhenFull {
		s.dropped.Add(1)
		return false
	}
	select {
	case s.queue <- a:
		s.enqueued.Add(1)
		return true
	case <-ctx.Done():
		return false
	}
}

// Feed generates count alerts (0 = until ctx is done) at rate alerts/s (0 = as fast
// as the queue takes them) and enqueues them, waiting for room in the queue (or, with
// DropWhenFull, dropping). It returns how many it generated: when ctx ends early, the
// alerts enqueued so far plus those dropped.
func (s *GRPCServer) Feed(ctx context.Context, g *Generator, count uint64, rate float64) uint64 {
	p := NewPacer(rate)
	var n uint64
	for count == 0 || n < count {
		batch := 256
		if count > 0 && count-n < uint64(batch) {
			batch = int(count - n)
		}
		k := p.Take(ctx, batch)
		if k == 0 {
			return n
		}
		for i := 0; i < k; i++ {
			a := g.Next()
			if !s.Enqueue(ctx, a) && ctx.Err() != nil {
				return n
			}
			n++
		}
	}
	return n
}

// WaitHandedOut waits until at least n alerts were handed out, or ctx is done.
func (s *GRPCServer) WaitHandedOut(ctx context.Context, n uint64) error {
	t := time.NewTicker(2 * time.Millisecond)
	defer t.Stop()
	for s.handed.Load() < n {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	return nil
}

// HandedOut returns how many alerts were sent successfully.
func (s *GRPCServer) HandedOut() uint64 { return s.handed.Load() }

// Enqueued returns how many alerts entered the queue.
func (s *GRPCServer) Enqueued() uint64 { return s.enqueued.Load() }

// Dropped returns how many alerts Enqueue dropped (DropWhenFull).
func (s *GRPCServer) Dropped() uint64 { return s.dropped.Load() }

// Requeued returns how many alerts were put back after a failed Send.
func (s *GRPCServer) Requeued() uint64 { return s.requeued.Load() }

// QueueLen returns how many alerts wait in the queue.
func (s *GRPCServer) QueueLen() int { return len(s.queue) + int(s.nPending.Load()) }

// Subscribers returns the number of open `sub` streams.
func (s *GRPCServer) Subscribers() int { return int(s.subs.Load()) }

// Getters returns the number of open `get` streams.
func (s *GRPCServer) Getters() int { return int(s.gets.Load()) }

// Tally returns the tally of handed-out alerts.
func (s *GRPCServer) Tally() *Tally { return s.tally }

// ---- service ----

var outputsServiceDesc = grpc.ServiceDesc{
	ServiceName: "falco.outputs.service",
	HandlerType: (*any)(nil),
	Streams: []grpc.StreamDesc{
		{StreamName: "sub", Handler: subHandler, ServerStreams: true, ClientStreams: true},
		{StreamName: "get", Handler: getHandler, ServerStreams: true},
	},
	Metadata: "outputs.proto",
}

type versionServer struct {
	version.UnimplementedServiceServer
	v string
}

func (vs versionServer) Version(context.Context, *version.Request) (*version.Response, error) {
	var maj, mnr, pat uint32
	fmt.Sscanf(vs.v, "%d.%d.%d", &maj, &mnr, &pat)
	return &version.Response{Version: vs.v, Major: maj, Minor: mnr, Patch: pat, EngineVersion: 55}, nil
}

// begin registers a handler with the current run; nil if the server is stopping.
func (s *GRPCServer) begin() *runState {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.running {
		return nil
	}
	s.run.wg.Add(1)
	return s.run
}

func subHandler(srv any, stream grpc.ServerStream) error {
	s := srv.(*GRPCServer)
	run := s.begin()
	if run == nil {
		return nil
	}
	defer run.wg.Done()
	stop := run.stop
	s.subs.Add(1)
	defer s.subs.Add(-1)

	ctx := stream.Context()
	reqCh := make(chan struct{})
	errCh := make(chan error, 1)
	go func() {
		for {
			var req outputs.Request
			if err := stream.RecvMsg(&req); err != nil {
				errCh <- err
				return
			}
			select {
			case reqCh <- struct{}{}:
			case <-ctx.Done():
				return
			}
		}
	}()
	var scratch []byte
	for {
		select {
		case <-reqCh:
		case err := <-errCh:
			if err == io.EOF {
				return nil
			}
			return err
		case <-stop:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
		if err := s.drain(stream, stop, &scratch); err != nil {
			if errors.Is(err, errStopping) {
				return nil
			}
			return err
		}
	}
}

func getHandler(srv any, stream grpc.ServerStream) error {
	s := srv.(*GRPCServer)
	run := s.begin()
	if run == nil {
		return nil
	}
	defer run.wg.Done()
	stop := run.stop
	s.gets.Add(1)
	defer s.gets.Add(-1)
	var req outputs.Request
	if err := stream.RecvMsg(&req); err != nil {
		return err
	}
	var scratch []byte
	if err := s.drain(stream, stop, &scratch); err != nil && !errors.Is(err, errStopping) {
		return err
	}
	return nil
}

var errStopping = errors.New("server stopping")

// drain sends queued alerts until the queue is empty (nil), the server stops
// (errStopping) or a Send fails (its error; the alert is put back).
func (s *GRPCServer) drain(stream grpc.ServerStream, stop chan struct{}, scratch *[]byte) error {
	for {
		select {
		case <-stop:
			return errStopping
		default:
		}
		a, ok := s.pop()
		if !ok {
			return nil
		}
		*scratch = a.AppendProto((*scratch)[:0])
		buf := s.bufPool.Get(len(*scratch))
		copy(*buf, *scratch)
		if err := stream.SendMsg(&rawMsg{buf: buf}); err != nil {
			s.pushFront(a)
			return err
		}
		s.tally.Add(&a)
		s.handed.Add(1)
	}
}

func (s *GRPCServer) pop() (Alert, bool) {
	if s.nPending.Load() > 0 {
		s.pmu.Lock()
		if len(s.pending) > 0 {
			a := s.pending[0]
			s.pending = s.pending[1:]
			s.nPending.Add(-1)
			s.pmu.Unlock()
			return a, true
		}
		s.pmu.Unlock()
	}
	select {
	case a := <-s.queue:
		return a, true
	default:
		return Alert{}, false
	}
}

func (s *GRPCServer) pushFront(a Alert) {
	s.pmu.Lock()
	s.pending = append([]Alert{a}, s.pending...)
	s.nPending.Add(1)
	s.pmu.Unlock()
	s.requeued.Add(1)
}

// rawMsg is an already-encoded outputs.Response in a pooled buffer.
type rawMsg struct{ buf *[]byte }

// rawCodec sends rawMsg bytes as they are and defers everything else to gRPC's proto
// codec. It is installed per server (ForceServerCodecV2), not globally.
type rawCodec struct{ s *GRPCServer }

func (c rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	if m, ok := v.(*rawMsg); ok {
		return mem.BufferSlice{mem.NewBuffer(m.buf, c.s.bufPool)}, nil
	}
	return c.s.protoV2.Marshal(v)
}

func (c rawCodec) Unmarshal(data mem.BufferSlice, v any) error { return c.s.protoV2.Unmarshal(data, v) }

func (c rawCodec) Name() string { return "proto" }
