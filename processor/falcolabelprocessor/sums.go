// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package falcolabelprocessor // import "github.com/otelcol-falco/otelcol-falco/processor/falcolabelprocessor"

import (
	"hash/maphash"

	"go.opentelemetry.io/collector/pdata/pmetric"
)

// mergeDuplicateSums adds up Sum points that ended with the same identity. Removing Falco-named
// attributes can collapse two incoming series into one, e.g. a rule's alerts in one pod before
// and after the container plugin knew the pod's name (k8smeta.pod.name alone, then both). Two
// points of one cumulative series would make it jump back and forth; their sum is the count of
// the collapsed series, and it stays continuous because the receiver re-emits every series each
// interval with a stable start time.
func (r *metricsRouter) mergeDuplicateSums(rms pmetric.ResourceMetricsSlice, seed maphash.Seed) {
	for i := 0; i < rms.Len(); i++ {
		sms := rms.At(i).ScopeMetrics()
		for j := 0; j < sms.Len(); j++ {
			ms := sms.At(j).Metrics()
			for k := 0; k < ms.Len(); k++ {
				if m := ms.At(k); m.Type() == pmetric.MetricTypeSum && m.Sum().DataPoints().Len() > 1 {
					r.mergeSumPoints(m.Sum().DataPoints(), seed)
				}
			}
		}
	}
}

func (r *metricsRouter) mergeSumPoints(points pmetric.NumberDataPointSlice, seed maphash.Seed) {
	if r.seen == nil {
		r.seen = map[uint64]int32{}
	} else {
		clear(r.seen)
	}
	r.dupe = growBools(r.dupe, points.Len())
	merged := false
	for k := 0; k < points.Len(); k++ {
		p := points.At(k)
		h := hashAttributes(seed, p.Attributes())
		first, ok := r.seen[h]
		if !ok {
			r.seen[h] = int32(k)
			continue
		}
		into := points.At(int(first))
		if !into.Attributes().Equal(p.Attributes()) {
			continue // a hash collision, not a duplicate
		}
		addPoint(into, p)
		r.dupe[k], merged = true, true
	}
	if merged {
		k := 0
		points.RemoveIf(func(pmetric.NumberDataPoint) bool {
			dupe := r.dupe[k]
			k++
			return dupe
		})
	}
}

// addPoint adds p into into: values add up, the series starts at the earlier start time and
// is as recent as the later point.
func addPoint(into, p pmetric.NumberDataPoint) {
	switch {
	case p.ValueType() == pmetric.NumberDataPointValueTypeEmpty:
	case into.ValueType() == pmetric.NumberDataPointValueTypeEmpty:
		if p.ValueType() == pmetric.NumberDataPointValueTypeInt {
			into.SetIntValue(p.IntValue())
		} else {
			into.SetDoubleValue(p.DoubleValue())
		}
	case into.ValueType() == pmetric.NumberDataPointValueTypeInt && p.ValueType() == pmetric.NumberDataPointValueTypeInt:
		into.SetIntValue(into.IntValue() + p.IntValue())
	default:
		into.SetDoubleValue(asDouble(into) + asDouble(p))
	}
	if s := p.StartTimestamp(); s != 0 && (into.StartTimestamp() == 0 || s < into.StartTimestamp()) {
		into.SetStartTimestamp(s)
	}
	if p.Timestamp() > into.Timestamp() {
		into.SetTimestamp(p.Timestamp())
	}
	p.Exemplars().MoveAndAppendTo(into.Exemplars())
	into.SetFlags(into.Flags().WithNoRecordedValue(into.Flags().NoRecordedValue() && p.Flags().NoRecordedValue()))
}

func asDouble(p pmetric.NumberDataPoint) float64 {
	if p.ValueType() == pmetric.NumberDataPointValueTypeInt {
		return float64(p.IntValue())
	}
	return p.DoubleValue()
}
