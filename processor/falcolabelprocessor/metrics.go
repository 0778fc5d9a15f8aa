// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package falcolabelprocessor // import "github.com/otelcol-falco/otelcol-falco/processor/falcolabelprocessor"

import (
	"context"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

func (p *labelProcessor) processMetrics(_ context.Context, md pmetric.Metrics) (pmetric.Metrics, error) {
	b := p.getBatch()
	defer p.putBatch(b)

	rms := md.ResourceMetrics()
	n := rms.Len() // resources appended while regrouping are destinations, already labeled
	for i := 0; i < n; i++ {
		b.classes = append(b.classes, b.workloads.classOf(rms.At(i).Resource()))
	}
	b.metrics.emptied = growBools(b.metrics.emptied, n)
	moved := false
	for i := 0; i < n; i++ {
		moved = b.regroupMetrics(rms, i) || moved
	}
	if moved {
		i := 0
		rms.RemoveIf(func(pmetric.ResourceMetrics) bool {
			emptied := i < n && b.metrics.emptied[i]
			i++
			return emptied
		})
	}
	if b.lab.removedAny {
		b.metrics.mergeDuplicateSums(rms, p.seed)
	}
	return md, nil
}

// regroupMetrics labels the data points of incoming resource i and moves those of other
// workloads than its home workload to their own resource. It reports whether any point moved.
func (b *batch) regroupMetrics(rms pmetric.ResourceMetricsSlice, i int) bool {
	rm := rms.At(i)
	class := b.classes[i]
	b.groups = b.groups[:0]
	sms := rm.ScopeMetrics()
	for j := 0; j < sms.Len(); j++ {
		ms := sms.At(j).Metrics()
		for k := 0; k < ms.Len(); k++ {
			b.labelMetric(class, ms.At(k))
		}
	}
	if len(b.groups) == 0 {
		b.workloads.applyNodeName(rm.Resource())
		return false
	}

	r := &b.metrics
	r.grow(len(b.workloads.list))
	home := b.homeWorkload()
	stay := !r.hasDest[home] // else an earlier resource already holds the home workload
	r.scopeEmptied = growBools(r.scopeEmptied, sms.Len())
	moved, offset := false, 0
	for j := 0; j < sms.Len(); j++ {
		sm := sms.At(j)
		ms := sm.Metrics()
		r.metricEmptied = growBools(r.metricEmptied, ms.Len())
		scopeMoved := false
		for k := 0; k < ms.Len(); k++ {
			m := ms.At(k)
			count := pointCount(m)
			groups := b.groups[offset : offset+count]
			offset += count
			mv := metricMove{router: r, workloads: b.workloads, rms: rms, rm: rm, sm: sm, m: m, home: home, stay: stay}
			metricMoved, emptied := mv.moveMetric(groups)
			scopeMoved = scopeMoved || metricMoved
			r.metricEmptied[k] = emptied
		}
		if scopeMoved {
			moved = true
			k := 0
			ms.RemoveIf(func(pmetric.Metric) bool {
				emptied := r.metricEmptied[k]
				k++
				return emptied
			})
			r.scopeEmptied[j] = ms.Len() == 0
		}
	}
	if stay { // after the moves: destinations copy the incoming resource as it came
		r.dest[home], r.hasDest[home] = rm, true
		b.workloads.applyIdentity(rm.Resource(), home)
	}
	if moved {
		j := 0
		sms.RemoveIf(func(pmetric.ScopeMetrics) bool {
			emptied := r.scopeEmptied[j]
			j++
			return emptied
		})
		r.emptied[i] = sms.Len() == 0
	}
	return moved
}

func (b *batch) labelMetric(class int32, m pmetric.Metric) {
	switch m.Type() {
	case pmetric.MetricTypeGauge:
		labelPoints(b, class, m.Gauge().DataPoints())
	case pmetric.MetricTypeSum:
		labelPoints(b, class, m.Sum().DataPoints())
	case pmetric.MetricTypeHistogram:
		labelPoints(b, class, m.Histogram().DataPoints())
	case pmetric.MetricTypeExponentialHistogram:
		labelPoints(b, class, m.ExponentialHistogram().DataPoints())
	case pmetric.MetricTypeSummary:
		labelPoints(b, class, m.Summary().DataPoints())
	case pmetric.MetricTypeEmpty:
	}
}

func pointCount(m pmetric.Metric) int {
	switch m.Type() {
	case pmetric.MetricTypeGauge:
		return m.Gauge().DataPoints().Len()
	case pmetric.MetricTypeSum:
		return m.Sum().DataPoints().Len()
	case pmetric.MetricTypeHistogram:
		return m.Histogram().DataPoints().Len()
	case pmetric.MetricTypeExponentialHistogram:
		return m.ExponentialHistogram().DataPoints().Len()
	case pmetric.MetricTypeSummary:
		return m.Summary().DataPoints().Len()
	default:
		return 0
	}
}

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

	seen map[uint64]int32 // mergeDuplicateSums scratch
	dupe []bool
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
