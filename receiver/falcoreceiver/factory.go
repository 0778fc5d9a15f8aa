// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package falcoreceiver // import "github.com/otelcol-falco/otelcol-falco/receiver/falcoreceiver"

import (
	"context"
	"slices"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configgrpc"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/scraper/scraperhelper"

	"github.com/otelcol-falco/otelcol-falco/receiver/falcoreceiver/internal/metadata"
)

const (
	defaultGRPCEndpoint   = "unix:///run/falco/falco.sock"
	defaultHTTPEndpoint   = "0.0.0.0:2801"
	defaultPollInterval   = 50 * time.Millisecond
	defaultReadBufferSize = 512 * 1024
	// Falco's webserver: webserver.listen_port 8765, /metrics with prometheus_metrics_enabled.
	defaultFalcoMetricsEndpoint = "http://localhost:8765/metrics"
)

// NewFactory creates the factory of the falco receiver.
func NewFactory() receiver.Factory {
	return receiver.NewFactory(
		metadata.Type,
		createDefaultConfig,
		receiver.WithLogs(createLogs, metadata.LogsStability),
		receiver.WithMetrics(createMetrics, metadata.MetricsStability),
	)
}

func createDefaultConfig() component.Config {
	return &Config{
		GRPC:    configoptional.Default(defaultGRPCConfig()),
		HTTP:    configoptional.Default(defaultHTTPConfig()),
		Metrics: defaultMetricsConfig(),
		// Off unless named: Falco serves /metrics only when its webserver is told to.
		FalcoMetrics: configoptional.Default(defaultFalcoMetricsConfig()),
		Spool: SpoolConfig{MaxBytes: defaultSpoolMaxBytes, BatchSize: defaultSpoolBatchSize,
			FlushTimeout: defaultSpoolFlushTimeout},
	}
}

func defaultFalcoMetricsConfig() FalcoMetricsConfig {
	client := confighttp.NewDefaultClientConfig()
	client.Endpoint = defaultFalcoMetricsEndpoint
	client.Timeout = 5 * time.Second
	controller := scraperhelper.NewDefaultControllerConfig()
	controller.CollectionInterval = 10 * time.Second
	controller.Timeout = client.Timeout // the same `timeout` key
	return FalcoMetricsConfig{ClientConfig: client, ControllerConfig: controller}
}

func defaultGRPCConfig() GRPCConfig {
	client := configgrpc.NewDefaultClientConfig()
	client.Endpoint = defaultGRPCEndpoint
	// Falco's socket speaks plaintext; a configured CA turns TLS on (configtls semantics).
	client.TLS.Insecure = true
	client.ReadBufferSize = defaultReadBufferSize
	backoff := configretry.NewDefaultBackOffConfig()
	backoff.InitialInterval = 100 * time.Millisecond
	backoff.MaxInterval = time.Second
	backoff.MaxElapsedTime = 0 // Falco restarts with its node's workloads: never give up
	return GRPCConfig{ClientConfig: client, PollInterval: defaultPollInterval, Backoff: backoff}
}

// HTTP defaults sized for a node agent with a 256Mi limit (GOMEMLIMIT=200MiB), whose queue and
// export to the gateway take ~60 MiB of their own under load: one batch of up to 8 MiB and 5000
// alerts (~25 MiB decoded) at a time, 16 MiB of bodies being read, and 1024 connections
// (~36 KiB each at most). Falco POSTs one ~1-2 KB alert in milliseconds, so the timeouts only
// cut stalled or trickling senders. README.md explains each.
const (
	defaultHTTPMaxBody           = 8 << 20
	defaultHTTPMaxAlerts         = 5000
	defaultHTTPMaxConcurrent     = 1
	defaultHTTPMaxConnections    = 1024
	defaultHTTPReadHeaderTimeout = 5 * time.Second
	defaultHTTPReadTimeout       = 10 * time.Second
)

func defaultHTTPConfig() HTTPConfig {
	server := confighttp.NewDefaultServerConfig()
	server.NetAddr.Endpoint = defaultHTTPEndpoint
	server.MaxRequestBodySize = defaultHTTPMaxBody
	server.ReadHeaderTimeout = defaultHTTPReadHeaderTimeout
	server.ReadTimeout = defaultHTTPReadTimeout
	return HTTPConfig{ServerConfig: server, MaxAlertsPerRequest: defaultHTTPMaxAlerts,
		MaxConcurrentRequests: defaultHTTPMaxConcurrent, MaxConnections: defaultHTTPMaxConnections}
}

// The spool's defaults: 512 MiB hold ~10 minutes of a storm of 1,000 alerts/s (~1 KB each
// encoded) or hours of a normal node's rate; 1000 alerts per hand-off keep the exporter's requests
// large while a batch stays a few MiB in memory; 200 ms is the exporter queue's usual flush_timeout.
const (
	defaultSpoolMaxBytes     = 512 << 20
	defaultSpoolBatchSize    = 1000
	defaultSpoolFlushTimeout = 200 * time.Millisecond
)

func defaultMetricsConfig() MetricsConfig {
	controller := scraperhelper.NewDefaultControllerConfig()
	controller.CollectionInterval = 10 * time.Second
	return MetricsConfig{
		ControllerConfig:  controller,
		Attributes:        slices.Clone(defaultMetricAttributes),
		MaxSeries:         2000, // what a series costs: the receiver README, metrics.max_series
		SeriesIdleTimeout: time.Hour,
	}
}

func createLogs(_ context.Context, set receiver.Settings, cfg component.Config, next consumer.Logs) (receiver.Logs, error) {
	r, err := sharedReceivers.getOrCreate(cfg.(*Config), set)
	if err != nil {
		return nil, err
	}
	r.logs = next
	return r, nil
}

func createMetrics(_ context.Context, set receiver.Settings, cfg component.Config, next consumer.Metrics) (receiver.Metrics, error) {
	r, err := sharedReceivers.getOrCreate(cfg.(*Config), set)
	if err != nil {
		return nil, err
	}
	r.metrics = next
	return r, nil
}
