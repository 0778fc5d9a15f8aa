// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package falcoreceiver // import "github.com/otelcol-falco/otelcol-falco/receiver/falcoreceiver"

import (
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

// refreshPeriod is how often snapshotChunks re-sends a series whose count did not change. The
// prometheus exporter forgets a series not updated for metric_expiration (5 min by default), so
// an unchanged but live series must reach it well within that.
const refreshPeriod = time.Minute

// refreshEvery is the number of emissions in refreshPeriod at the given interval (at least 1:
// at an interval of a minute or more every emission sends every series, as before).
func refreshEvery(interval time.Duration) uint64 {
	if interval <= 0 {
		return 1
	}
	return uint64(max(1, refreshPeriod/interval))
}

// due reports whether snapshotChunks sends s this emission: when its count changed since the
// pipeline last accepted it, or when its turn to be refreshed comes. Unchanged series take turns
// by creation order, so that each emission re-sends about 1/refreshEvery of them: at max_series
// with no new alerts in them (the state a flood of distinct pods or hosts leaves behind), an
// emission builds a few hundred points instead of every series, and the pdata the receiver, the
// falcolabel processor and the exporter copy and drop every interval shrinks in proportion.
func (c *eventCounter) due(s *eventSeries) bool {
	return s.count != s.emitted || s.slot%c.refreshEvery == c.emission%c.refreshEvery
}

// snapshotChunks hands emit the series due this emission (due) in Metrics of at most maxPoints
// points each, so that at max_series neither the receiver nor the exporters behind it hold every
// point in pdata at once. Every series is whole in itself (one workload, one set of values), so
// any cut between points is as good as another, and any batching downstream can cut again. It
// goes on past a refused chunk, whose series stay due, and returns the first error.
func (c *eventCounter) snapshotChunks(now time.Time, maxPoints int, emit func(pmetric.Metrics) error) error {
	points := c.collectPoints(now, true)
	ts := pcommon.NewTimestampFromTime(now)
	var first error
	for len(points) > 0 {
		n := min(maxPoints, len(points))
		err := emit(c.buildMetrics(points[:n], ts))
		if err != nil && first == nil {
			first = err
		}
		if err == nil {
			c.accepted(points[:n])
		}
		points = points[n:]
	}
	return first
}

// accepted records the counts the pipeline took, so that unchanged series are not sent again
// until their refresh turn.
func (c *eventCounter) accepted(points []seriesPoint) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range points {
		p.s.emitted = p.count
	}
}
