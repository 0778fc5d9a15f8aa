// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package falcoreceiver // import "github.com/otelcol-falco/otelcol-falco/receiver/falcoreceiver"

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receiverhelper"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/otelcol-falco/otelcol-falco/receiver/falcoreceiver/internal/metadata"
)

// metricsChunkPoints bounds the falco.events points handed to the metrics pipeline at once.
const metricsChunkPoints = 4096

// dataFormat labels the receiver's own telemetry (otelcol_receiver_accepted_log_records, ...).
const dataFormat = "falco"

// falcoReceiver is one configured falco receiver, shared by its logs and metrics pipelines.
type falcoReceiver struct {
	cfg       *Config
	settings  receiver.Settings
	logs      consumer.Logs    // nil without a logs pipeline
	metrics   consumer.Metrics // nil without a metrics pipeline
	counter   *eventCounter
	telemetry *metadata.TelemetryBuilder
	obsMetric *receiverhelper.ObsReport
	onRemove  func()

	connected atomic.Int64 // live gRPC subscriptions (0 or 1)

	startOnce    sync.Once
	startErr     error
	status       *statusFanout
	shutdownOnce sync.Once
	cancel       context.CancelFunc
	wg           sync.WaitGroup
	grpc         *grpcTransport
	http         *httpTransport
	spool        *spool           // nil without spool.storage or a logs pipeline
	falcoMetrics receiver.Metrics // scraperhelper's controller of the falco_metrics scraper
}

func newFalcoReceiver(cfg *Config, set receiver.Settings, onRemove func()) (*falcoReceiver, error) {
	tb, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	obsMetric, err := receiverhelper.NewObsReport(receiverhelper.ObsReportSettings{
		ReceiverID: set.ID, ReceiverCreateSettings: set,
	})
	if err != nil {
		return nil, err
	}
	r := &falcoReceiver{cfg: cfg, settings: set, telemetry: tb, obsMetric: obsMetric, onRemove: onRemove}
	r.counter = newEventCounter(cfg.Metrics, r.reportOverflow)
	return r, nil
}

// Start starts the configured transports and the metrics loop. Later calls (from the second
// pipeline sharing this receiver) start nothing: they join the status reports and get the first
// call's error.
func (r *falcoReceiver) Start(ctx context.Context, host component.Host) error {
	first := false
	r.startOnce.Do(func() {
		first = true
		r.status = newStatusFanout(host)
		r.status.join(host)
		r.startErr = r.start(ctx, r.status)
	})
	if !first {
		r.status.join(host)
	}
	return r.startErr
}

func (r *falcoReceiver) start(startCtx context.Context, host component.Host) error {
	// Transports outlive Start's context: it ends when Start returns.
	ctx, cancel := context.WithCancel(context.WithoutCancel(startCtx))
	r.cancel = cancel
	if err := r.registerTelemetryCallbacks(); err != nil {
		return err
	}
	if r.cfg.Spool.Storage != nil && r.logs != nil {
		// Before the transports: what an earlier run stored goes out first.
		sp, err := r.openSpool(ctx, host)
		if err != nil {
			return err
		}
		r.spool = sp
		r.wg.Go(func() { sp.run(ctx) })
		if err := r.registerSpoolTelemetry(sp); err != nil {
			return err
		}
	}
	if r.cfg.GRPC.HasValue() {
		// The connection is set up here, so bad TLS files or a missing auth extension fail Start.
		t, err := newGRPCTransport(ctx, r.cfg.GRPC.Get(), r, host)
		if err != nil {
			return err
		}
		r.grpc = t
		t.start(ctx, &r.wg)
	}
	if r.cfg.HTTP.HasValue() {
		t, err := newHTTPTransport(r.cfg.HTTP.Get(), r)
		if err != nil {
			return err
		}
		if err := t.start(ctx, host); err != nil {
			return err
		}
		r.http = t
	}
	if r.metrics != nil {
		r.wg.Go(func() { r.emitMetricsLoop(ctx) })
		if r.cfg.FalcoMetrics.HasValue() {
			c, err := newFalcoMetricsController(r.cfg.FalcoMetrics.Get(), r)
			if err != nil {
				return err
			}
			if err := c.Start(ctx, host); err != nil {
				return err
			}
			r.falcoMetrics = c
		}
	}
	return nil
}

// openSpool gets the spool's storage client and finds what an earlier run left in it.
func (r *falcoReceiver) openSpool(ctx context.Context, host component.Host) (*spool, error) {
	id := *r.cfg.Spool.Storage
	ext, ok := host.GetExtensions()[id]
	if !ok {
		return nil, fmt.Errorf("spool.storage: no extension %q; add it under extensions and service.extensions", id)
	}
	se, ok := ext.(storage.Extension)
	if !ok {
		return nil, fmt.Errorf("spool.storage: extension %q is not a storage extension (use pebble_storage or file_storage)", id)
	}
	client, err := se.GetClient(ctx, component.KindReceiver, r.settings.ID, "spool")
	if err != nil {
		return nil, fmt.Errorf("spool.storage %q: %w", id, err)
	}
	sp := newSpool(client, r.logs, r.settings.Logger, r.cfg.Spool)
	if err := sp.open(ctx); err != nil {
		return nil, errors.Join(err, client.Close(ctx))
	}
	return sp, nil
}

func (r *falcoReceiver) registerSpoolTelemetry(sp *spool) error {
	return errors.Join(
		r.telemetry.RegisterFalcoReceiverSpoolSizeCallback(func(_ context.Context, o metric.Int64Observer) error {
			o.Observe(sp.usage())
			return nil
		}),
		r.telemetry.RegisterFalcoReceiverSpoolCapacityCallback(func(_ context.Context, o metric.Int64Observer) error {
			o.Observe(sp.maxBytes)
			return nil
		}))
}

func (r *falcoReceiver) registerTelemetryCallbacks() error {
	errs := []error{r.telemetry.RegisterFalcoReceiverSeriesCallback(func(_ context.Context, o metric.Int64Observer) error {
		o.Observe(int64(r.counter.seriesCount()))
		return nil
	})}
	// Without a gRPC transport there is no connection to report: a constant 0 would read as an outage.
	if r.cfg.GRPC.HasValue() {
		errs = append(errs, r.telemetry.RegisterFalcoReceiverConnectedCallback(func(_ context.Context, o metric.Int64Observer) error {
			o.Observe(r.connected.Load())
			return nil
		}))
	}
	return errors.Join(errs...)
}

// Shutdown stops the transports, delivers what they still hold, and emits the final counts. It
// returns when ctx ends even if a pipeline is not taking data, so one stuck exporter cannot hang
// the collector's shutdown; the stuck delivery then finishes (or not) in the background.
func (r *falcoReceiver) Shutdown(ctx context.Context) error {
	var err error
	r.shutdownOnce.Do(func() {
		stopped := make(chan error, 1)
		go func() { stopped <- r.stop(ctx) }()
		select {
		case err = <-stopped:
		case <-ctx.Done():
			err = fmt.Errorf("falco receiver: shutdown gave up waiting for the pipelines to take the last alerts: %w", ctx.Err())
		}
		r.telemetry.Shutdown()
		r.onRemove()
	})
	return err
}

func (r *falcoReceiver) stop(ctx context.Context) error {
	var err error
	if r.http != nil {
		// Requests in flight finish their delivery before the final counts go out.
		err = r.http.shutdown(ctx)
	}
	if r.falcoMetrics != nil {
		err = errors.Join(err, r.falcoMetrics.Shutdown(ctx))
	}
	if r.cancel != nil {
		r.cancel()
		r.wg.Wait()
		if r.metrics != nil {
			err = errors.Join(err, r.emitMetrics(ctx))
		}
	}
	if r.spool != nil {
		err = errors.Join(err, r.spool.client.Close(ctx))
	}
	return err
}

// consumeAlerts hands alerts to the pipelines: logs first, then the counts. A retryable refusal
// is returned with nothing counted, so the transport can hold the alerts and offer them again
// (gRPC) or tell the sender to retry (HTTP) without counting twice.
func (r *falcoReceiver) consumeAlerts(ctx context.Context, obsrep *receiverhelper.ObsReport, alerts []*alert, received time.Time) error {
	if len(alerts) == 0 {
		return nil
	}
	var err error
	if next := r.logsNext(); next != nil {
		ctx = obsrep.StartLogsOp(ctx)
		err = next.ConsumeLogs(ctx, alertsToLogs(alerts, received))
		obsrep.EndLogsOp(ctx, dataFormat, len(alerts), err)
		if err != nil && !consumererror.IsPermanent(err) {
			return err
		}
	}
	// A permanent refusal is about the log data; the alerts still happened and are counted.
	r.counter.count(alerts, received)
	return err
}

// logsNext is where accepted alerts go: the spool when there is one (accepted means stored;
// from there the spool, not the sender, delivers them), else the logs pipeline.
func (r *falcoReceiver) logsNext() consumer.Logs {
	if r.spool != nil {
		return r.spool
	}
	return r.logs
}

// emitMetricsLoop emits falco.events after initial_delay and then every collection_interval,
// as scraperhelper's controller would. It is not that controller: one emission is several
// ConsumeMetrics calls (chunks of metricsChunkPoints), and the last one happens at Shutdown.
func (r *falcoReceiver) emitMetricsLoop(ctx context.Context) {
	cc := r.cfg.Metrics.ControllerConfig
	if cc.InitialDelay > 0 {
		select {
		case <-ctx.Done():
			return
		case <-time.After(cc.InitialDelay):
		}
	}
	ticker := time.NewTicker(cc.CollectionInterval)
	defer ticker.Stop()
	for {
		emitCtx, cancel := ctx, context.CancelFunc(func() {})
		if cc.Timeout > 0 {
			emitCtx, cancel = context.WithTimeout(ctx, cc.Timeout)
		}
		if err := r.emitMetrics(emitCtx); err != nil {
			// Counts are cumulative: the next interval carries everything again.
			r.settings.Logger.Debug("falco.events not accepted by the metrics pipeline", zap.Error(err))
		}
		cancel()
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

func (r *falcoReceiver) emitMetrics(ctx context.Context) error {
	return r.counter.snapshotChunks(time.Now(), metricsChunkPoints, func(md pmetric.Metrics) error {
		return r.consumeMetrics(ctx, md)
	})
}

// consumeMetrics hands falco.events or Falco's own metrics to the metrics pipeline.
func (r *falcoReceiver) consumeMetrics(ctx context.Context, md pmetric.Metrics) error {
	points := md.DataPointCount()
	if points == 0 {
		return nil
	}
	ctx = r.obsMetric.StartMetricsOp(ctx)
	err := r.metrics.ConsumeMetrics(ctx, md)
	r.obsMetric.EndMetricsOp(ctx, dataFormat, points, err)
	return err
}

func (r *falcoReceiver) reportOverflow(first bool) {
	r.telemetry.FalcoReceiverOverflowAlerts.Add(context.Background(), 1)
	if first {
		r.settings.Logger.Warn("falco.events reached metrics.max_series; further series are counted into one series marked otel.metric.overflow=true",
			zap.Int("max_series", r.cfg.Metrics.MaxSeries))
	}
}
