// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package falcolabelprocessor // import "github.com/otelcol-falco/otelcol-falco/processor/falcolabelprocessor"

import (
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

// dataPoint and pointSlice cover the five pdata data point types.
type dataPoint[P any] interface {
	Attributes() pcommon.Map
	MoveTo(dest P)
}

type pointSlice[S any, P dataPoint[P]] interface {
	Len() int
	At(i int) P
	AppendEmpty() P
	RemoveIf(f func(P) bool)
	MoveAndAppendTo(dest S)
}

func labelPoints[S pointSlice[S, P], P dataPoint[P]](b *batch, class int32, points S) {
	for k := 0; k < points.Len(); k++ {
		b.lab.label(points.At(k).Attributes())
		b.groups = append(b.groups, b.workloads.workloadOf(class, b.lab))
	}
}

// metricMove moves the data points of one incoming metric.
type metricMove struct {
	router    *metricsRouter
	workloads *workloads
	rms       pmetric.ResourceMetricsSlice
	rm        pmetric.ResourceMetrics
	sm        pmetric.ScopeMetrics
	m         pmetric.Metric
	home      int32
	stay      bool
}

func (mv *metricMove) moveMetric(groups []int32) (moved, emptied bool) {
	if len(groups) == 0 {
		return false, false
	}
	mv.router.gen++
	switch mv.m.Type() {
	case pmetric.MetricTypeGauge:
		return movePoints(mv, groups, mv.m.Gauge().DataPoints(), func(m pmetric.Metric) pmetric.NumberDataPointSlice { return m.Gauge().DataPoints() })
	case pmetric.MetricTypeSum:
		return movePoints(mv, groups, mv.m.Sum().DataPoints(), func(m pmetric.Metric) pmetric.NumberDataPointSlice { return m.Sum().DataPoints() })
	case pmetric.MetricTypeHistogram:
		return movePoints(mv, groups, mv.m.Histogram().DataPoints(), func(m pmetric.Metric) pmetric.HistogramDataPointSlice { return m.Histogram().DataPoints() })
	case pmetric.MetricTypeExponentialHistogram:
		return movePoints(mv, groups, mv.m.ExponentialHistogram().DataPoints(), func(m pmetric.Metric) pmetric.ExponentialHistogramDataPointSlice {
			return m.ExponentialHistogram().DataPoints()
		})
	case pmetric.MetricTypeSummary:
		return movePoints(mv, groups, mv.m.Summary().DataPoints(), func(m pmetric.Metric) pmetric.SummaryDataPointSlice { return m.Summary().DataPoints() })
	default:
		return false, false
	}
}

// movePoints moves the points that do not stay to the same metric on their workloads'
// resources. A metric that goes whole to one workload moves as one slice.
func movePoints[S pointSlice[S, P], P dataPoint[P]](mv *metricMove, groups []int32, points S, pointsOf func(pmetric.Metric) S) (moved, emptied bool) {
	stays := func(g int32) bool { return mv.stay && g == mv.home }
	if !stays(groups[0]) && allEqual(groups) {
		points.MoveAndAppendTo(pointsOf(mv.metricFor(groups[0])))
		return true, true
	}
	for k, g := range groups {
		if !stays(g) {
			points.At(k).MoveTo(pointsOf(mv.metricFor(g)).AppendEmpty())
			moved = true
		}
	}
	if moved {
		k := 0
		points.RemoveIf(func(P) bool {
			gone := !stays(groups[k])
			k++
			return gone
		})
	}
	return moved, moved && points.Len() == 0
}

// metricFor returns the metric that receives workload g's points of the incoming metric.
func (mv *metricMove) metricFor(g int32) pmetric.Metric {
	r := mv.router
	if r.metricGen[g] == r.gen {
		return r.metricOf[g]
	}
	if !r.hasDest[g] {
		dest := mv.rms.AppendEmpty()
		mv.rm.Resource().CopyTo(dest.Resource())
		dest.SetSchemaUrl(mv.rm.SchemaUrl())
		mv.workloads.applyIdentity(dest.Resource(), g)
		r.dest[g], r.hasDest[g] = dest, true
	}
	m := matchingMetric(matchingScopeMetrics(r.dest[g].ScopeMetrics(), mv.sm).Metrics(), mv.m)
	r.metricOf[g], r.metricGen[g] = m, r.gen
	return m
}

func matchingScopeMetrics(scopes pmetric.ScopeMetricsSlice, src pmetric.ScopeMetrics) pmetric.ScopeMetrics {
	for j := 0; j < scopes.Len(); j++ {
		if s := scopes.At(j); s.SchemaUrl() == src.SchemaUrl() && sameScope(s.Scope(), src.Scope()) {
			return s
		}
	}
	s := scopes.AppendEmpty()
	src.Scope().CopyTo(s.Scope())
	s.SetSchemaUrl(src.SchemaUrl())
	return s
}

// matchingMetric finds or creates a metric with src's identity and an empty point slice.
func matchingMetric(metrics pmetric.MetricSlice, src pmetric.Metric) pmetric.Metric {
	for j := 0; j < metrics.Len(); j++ {
		if m := metrics.At(j); sameMetric(m, src) {
			return m
		}
	}
	m := metrics.AppendEmpty()
	m.SetName(src.Name())
	m.SetDescription(src.Description())
	m.SetUnit(src.Unit())
	src.Metadata().CopyTo(m.Metadata())
	switch src.Type() {
	case pmetric.MetricTypeGauge:
		m.SetEmptyGauge()
	case pmetric.MetricTypeSum:
		m.SetEmptySum().SetAggregationTemporality(src.Sum().AggregationTemporality())
		m.Sum().SetIsMonotonic(src.Sum().IsMonotonic())
	case pmetric.MetricTypeHistogram:
		m.SetEmptyHistogram().SetAggregationTemporality(src.Histogram().AggregationTemporality())
	case pmetric.MetricTypeExponentialHistogram:
		m.SetEmptyExponentialHistogram().SetAggregationTemporality(src.ExponentialHistogram().AggregationTemporality())
	case pmetric.MetricTypeSummary:
		m.SetEmptySummary()
	case pmetric.MetricTypeEmpty:
	}
	return m
}

func sameMetric(a, b pmetric.Metric) bool {
	if a.Name() != b.Name() || a.Type() != b.Type() || a.Unit() != b.Unit() || a.Description() != b.Description() {
		return false
	}
	switch a.Type() {
	case pmetric.MetricTypeSum:
		return a.Sum().AggregationTemporality() == b.Sum().AggregationTemporality() &&
			a.Sum().IsMonotonic() == b.Sum().IsMonotonic()
	case pmetric.MetricTypeHistogram:
		return a.Histogram().AggregationTemporality() == b.Histogram().AggregationTemporality()
	case pmetric.MetricTypeExponentialHistogram:
		return a.ExponentialHistogram().AggregationTemporality() == b.ExponentialHistogram().AggregationTemporality()
	default:
		return true
	}
}

// metricsRouter knows, within one batch, which resource holds each workload's data points.
type metricsRouter struct {
	dest    []pmetric.ResourceMetrics // per workload
	hasDest []bool

	// Destination metric per workload for the incoming metric being moved, valid when
	// metricGen[workload] == gen.
	metricOf  []pmetric.Metric
	metricGen []uint32
	gen       uint32

	emptied       []bool // per incoming resource: every point moved out
	metricEmptied []bool // per metric of the scope being regrouped

	scopeEmptied []bool // per scope of the resource being regrouped
}

func (r *metricsRouter) reset() {
	clear(r.dest)
	clear(r.hasDest)
	clear(r.metricOf)
	clear(r.metricGen)
	r.gen = 0
}

func (r *metricsRouter) grow(workloads int) {
	for len(r.dest) < workloads {
		r.dest = append(r.dest, pmetric.ResourceMetrics{})
		r.hasDest = append(r.hasDest, false)
		r.metricOf = append(r.metricOf, pmetric.Metric{})
		r.metricGen = append(r.metricGen, 0)
	}
}
