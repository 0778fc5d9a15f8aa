// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package falcoreceiver // import "github.com/otelcol-falco/otelcol-falco/receiver/falcoreceiver"

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/scraper"
	"go.opentelemetry.io/collector/scraper/scraperhelper"
	"go.uber.org/zap"
)

// maxFalcoMetricsBytes bounds a scrape: Falco's /metrics is tens of kilobytes even with every
// rule matching, so anything far larger is not Falco.
const maxFalcoMetricsBytes = 16 << 20

// falcoMetricsScraperType names the scraper in the scraper controller's own telemetry
// (otelcol_scraper_scraped_metric_points{scraper="falco_metrics"}).
var falcoMetricsScraperType = component.MustNewType("falco_metrics")

// falcoMetricsScraper scrapes Falco's own Prometheus metrics; scraperhelper's controller runs it
// every collection_interval and hands the result to the metrics pipeline.
type falcoMetricsScraper struct {
	cfg      *FalcoMetricsConfig
	settings component.TelemetrySettings
	client   *http.Client
	target   scrapeTarget
	failing  bool // the last scrape failed: log recoveries and only the first failure as a warning
	skipped  bool // a family of an unsupported type was reported once
}

// newFalcoMetricsController is the scraper controller of falco_metrics: a receiver.Metrics
// of its own, which the falco receiver starts and stops with itself.
func newFalcoMetricsController(cfg *FalcoMetricsConfig, r *falcoReceiver) (receiver.Metrics, error) {
	target, err := newScrapeTarget(cfg.ClientConfig.Endpoint)
	if err != nil {
		return nil, fmt.Errorf("falco_metrics.endpoint: %w", err)
	}
	s := &falcoMetricsScraper{cfg: cfg, settings: r.settings.TelemetrySettings, target: target}
	sc, err := scraper.NewMetrics(s.scrapeMetrics, scraper.WithStart(s.start))
	if err != nil {
		return nil, err
	}
	return scraperhelper.NewMetricsController(&cfg.ControllerConfig, r.settings, r.metrics,
		scraperhelper.AddMetricsScraper(falcoMetricsScraperType, sc))
}

func (s *falcoMetricsScraper) start(ctx context.Context, host component.Host) error {
	client, err := s.cfg.ClientConfig.ToClient(ctx, host.GetExtensions(), s.settings)
	if err != nil {
		return fmt.Errorf("falco_metrics: %w", err)
	}
	s.client = client
	return nil
}

// scrapeMetrics never returns an error: a failed scrape is up 0, as Prometheus reports it, and
// is logged once per outage here (the controller would log every failed scrape as an error).
func (s *falcoMetricsScraper) scrapeMetrics(ctx context.Context) (pmetric.Metrics, error) {
	return s.scrape(ctx), nil
}

// scrape returns Falco's metrics and up 1, or only up 0 when Falco cannot be scraped.
func (s *falcoMetricsScraper) scrape(ctx context.Context) pmetric.Metrics {
	now := pcommon.NewTimestampFromTime(time.Now())
	body, err := s.fetch(ctx)
	if err == nil {
		families, perr := parseFalcoMetrics(body)
		if perr == nil {
			md, skipped := falcoMetricsToPdata(families, s.target, now)
			s.recovered(skipped)
			return md
		}
		err = perr
	}
	if ctx.Err() == nil {
		s.failed(err)
	}
	return falcoUnreachable(s.target, now)
}

func (s *falcoMetricsScraper) fetch(ctx context.Context) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.cfg.ClientConfig.Endpoint, http.NoBody)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "text/plain;version=0.0.4")
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		return nil, fmt.Errorf("GET %s: %s", s.cfg.ClientConfig.Endpoint, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxFalcoMetricsBytes+1))
	if err != nil {
		return nil, err
	}
	if len(body) > maxFalcoMetricsBytes {
		return nil, fmt.Errorf("GET %s: more than %d bytes, not Falco's /metrics", s.cfg.ClientConfig.Endpoint, maxFalcoMetricsBytes)
	}
	return body, nil
}

func (s *falcoMetricsScraper) failed(err error) {
	log := s.settings.Logger.Debug
	if !s.failing {
		// Once per outage: Falco restarts with its node, and an agent may start before it.
		log = s.settings.Logger.Warn
	}
	s.failing = true
	log("Cannot scrape Falco's /metrics; up is 0 until it answers (webserver.prometheus_metrics_enabled and metrics.enabled must be on)",
		zap.String("endpoint", s.cfg.ClientConfig.Endpoint), zap.Error(err))
}

func (s *falcoMetricsScraper) recovered(skipped []string) {
	if s.failing {
		s.settings.Logger.Info("Scraping Falco's /metrics again", zap.String("endpoint", s.cfg.ClientConfig.Endpoint))
	}
	s.failing = false
	if len(skipped) > 0 && !s.skipped {
		s.skipped = true
		s.settings.Logger.Info("Skipped Falco metric families of types the falco receiver does not convert (histogram, summary)",
			zap.String("families", strings.Join(skipped, ",")))
	}
}
