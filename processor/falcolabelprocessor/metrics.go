// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package falcolabelprocessor // import "github.com/otelcol-falco/otelcol-falco/processor/falcolabelprocessor"

import (
	"context"

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
