// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package falcoreceiver // import "github.com/otelcol-falco/otelcol-falco/receiver/falcoreceiver"

import (
	"bufio"
	"bytes"
	"fmt"
	"math"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/otelcol-falco/otelcol-falco/receiver/falcoreceiver/internal/metadata"
)

const (
	// upMetric reports each scrape of Falco's /metrics (1 scraped, 0 failed), as Prometheus' own
	// up does, so FalcoMetricsEndpointDown works the same whoever scrapes Falco.
	upMetric = "up"
	// falcoStartMetric is Falco's start time: every Falco counter restarts from zero with it.
	falcoStartMetric = "falcosecurity_falco_start_timestamp_nanoseconds"
)

// scrapeTarget is the resource of Falco's own metrics, named as a Prometheus scrape names it
// (job falco, instance host:port), so dashboards see the same labels as with a Prometheus scrape.
type scrapeTarget struct {
	instance, host, port, scheme string
}

func newScrapeTarget(endpoint string) (scrapeTarget, error) {
	u, err := url.Parse(endpoint)
	if err != nil {
		return scrapeTarget{}, err
	}
	host, port, err := net.SplitHostPort(u.Host)
	if err != nil { // no port in the URL: the scheme's
		host, port = u.Host, "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	return scrapeTarget{instance: net.JoinHostPort(host, port), host: host, port: port, scheme: u.Scheme}, nil
}

func (t scrapeTarget) putResource(attrs pcommon.Map) {
	attrs.PutStr(attrServiceName, serviceName)
	attrs.PutStr("service.instance.id", t.instance)
	attrs.PutStr("server.address", t.host)
	if port, err := strconv.ParseInt(t.port, 10, 64); err == nil {
		attrs.PutInt("server.port", port)
	}
	attrs.PutStr("url.scheme", t.scheme)
}

// parseFalcoMetrics parses Falco's Prometheus text exposition. Falco writes a HELP and a TYPE line
// before every series, which the strict text parser refuses, so repeated ones are dropped first.
func parseFalcoMetrics(body []byte) (map[string]*dto.MetricFamily, error) {
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(bytes.NewReader(firstMetadataOnly(body)))
	if err != nil {
		return nil, fmt.Errorf("falco /metrics: %w", err)
	}
	return families, nil
}

// firstMetadataOnly keeps the first HELP and TYPE line of each metric name and drops the repeats.
func firstMetadataOnly(body []byte) []byte {
	out := make([]byte, 0, len(body))
	seen := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 0, 64*1024), len(body)+1)
	for sc.Scan() {
		line := sc.Bytes()
		if kind, name, ok := metadataLine(line); ok {
			key := kind + " " + name
			if seen[key] {
				continue
			}
			seen[key] = true
		}
		out = append(out, line...)
		out = append(out, '\n')
	}
	return out
}

// metadataLine splits "# HELP name ..." and "# TYPE name ..." lines.
func metadataLine(line []byte) (kind, name string, ok bool) {
	rest, found := bytes.CutPrefix(line, []byte("# "))
	if !found {
		return "", "", false
	}
	fields := bytes.Fields(rest)
	if len(fields) < 2 || (string(fields[0]) != "HELP" && string(fields[0]) != "TYPE") {
		return "", "", false
	}
	return string(fields[0]), string(fields[1]), true
}

// falcoMetricsToPdata converts Falco's metric families: counters become cumulative monotonic sums
// (named without _total, which the Prometheus exporter adds back) starting at Falco's start time,
// gauges and untyped samples become gauges. Falco writes no histograms or summaries; any such
// family is skipped and named in the second result. now stamps samples without a timestamp.
func falcoMetricsToPdata(families map[string]*dto.MetricFamily, target scrapeTarget, now pcommon.Timestamp) (pmetric.Metrics, []string) {
	md := pmetric.NewMetrics()
	metrics := newScrapeScope(md, target)
	start := falcoStartTime(families)
	var skipped []string
	names := make([]string, 0, len(families))
	for name := range families {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		mf := families[name]
		m := pmetric.NewMetric()
		m.SetDescription(mf.GetHelp())
		var dps pmetric.NumberDataPointSlice
		switch mf.GetType() {
		case dto.MetricType_COUNTER:
			m.SetName(strings.TrimSuffix(name, "_total"))
			sum := m.SetEmptySum()
			sum.SetIsMonotonic(true)
			sum.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
			dps = sum.DataPoints()
		case dto.MetricType_GAUGE, dto.MetricType_UNTYPED:
			m.SetName(name)
			dps = m.SetEmptyGauge().DataPoints()
		default:
			skipped = append(skipped, name)
			continue
		}
		for _, sample := range mf.GetMetric() {
			dp := dps.AppendEmpty()
			dp.SetDoubleValue(sampleValue(mf.GetType(), sample))
			dp.SetTimestamp(now)
			if ms := sample.GetTimestampMs(); ms != 0 {
				dp.SetTimestamp(pcommon.Timestamp(ms * 1e6))
			}
			if mf.GetType() == dto.MetricType_COUNTER {
				dp.SetStartTimestamp(start)
			}
			attrs := dp.Attributes()
			attrs.EnsureCapacity(len(sample.GetLabel()))
			for _, l := range sample.GetLabel() {
				attrs.PutStr(l.GetName(), l.GetValue())
			}
		}
		m.MoveTo(metrics.AppendEmpty())
	}
	appendUp(metrics, 1, now)
	return md, skipped
}

// falcoUnreachable is what a failed scrape reports: up 0 for the target, nothing else.
func falcoUnreachable(target scrapeTarget, now pcommon.Timestamp) pmetric.Metrics {
	md := pmetric.NewMetrics()
	appendUp(newScrapeScope(md, target), 0, now)
	return md
}

func newScrapeScope(md pmetric.Metrics, target scrapeTarget) pmetric.MetricSlice {
	rm := md.ResourceMetrics().AppendEmpty()
	target.putResource(rm.Resource().Attributes())
	sm := rm.ScopeMetrics().AppendEmpty()
	sm.Scope().SetName(metadata.ScopeName)
	return sm.Metrics()
}

func appendUp(metrics pmetric.MetricSlice, value float64, now pcommon.Timestamp) {
	m := metrics.AppendEmpty()
	m.SetName(upMetric)
	m.SetDescription("Whether Falco's /metrics was scraped (1) or not (0).")
	dp := m.SetEmptyGauge().DataPoints().AppendEmpty()
	dp.SetTimestamp(now)
	dp.SetDoubleValue(value)
}

func sampleValue(typ dto.MetricType, sample *dto.Metric) float64 {
	switch typ {
	case dto.MetricType_COUNTER:
		return sample.GetCounter().GetValue()
	case dto.MetricType_GAUGE:
		return sample.GetGauge().GetValue()
	}
	return sample.GetUntyped().GetValue()
}

// falcoStartTime is Falco's start time, or 0 (unknown) when Falco does not report it.
func falcoStartTime(families map[string]*dto.MetricFamily) pcommon.Timestamp {
	mf, ok := families[falcoStartMetric]
	if !ok || len(mf.GetMetric()) == 0 {
		return 0
	}
	sample := mf.GetMetric()[0]
	ns := sample.GetGauge().GetValue()
	if mf.GetType() != dto.MetricType_GAUGE {
		ns = sample.GetUntyped().GetValue()
	}
	if ns <= 0 || ns >= math.MaxInt64 || math.IsNaN(ns) {
		return 0
	}
	return pcommon.Timestamp(ns)
}
