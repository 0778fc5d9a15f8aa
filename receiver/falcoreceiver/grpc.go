// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package falcoreceiver // import "github.com/otelcol-falco/otelcol-falco/receiver/falcoreceiver"

import (
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/falcosecurity/client-go/pkg/api/outputs"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/config/configgrpc"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/receiver/receiverhelper"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	grpcbackoff "google.golang.org/grpc/backoff"
)

const (
	// maxGRPCBatch bounds how many alerts one ConsumeLogs call carries.
	maxGRPCBatch = 512
	// grpcBufferedAlerts is how many decoded alerts may wait for the pipeline. When it is full the
	// stream is not read, gRPC flow control stops Falco's writes, and alerts wait in Falco's queue.
	grpcBufferedAlerts = 1024
	// activeWindow is how long after the last alert the receiver keeps asking Falco at the fast pace.
	activeWindow = time.Second
	// flowControlWindow is the HTTP/2 stream and connection window. gRPC's 64 KiB default, grown
	// by BDP probing, makes the receiver send a WINDOW_UPDATE every ~12 alerts at high rates;
	// 1 MiB cuts that ~16-fold (~10% less CPU per alert in BenchmarkGRPCStream) and still bounds
	// what the stream buffers while the pipeline refuses alerts (BDP may grow it to 16 MiB).
	flowControlWindow = 1 << 20
)

// grpcTransport subscribes to Falco's gRPC output (/falco.outputs.service/sub) and keeps the
// subscription alive: it reconnects with capped exponential backoff whenever Falco goes away.
//
// Each subscription gets its own gRPC channel, opened only once Falco's endpoint accepts a plain
// connection. While Falco is away no channel exists, so gRPC makes no connection attempts of its
// own and logs nothing (it logs a warning per failed attempt, about one a second); the receiver
// logs one warning per outage.
type grpcTransport struct {
	cfg      *GRPCConfig
	r        *falcoReceiver
	host     component.Host
	obsrep   *receiverhelper.ObsReport
	logger   *zap.Logger
	conn     *grpc.ClientConn // the first channel, built at Start so bad settings fail Start
	probe    endpointProbe
	outage   outageLog
	alerts   chan *alert
	free     sync.Pool
	received atomic.Uint64 // alerts read from any stream
	requests atomic.Uint64 // requests sent to Falco after the first of each subscription
	epoch    time.Time     // monotonic origin of lastRecv
	lastRecv atomic.Int64  // when the last alert arrived, as a time.Duration since epoch
}

func newGRPCTransport(ctx context.Context, cfg *GRPCConfig, r *falcoReceiver, host component.Host) (*grpcTransport, error) {
	obsrep, err := receiverhelper.NewObsReport(receiverhelper.ObsReportSettings{
		ReceiverID: r.settings.ID, Transport: "grpc", LongLivedCtx: true, ReceiverCreateSettings: r.settings,
	})
	if err != nil {
		return nil, err
	}
	t := &grpcTransport{
		cfg:    cfg,
		r:      r,
		host:   host,
		obsrep: obsrep,
		logger: r.settings.Logger.With(zap.String("falco.endpoint", cfg.ClientConfig.Endpoint)),
		probe:  newEndpointProbe(cfg.ClientConfig.Endpoint),
		alerts: make(chan *alert, grpcBufferedAlerts),
		free:   sync.Pool{New: func() any { return &alert{Fields: make([]field, 0, 32)} }},
		epoch:  time.Now(),
	}
	// This checks TLS files, auth extensions and the like, so bad settings fail Start. configgrpc
	// connects the channel at once, and gRPC logs a warning for every failed attempt: when Falco
	// is away, this first channel waits quietly in its dialer until Falco is back.
	var waitForFalco []configgrpc.ToClientConnOption
	if t.probe.reachable(ctx) != nil {
		waitForFalco = []configgrpc.ToClientConnOption{
			configgrpc.WithGrpcDialOption(grpc.WithContextDialer(t.dialWhenReachable)),
			configgrpc.WithGrpcDialOption(grpc.WithConnectParams(grpc.ConnectParams{
				Backoff: grpcbackoff.DefaultConfig, MinConnectTimeout: maxWaitForFalco,
			})),
		}
	}
	if t.conn, err = t.dial(ctx, waitForFalco...); err != nil {
		return nil, fmt.Errorf("falco grpc: %w", err)
	}
	return t, nil
}

// dial opens a gRPC channel to Falco; configgrpc starts connecting it at once.
func (t *grpcTransport) dial(ctx context.Context, extra ...configgrpc.ToClientConnOption) (*grpc.ClientConn, error) {
	opts := append([]configgrpc.ToClientConnOption{
		// Bounds the TCP, TLS and HTTP/2 handshakes of the one attempt a subscription makes.
		configgrpc.WithGrpcDialOption(grpc.WithConnectParams(grpc.ConnectParams{
			Backoff: grpcbackoff.DefaultConfig, MinConnectTimeout: 5 * time.Second,
		})),
		configgrpc.WithGrpcDialOption(grpc.WithInitialWindowSize(flowControlWindow)),
		configgrpc.WithGrpcDialOption(grpc.WithInitialConnWindowSize(flowControlWindow)),
	}, extra...) // later options win
	return t.cfg.ClientConfig.ToClientConn(ctx, t.host.GetExtensions(), t.r.settings.TelemetrySettings, opts...)
}

// dialWhenReachable is the first channel's dialer when Falco was away at Start: it retries the
// endpoint quietly with the backoff settings and returns once something accepts.
func (t *grpcTransport) dialWhenReachable(ctx context.Context, _ string) (net.Conn, error) {
	bo := newBackOff(t.cfg.Backoff)
	for {
		conn, err := t.probe.dial(ctx)
		if err == nil || ctx.Err() != nil {
			return conn, err
		}
		t.outage.lostAndReport(t, err)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(max(bo.NextBackOff(), t.cfg.Backoff.InitialInterval)):
		}
	}
}

func (t *grpcTransport) start(ctx context.Context, wg *sync.WaitGroup) {
	delivered := make(chan struct{})
	wg.Go(func() {
		t.subscribeLoop(ctx)
		close(t.alerts) // the deliverer hands over what is left, then stops
		<-delivered
	})
	go func() {
		defer close(delivered)
		t.deliverLoop(ctx)
	}()
}

// subscribeLoop is the one retry loop: wait for Falco's endpoint, subscribe on a fresh channel,
// read until the stream ends, close the channel, back off, again.
func (t *grpcTransport) subscribeLoop(ctx context.Context) {
	conn := t.conn
	defer func() {
		if conn != nil {
			_ = conn.Close()
		}
	}()
	bo := newBackOff(t.cfg.Backoff)
	for ctx.Err() == nil {
		var err error
		if conn == nil {
			if err = t.probe.reachable(ctx); err == nil {
				conn, err = t.dial(ctx)
			}
		}
		if err == nil {
			var subscribed bool
			subscribed, err = t.subscribe(ctx, conn)
			_ = conn.Close()
			conn = nil
			if subscribed {
				bo.Reset() // the stream worked: the next retry comes fast
			}
		}
		if ctx.Err() != nil {
			return
		}
		t.outage.lostAndReport(t, err)
		wait := bo.NextBackOff()
		if wait == backoff.Stop {
			componentstatus.ReportStatus(t.host, componentstatus.NewPermanentErrorEvent(fmt.Errorf("falco grpc: gave up after backoff.max_elapsed_time: %w", err)))
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// subscribe runs one sub stream until it ends and returns why it ended, and whether the
// subscription was made.
func (t *grpcTransport) subscribe(ctx context.Context, conn *grpc.ClientConn) (bool, error) {
	streamCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Fail fast: when the channel's one connection attempt fails, the loop above backs off and
	// probes quietly instead of leaving gRPC to redial.
	stream, err := conn.NewStream(streamCtx, &outputs.Service_ServiceDesc.Streams[0], outputs.Service_Sub_FullMethodName,
		grpc.ForceCodecV2(alertCodec{}))
	if err != nil {
		return false, err
	}
	if err := stream.SendMsg(&outputs.Request{}); err != nil {
		return false, err
	}
	t.r.connected.Store(1)
	defer t.r.connected.Store(0)
	if t.outage.recovered(t.logger) {
		t.r.telemetry.FalcoReceiverReconnects.Add(ctx, 1)
	}
	componentstatus.ReportStatus(t.host, componentstatus.NewEvent(componentstatus.StatusOK))

	requestErr := make(chan error, 1)
	go func() { requestErr <- t.keepRequesting(streamCtx, stream) }()

	for {
		a := t.free.Get().(*alert)
		a.reset()
		if err := stream.RecvMsg(a); err != nil {
			t.free.Put(a)
			cancel()
			<-requestErr
			return true, err
		}
		t.received.Add(1)
		t.lastRecv.Store(int64(t.sinceEpoch()))
		select {
		case t.alerts <- a:
		case <-ctx.Done():
			cancel()
			<-requestErr
			return true, ctx.Err()
		}
	}
}

// keepRequesting paces the requests that make Falco drain its queue. Falco answers a request by
// sending everything queued and then waits for the next request, so while alerts flow the stream
// only falls silent when a drain ended. The receiver then asks again after a short gap
// (poll_interval/10), and keeps asking at that pace while alerts came within the last second;
// when Falco has been quiet longer it asks every poll_interval. No request goes out while alerts
// are streaming in or while the pipeline is refusing them, so requests never pile up in Falco.
func (t *grpcTransport) keepRequesting(ctx context.Context, stream grpc.ClientStream) error {
	gap := max(t.cfg.PollInterval/10, time.Millisecond)
	ticker := time.NewTicker(gap)
	defer ticker.Stop()
	lastRequest := t.sinceEpoch()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
		now, lastRecv := t.sinceEpoch(), time.Duration(t.lastRecv.Load())
		interval := t.cfg.PollInterval
		if now-lastRecv < activeWindow {
			interval = gap
		}
		if now-lastRecv < gap || now-lastRequest < interval || len(t.alerts) == cap(t.alerts) {
			continue
		}
		if err := stream.SendMsg(&outputs.Request{}); err != nil {
			return err
		}
		t.requests.Add(1)
		lastRequest = now
	}
}

func (t *grpcTransport) sinceEpoch() time.Duration { return time.Since(t.epoch) }

// deliverLoop hands decoded alerts to the pipeline in batches, holding a refused batch (and so,
// through the full channel, the stream) until the pipeline takes it.
func (t *grpcTransport) deliverLoop(ctx context.Context) {
	batch := make([]*alert, 0, maxGRPCBatch)
	for a := range t.alerts {
		batch = append(batch[:0], a)
	fill:
		for len(batch) < maxGRPCBatch {
			select {
			case next, ok := <-t.alerts:
				if !ok {
					break fill
				}
				batch = append(batch, next)
			default:
				break fill
			}
		}
		t.deliver(ctx, batch)
		for _, a := range batch {
			t.free.Put(a)
		}
	}
}

func (t *grpcTransport) deliver(ctx context.Context, batch []*alert) {
	bo := newBackOff(t.cfg.Backoff)
	received := time.Now()
	if t.r.spool != nil {
		t.r.spool.awaitRoom(ctx, time.Second)
	}
	for {
		// During shutdown the pipeline gets one last try with a context that is not cancelled.
		err := t.r.consumeAlerts(context.WithoutCancel(ctx), t.obsrep, batch, received)
		if err == nil {
			return
		}
		wait := bo.NextBackOff()
		if consumererror.IsPermanent(err) || wait == backoff.Stop || ctx.Err() != nil {
			t.logger.Error("dropping Falco alerts the pipeline did not accept", zap.Int("alerts", len(batch)), zap.Error(err))
			return
		}
		t.logger.Debug("pipeline refused Falco alerts; holding the stream and retrying", zap.Duration("wait", wait), zap.Error(err))
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
	}
}

func newBackOff(cfg configretry.BackOffConfig) backoff.BackOff {
	if !cfg.Enabled {
		return backoff.NewConstantBackOff(cfg.InitialInterval)
	}
	b := backoff.NewExponentialBackOff()
	b.InitialInterval = cfg.InitialInterval
	b.RandomizationFactor = cfg.RandomizationFactor
	b.Multiplier = cfg.Multiplier
	b.MaxInterval = cfg.MaxInterval
	b.MaxElapsedTime = cfg.MaxElapsedTime
	b.Reset()
	return b
}

// maxWaitForFalco bounds how long the first channel's dialer waits for a Falco that was away at
// Start; the loop in subscribeLoop takes over after it.
const maxWaitForFalco = 24 * time.Hour

// outageLog logs a lost connection once per outage, not once per retry.
type outageLog struct {
	mu       sync.Mutex
	down     bool
	since    time.Time
	attempts int
}

// lost records a failed attempt and reports whether it began an outage (logged as a warning).
func (o *outageLog) lost(logger *zap.Logger, err error) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.attempts++
	if o.down {
		logger.Debug("Falco gRPC output still unreachable", zap.Int("attempt", o.attempts), zap.Error(err))
		return false
	}
	o.down, o.since = true, time.Now()
	logger.Warn("lost Falco gRPC output; reconnecting with backoff", zap.Error(err))
	return true
}

// lostAndReport records a failed attempt, and reports the outage's start to the collector.
func (o *outageLog) lostAndReport(t *grpcTransport, err error) {
	if o.lost(t.logger, err) {
		componentstatus.ReportStatus(t.host, componentstatus.NewRecoverableErrorEvent(fmt.Errorf("falco grpc: %w", err)))
	}
}

// recovered reports whether a subscription ended an outage (a reconnect), and logs it.
func (o *outageLog) recovered(logger *zap.Logger) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.down {
		logger.Info("subscribed to Falco gRPC output")
		return false
	}
	logger.Info("reconnected to Falco gRPC output", zap.Duration("outage", time.Since(o.since)), zap.Int("attempts", o.attempts))
	o.down, o.attempts = false, 0
	return true
}
