// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package falcoreceiver // import "github.com/otelcol-falco/otelcol-falco/receiver/falcoreceiver"

import (
	"context"
	"fmt"
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
	"google.golang.org/grpc/connectivity"
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
type grpcTransport struct {
	cfg      *GRPCConfig
	r        *falcoReceiver
	host     component.Host
	obsrep   *receiverhelper.ObsReport
	logger   *zap.Logger
	alerts   chan *alert
	free     sync.Pool
	received atomic.Uint64 // alerts read from any stream
	epoch    time.Time     // monotonic origin of lastRecv
	lastRecv atomic.Int64  // when the last alert arrived, as a time.Duration since epoch
}

func newGRPCTransport(cfg *GRPCConfig, r *falcoReceiver, host component.Host) (*grpcTransport, error) {
	obsrep, err := receiverhelper.NewObsReport(receiverhelper.ObsReportSettings{
		ReceiverID: r.settings.ID, Transport: "grpc", LongLivedCtx: true, ReceiverCreateSettings: r.settings,
	})
	if err != nil {
		return nil, err
	}
	return &grpcTransport{
		cfg:    cfg,
		r:      r,
		host:   host,
		obsrep: obsrep,
		logger: r.settings.Logger.With(zap.String("falco.endpoint", cfg.ClientConfig.Endpoint)),
		alerts: make(chan *alert, grpcBufferedAlerts),
		free:   sync.Pool{New: func() any { return &alert{Fields: make([]field, 0, 32)} }},
		epoch:  time.Now(),
	}, nil
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

// subscribeLoop is the one retry loop: subscribe, read until the stream ends, back off, again.
func (t *grpcTransport) subscribeLoop(ctx context.Context) {
	conn, err := t.cfg.ClientConfig.ToClientConn(ctx, t.host.GetExtensions(), t.r.settings.TelemetrySettings,
		configgrpc.WithGrpcDialOption(grpc.WithConnectParams(grpc.ConnectParams{
			// gRPC's own redial backoff starts at 1 s and grows to 2 min; ours paces reconnects.
			Backoff:           grpcbackoff.Config{BaseDelay: t.cfg.Backoff.InitialInterval, Multiplier: 1.6, Jitter: 0.2, MaxDelay: t.cfg.Backoff.MaxInterval},
			MinConnectTimeout: 5 * time.Second,
		})),
		configgrpc.WithGrpcDialOption(grpc.WithInitialWindowSize(flowControlWindow)),
		configgrpc.WithGrpcDialOption(grpc.WithInitialConnWindowSize(flowControlWindow)))
	if err != nil {
		componentstatus.ReportStatus(t.host, componentstatus.NewFatalErrorEvent(fmt.Errorf("falco grpc: %w", err)))
		return
	}
	defer conn.Close()

	bo := newBackOff(t.cfg.Backoff)
	outage := &outageLog{}
	go t.watchConnectivity(ctx, conn, outage)
	for ctx.Err() == nil {
		before := t.received.Load()
		err := t.subscribe(ctx, conn, outage)
		if ctx.Err() != nil {
			return
		}
		if t.received.Load() != before {
			bo.Reset() // the stream worked: the next retry comes fast
		}
		outage.lost(t.logger, err)
		componentstatus.ReportStatus(t.host, componentstatus.NewRecoverableErrorEvent(fmt.Errorf("falco grpc: %w", err)))
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

// subscribe runs one sub stream until it ends and returns why it ended.
func (t *grpcTransport) subscribe(ctx context.Context, conn *grpc.ClientConn, outage *outageLog) error {
	streamCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	// WaitForReady: while Falco is away the stream waits for the channel to reconnect (paced by
	// the connect backoff above) instead of failing fast on every attempt.
	stream, err := conn.NewStream(streamCtx, &outputs.Service_ServiceDesc.Streams[0], outputs.Service_Sub_FullMethodName,
		grpc.ForceCodecV2(alertCodec{}), grpc.WaitForReady(true))
	if err != nil {
		return err
	}
	if err := stream.SendMsg(&outputs.Request{}); err != nil {
		return err
	}
	t.r.connected.Store(1)
	defer t.r.connected.Store(0)
	if outage.recovered(t.logger) {
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
			return err
		}
		t.received.Add(1)
		t.lastRecv.Store(int64(t.sinceEpoch()))
		select {
		case t.alerts <- a:
		case <-ctx.Done():
			cancel()
			<-requestErr
			return ctx.Err()
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

// watchConnectivity reports Falco as unreachable while the channel fails to connect; the
// subscription itself waits for the channel, so without this an outage at start-up would be silent.
func (t *grpcTransport) watchConnectivity(ctx context.Context, conn *grpc.ClientConn, outage *outageLog) {
	for {
		state := conn.GetState()
		if state == connectivity.TransientFailure {
			err := fmt.Errorf("cannot connect to %s", t.cfg.ClientConfig.Endpoint)
			outage.lost(t.logger, err)
			componentstatus.ReportStatus(t.host, componentstatus.NewRecoverableErrorEvent(fmt.Errorf("falco grpc: %w", err)))
		}
		if !conn.WaitForStateChange(ctx, state) {
			return // ctx done
		}
	}
}

// outageLog logs a lost connection once per outage, not once per retry. Both the subscription
// loop and the connectivity watcher report to it.
type outageLog struct {
	mu       sync.Mutex
	down     bool
	since    time.Time
	attempts int
}

func (o *outageLog) lost(logger *zap.Logger, err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.attempts++
	if o.down {
		logger.Debug("Falco gRPC output still unreachable", zap.Int("attempt", o.attempts), zap.Error(err))
		return
	}
	o.down, o.since = true, time.Now()
	logger.Warn("lost Falco gRPC output; reconnecting with backoff", zap.Error(err))
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
