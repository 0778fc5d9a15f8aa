// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package falcoreceiver // import "github.com/otelcol-falco/otelcol-falco/receiver/falcoreceiver"

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configgrpc"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/scraper/scraperhelper"
)

// Config is the configuration of the falco receiver. Both transports are optional blocks:
// naming one (even empty, `grpc:`) enables it with its defaults.
type Config struct {
	// GRPC subscribes to Falco's gRPC output (Falco <= 0.43).
	GRPC configoptional.Optional[GRPCConfig] `mapstructure:"grpc"`
	// HTTP accepts Falco's http_output POSTs (every Falco version, the only one from 0.44 on).
	HTTP configoptional.Optional[HTTPConfig] `mapstructure:"http"`
	// Metrics configures the falco.events sum.
	Metrics MetricsConfig `mapstructure:"metrics"`
	// FalcoMetrics scrapes Falco's own Prometheus metrics (drops, event rates, rule matches) into
	// the metrics pipeline, so the agent needs no Prometheus receiver beside it.
	FalcoMetrics configoptional.Optional[FalcoMetricsConfig] `mapstructure:"falco_metrics"`
	// Spool, given a storage extension, keeps every accepted alert on disk until the logs
	// pipeline took it: a 200 to Falco (or an alert taken off its gRPC stream) survives crashes,
	// restarts and outages of the next hop.
	Spool SpoolConfig `mapstructure:"spool"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// SpoolConfig configures the receiver's durable spool of accepted alerts.
type SpoolConfig struct {
	// Storage is the storage extension holding the spool (pebble_storage, file_storage); none
	// (the default) hands alerts straight to the pipeline.
	Storage *component.ID `mapstructure:"storage"`
	// MaxBytes caps the alerts waiting in the spool, in OTLP-encoded bytes (stored batches are
	// compressed, so the disk holds less); beyond it new alerts are refused
	// (HTTP 503 with Retry-After; gRPC alerts wait in the receiver and in Falco's queue).
	MaxBytes int64 `mapstructure:"max_bytes"`
	// BatchSize is the most log records handed to the pipeline at once.
	BatchSize int `mapstructure:"batch_size"`
	// FlushTimeout is the pause after a hand-off of less than batch_size records, so that the
	// next one gathers what arrives meanwhile (an alert's added delay at most).
	FlushTimeout time.Duration `mapstructure:"flush_timeout"`

	// prevent unkeyed literal initialization
	_ struct{}
}

func (s *SpoolConfig) validate() error {
	if s.Storage == nil {
		return nil
	}
	var errs []error
	if s.MaxBytes < minSpoolBytes {
		errs = append(errs, fmt.Errorf("spool.max_bytes must be at least %d (1 MiB), got %d", minSpoolBytes, s.MaxBytes))
	}
	if s.BatchSize < 1 {
		errs = append(errs, fmt.Errorf("spool.batch_size must be at least 1, got %d", s.BatchSize))
	}
	if s.FlushTimeout < 0 {
		errs = append(errs, fmt.Errorf("spool.flush_timeout must not be negative, got %v", s.FlushTimeout))
	}
	return errors.Join(errs...)
}

// minSpoolBytes leaves room for one request of max_alerts_per_request alerts.
const minSpoolBytes = 1 << 20

// GRPCConfig configures the subscription to Falco's gRPC output service.
type GRPCConfig struct {
	// ClientConfig carries the endpoint (unix:///run/falco/falco.sock or host:port), TLS/mTLS,
	// keepalive and auth. Falco listens without TLS on its unix socket, so TLS is off unless a
	// CA is configured.
	ClientConfig configgrpc.ClientConfig `mapstructure:",squash"`

	// PollInterval is how often an idle receiver asks Falco for queued alerts. Falco only drains
	// its queue in answer to a request; within a second of the last alert the receiver asks every
	// tenth of this interval, so this bounds latency only after a quiet second.
	PollInterval time.Duration `mapstructure:"poll_interval"`

	// Backoff paces reconnects after Falco goes away and retries of alerts the pipeline refused
	// (memory_limiter, a full queue). It never gives up unless max_elapsed_time is set.
	Backoff configretry.BackOffConfig `mapstructure:"backoff"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// HTTPConfig configures the endpoint that takes Falco's http_output POSTs.
type HTTPConfig struct {
	// ServerConfig carries the endpoint (falcosidekick's :2801 by default), TLS, auth extensions
	// and max_request_body_size.
	ServerConfig confighttp.ServerConfig `mapstructure:",squash"`

	// MaxAlertsPerRequest bounds the alerts of one request (413 beyond it): a decoded alert
	// costs several KB however few bytes it had in the body.
	MaxAlertsPerRequest int `mapstructure:"max_alerts_per_request"`
	// MaxConcurrentRequests bounds the batches (bodies over 16 KiB) decoded and delivered at
	// once; with max_request_body_size it also sizes the memory for bodies being read. Small
	// requests (Falco's single alerts) have their own slots and never wait behind batches.
	MaxConcurrentRequests int `mapstructure:"max_concurrent_requests"`
	// MaxConnections bounds the open connections; further ones are closed at once.
	MaxConnections int `mapstructure:"max_connections"`

	// prevent unkeyed literal initialization
	_ struct{}
}

func (h *HTTPConfig) validate() error {
	var errs []error
	if h.ServerConfig.NetAddr.Endpoint == "" {
		errs = append(errs, errors.New(`http.endpoint: empty; use "0.0.0.0:2801" (falcosidekick's port)`))
	}
	for _, limit := range []struct {
		name  string
		value int
	}{{"max_alerts_per_request", h.MaxAlertsPerRequest}, {"max_concurrent_requests", h.MaxConcurrentRequests}, {"max_connections", h.MaxConnections}} {
		if limit.value < 1 {
			errs = append(errs, fmt.Errorf("http.%s must be at least 1, got %d", limit.name, limit.value))
		}
	}
	return errors.Join(errs...)
}

// FalcoMetricsConfig configures the scrape of Falco's webserver /metrics (Falco >= 0.38 with
// webserver.prometheus_metrics_enabled and metrics.enabled).
type FalcoMetricsConfig struct {
	// ClientConfig carries the endpoint (http://localhost:8765/metrics), TLS, headers, auth and
	// timeout of the scrape.
	ClientConfig confighttp.ClientConfig `mapstructure:",squash"`
	// ControllerConfig is scraperhelper's: collection_interval, initial_delay, and timeout (one
	// key with the client's timeout above, so both limit a scrape).
	scraperhelper.ControllerConfig `mapstructure:",squash"`

	// prevent unkeyed literal initialization
	_ struct{}
}

func (f *FalcoMetricsConfig) validate() error {
	var errs []error
	u, err := url.Parse(f.ClientConfig.Endpoint)
	switch {
	case f.ClientConfig.Endpoint == "":
		errs = append(errs, errors.New(`falco_metrics.endpoint: empty; use "http://localhost:8765/metrics"`))
	case err != nil:
		errs = append(errs, fmt.Errorf("falco_metrics.endpoint: %w", err))
	case (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		errs = append(errs, fmt.Errorf("falco_metrics.endpoint %q: want an http(s) URL such as http://localhost:8765/metrics", f.ClientConfig.Endpoint))
	}
	if err := f.ControllerConfig.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("falco_metrics: %w", err))
	}
	return errors.Join(errs...)
}

// MetricsConfig configures the falco.events cumulative sum.
type MetricsConfig struct {
	// ControllerConfig is scraperhelper's: collection_interval (how often the current counts are
	// emitted), initial_delay (before the first emission) and timeout (of one emission).
	scraperhelper.ControllerConfig `mapstructure:",squash"`
	// Attributes are the alert properties that tell series apart: falco.rule, falco.priority,
	// falco.source, falco.tags, or any output_fields key such as evt.type or k8s.ns.name.
	Attributes []string `mapstructure:"attributes"`
	// MaxSeries caps the number of live series, each host's counting separately; further ones
	// are counted into one overflow series marked otel.metric.overflow=true (without host.name).
	MaxSeries int `mapstructure:"max_series"`
	// MaxLabelLength caps each attribute value (and the host name) of a series, in bytes; a longer
	// one is cut and ends with "…". Log records keep the whole value. 0 means the default,
	// DefaultMaxLabelLength.
	MaxLabelLength int `mapstructure:"max_label_length"`
	// SeriesIdleTimeout drops series that have not counted an alert for this long (0 keeps them).
	SeriesIdleTimeout time.Duration `mapstructure:"series_idle_timeout"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// DefaultMaxLabelLength fits every Kubernetes name (a pod name is at most 253 bytes) and Falco's
// rule names and tag lists, while 2,000 series of ten such values stay a few MiB.
const DefaultMaxLabelLength = 256

// minLabelLength leaves room for some of the value beside the truncation marker.
const minLabelLength = 16

func (m *MetricsConfig) maxLabelLength() int {
	if m.MaxLabelLength == 0 {
		return DefaultMaxLabelLength
	}
	return m.MaxLabelLength
}

// Validate checks the configuration for mistakes the user can fix before start.
func (cfg *Config) Validate() error {
	var errs []error
	if !cfg.GRPC.HasValue() && !cfg.HTTP.HasValue() {
		errs = append(errs, errors.New("no transport configured: add a `grpc` block (Falco <= 0.43) and/or an `http` block (Falco's http_output)"))
	}
	if cfg.GRPC.HasValue() {
		errs = append(errs, cfg.GRPC.Get().validate())
	}
	if cfg.HTTP.HasValue() {
		errs = append(errs, cfg.HTTP.Get().validate())
	}
	errs = append(errs, cfg.Metrics.validate(), cfg.Spool.validate())
	if cfg.FalcoMetrics.HasValue() {
		errs = append(errs, cfg.FalcoMetrics.Get().validate())
	}
	return errors.Join(errs...)
}

func (g *GRPCConfig) validate() error {
	if err := validateGRPCEndpoint(g.ClientConfig.Endpoint); err != nil {
		return fmt.Errorf("grpc.endpoint: %w", err)
	}
	if g.PollInterval <= 0 {
		return fmt.Errorf("grpc.poll_interval must be positive, got %v", g.PollInterval)
	}
	return nil
}

// validateGRPCEndpoint accepts Falco's two listener forms: a unix socket URL and host:port.
// configgrpc validates the port itself; here we reject what would only fail at dial time.
func validateGRPCEndpoint(endpoint string) error {
	switch {
	case endpoint == "":
		return errors.New(`empty; use "unix:///run/falco/falco.sock" or "host:5060"`)
	case strings.HasPrefix(endpoint, "unix://"):
		path := strings.TrimPrefix(endpoint, "unix://")
		if !strings.HasPrefix(path, "/") {
			return fmt.Errorf("%q: a unix socket needs an absolute path, as in unix:///run/falco/falco.sock", endpoint)
		}
		return nil
	case strings.HasPrefix(endpoint, "unix:"):
		return fmt.Errorf("%q: write unix sockets as unix:///absolute/path", endpoint)
	case strings.HasPrefix(endpoint, "http://"), strings.HasPrefix(endpoint, "https://"):
		return fmt.Errorf("%q: Falco's gRPC output is not an HTTP URL; use host:port (and `tls` for TLS)", endpoint)
	case strings.Contains(endpoint, "://"):
		if _, err := url.Parse(endpoint); err != nil {
			return fmt.Errorf("%q: %w", endpoint, err)
		}
		return nil
	case !strings.Contains(endpoint, ":"):
		return fmt.Errorf("%q: missing port, as in falco.falco.svc:5060", endpoint)
	}
	return nil
}

func (m *MetricsConfig) validate() error {
	var errs []error
	if err := m.ControllerConfig.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("metrics: %w", err))
	}
	if m.MaxSeries < 1 {
		errs = append(errs, fmt.Errorf("metrics.max_series must be at least 1, got %d", m.MaxSeries))
	}
	if m.MaxLabelLength < 0 || (m.MaxLabelLength > 0 && m.MaxLabelLength < minLabelLength) {
		errs = append(errs, fmt.Errorf("metrics.max_label_length must be 0 (default %d) or at least %d, got %d",
			DefaultMaxLabelLength, minLabelLength, m.MaxLabelLength))
	}
	if m.SeriesIdleTimeout < 0 {
		errs = append(errs, fmt.Errorf("metrics.series_idle_timeout must not be negative, got %v", m.SeriesIdleTimeout))
	}
	seen := make(map[string]bool, len(m.Attributes))
	for _, a := range m.Attributes {
		if a == "" {
			errs = append(errs, errors.New("metrics.attributes: empty attribute name"))
		} else if seen[a] {
			errs = append(errs, fmt.Errorf("metrics.attributes: %q listed twice", a))
		}
		seen[a] = true
	}
	return errors.Join(errs...)
}
