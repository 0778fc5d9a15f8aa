// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package falcoreceiver // import "github.com/otelcol-falco/otelcol-falco/receiver/falcoreceiver"

import (
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/otelcol-falco/otelcol-falco/internal/falcofields"
	"github.com/otelcol-falco/otelcol-falco/receiver/falcoreceiver/internal/metadata"
)

// eventCounter keeps the falco.events cumulative sum: one series per distinct set of configured
// attribute values and Falco host, capped at maxSeries (the rest counts into one overflow
// series, whatever its host). A workload field counts under its configured name from whichever
// of Falco's spellings the alert carries (falcofields.Spellings), so one workload is one series
// and nothing downstream has to add series together. Values longer than maxValueLen are cut.
// Counting is safe from many goroutines; snapshot builds the metrics without holding the lock
// while pdata is written.
type eventCounter struct {
	attrNames []string             // configured attribute names, in output order
	fieldSlot map[string]fieldSlot // output_fields key (any spelling) -> its attribute
	// fieldLens has bit n set when a fieldSlot key is n bytes long (63 for longer): most of an
	// alert's fields are not configured, and a length test is cheaper than the map look-up.
	fieldLens   uint64
	ruleSlot    int // index of falco.rule in attrNames, or -1; likewise below
	prioSlot    int
	srcSlot     int
	tagsSlot    int
	maxSeries   int
	maxValueLen int
	idle        time.Duration

	mu       sync.Mutex
	series   map[string]*eventSeries
	overflow *eventSeries // nil until max_series is reached
	key      []byte       // scratch, guarded by mu
	values   []string     // scratch, guarded by mu
	ranks    []uint8      // scratch: per value, the rank of the spelling it came from
	tagBuf   []string     // scratch, guarded by mu
	lastTags []string     // the tags joinTags rendered last, guarded by mu
	lastJoin string
	// onOverflow runs once per alert that lands in an overflow series, with first set the first time.
	onOverflow func(first bool)
	overflowed bool
}

// fieldSlot places an output field: the attribute it fills and the rank of its spelling (0 is
// preferred: k8s.pod.name beats k8smeta.pod.name).
type fieldSlot struct {
	slot int
	rank uint8
}

// noRank is above every spelling's rank: the value is still missing.
const noRank = 255

type eventSeries struct {
	// key is the series' map key: the host, then each value (aligned with attrNames, "" when the
	// alert had none) behind a 0 byte. Values are read back from it rather than kept apart, which
	// at 100k series saves ~20 MB.
	key      string
	hostLen  int
	overflow bool
	start    pcommon.Timestamp
	count    int64
	lastSeen int64 // unix nanoseconds
}

func newEventCounter(cfg MetricsConfig, onOverflow func(first bool)) *eventCounter {
	c := &eventCounter{
		fieldSlot:   map[string]fieldSlot{},
		ruleSlot:    -1,
		prioSlot:    -1,
		srcSlot:     -1,
		tagsSlot:    -1,
		maxSeries:   cfg.MaxSeries,
		maxValueLen: cfg.maxLabelLength(),
		idle:        cfg.SeriesIdleTimeout,
		series:      map[string]*eventSeries{},
		onOverflow:  onOverflow,
	}
	for _, name := range cfg.Attributes {
		if _, spelled := c.fieldSlot[name]; spelled {
			continue // a second spelling of an earlier attribute (k8smeta.pod.name after k8s.pod.name)
		}
		i := len(c.attrNames)
		c.attrNames = append(c.attrNames, name)
		switch name {
		case attrRule:
			c.ruleSlot = i
		case attrPriority:
			c.prioSlot = i
		case attrSource:
			c.srcSlot = i
		case attrTags:
			c.tagsSlot = i
		default:
			for rank, spelling := range falcofields.Spellings(name) {
				c.fieldSlot[spelling] = fieldSlot{slot: i, rank: uint8(rank)}
				c.fieldLens |= keyLenBit(spelling)
			}
		}
	}
	c.values = make([]string, len(c.attrNames))
	c.ranks = make([]uint8, len(c.attrNames))
	return c
}

// count adds alerts to their series.
func (c *eventCounter) count(alerts []*alert, now time.Time) {
	nowNanos := now.UnixNano()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, a := range alerts {
		c.countOne(a, now, nowNanos)
	}
}

func (c *eventCounter) countOne(a *alert, now time.Time, nowNanos int64) {
	c.collectValues(a)
	key := appendLabelValue(c.key[:0], a.Hostname, c.maxValueLen)
	hostLen := len(key)
	for _, v := range c.values {
		key = append(key, 0)
		key = appendLabelValue(key, v, c.maxValueLen)
	}
	c.key = key

	s, ok := c.series[string(key)] // no allocation for the look-up
	if !ok {
		if len(c.series) >= c.maxSeries {
			s = c.overflowSeries(now)
			first := !c.overflowed
			c.overflowed = true
			if c.onOverflow != nil {
				c.onOverflow(first)
			}
		} else {
			// The alert's strings point into its message buffer (gRPC) or a decode arena (HTTP);
			// a series keeps slices of its own map key instead, so it pins no alert memory.
			k := string(key)
			s = &eventSeries{key: k, hostLen: hostLen, start: pcommon.NewTimestampFromTime(now)}
			c.series[k] = s
		}
	}
	s.count++
	s.lastSeen = nowNanos
}

func (s *eventSeries) host() string { return s.key[:s.hostLen] }

// eachValue calls fn with each configured attribute's index and value (substrings of the key).
func (s *eventSeries) eachValue(fn func(i int, v string)) {
	rest := s.key[s.hostLen:] // "\x00v0\x00v1...": each value behind its separator
	for i := 0; rest != ""; i++ {
		v, _, _ := strings.Cut(rest[1:], "\x00")
		fn(i, v)
		rest = rest[1+len(v):]
	}
}

// truncationMarker ends a label value cut at metrics.max_label_length.
const truncationMarker = "…"

// appendLabelValue appends v to a series key: without 0 bytes, the separator (Falco never writes
// one; a peer could), and cut to at most maxLen bytes, the cut marked, on a UTF-8 boundary. A
// 1 MiB pod name then costs a series key of maxLen bytes and a /metrics line of the same, while
// the log record keeps the whole value.
func appendLabelValue(key []byte, v string, maxLen int) []byte {
	if len(v) <= maxLen && strings.IndexByte(v, 0) < 0 {
		return append(key, v...) // the common case, one pass
	}
	if strings.IndexByte(v, 0) >= 0 {
		v = strings.ReplaceAll(v, "\x00", "")
	}
	if len(v) <= maxLen {
		return append(key, v...)
	}
	cut := max(maxLen-len(truncationMarker), 0)
	for cut > 0 && !utf8.RuneStart(v[cut]) {
		cut--
	}
	return append(append(key, v[:cut]...), truncationMarker...)
}

// collectValues fills c.values with the alert's value for each configured attribute.
func (c *eventCounter) collectValues(a *alert) {
	clear(c.values)
	if c.ruleSlot >= 0 {
		c.values[c.ruleSlot] = a.Rule
	}
	if c.prioSlot >= 0 {
		c.values[c.prioSlot] = a.Priority.lower()
	}
	if c.srcSlot >= 0 {
		c.values[c.srcSlot] = a.Source
	}
	if c.tagsSlot >= 0 {
		c.values[c.tagsSlot] = c.joinTags(a.Tags)
	}
	if len(c.fieldSlot) == 0 {
		return
	}
	ranks := c.ranks
	for i := range ranks {
		ranks[i] = noRank
	}
	for i := range a.Fields {
		f := &a.Fields[i]
		if c.fieldLens&keyLenBit(f.Key) == 0 {
			continue
		}
		place, ok := c.fieldSlot[f.Key]
		if !ok || place.rank >= ranks[place.slot] {
			continue // not configured, or a preferred spelling already gave the value
		}
		if v := metricValue(f.Value); v != "" {
			c.values[place.slot], ranks[place.slot] = v, place.rank
		}
	}
}

func keyLenBit(key string) uint64 { return 1 << min(len(key), 63) }

// joinTags renders tags sorted and comma-joined, reusing the last rendering when the tags are the
// same (alerts of one rule share them), so the common case does not allocate.
func (c *eventCounter) joinTags(tags []string) string {
	if len(tags) == 0 {
		return ""
	}
	if slices.Equal(tags, c.lastTags) {
		return c.lastJoin
	}
	c.lastTags = append(c.lastTags[:0], tags...)
	if !slices.IsSorted(tags) {
		tags = append(c.tagBuf[:0], tags...)
		slices.Sort(tags)
		c.tagBuf = tags
	}
	n := len(tags) - 1
	for _, t := range tags {
		n += len(t)
	}
	buf := make([]byte, 0, n)
	for i, t := range tags {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, t...)
	}
	c.lastJoin = string(buf)
	return c.lastJoin
}

// metricValue renders a field as a metric attribute; Falco's no-value markers become absent.
func metricValue(v fieldValue) string {
	switch v.Kind {
	case kindInt:
		return strconv.FormatInt(v.Int, 10)
	case kindDouble:
		return strconv.FormatFloat(v.Double, 'g', -1, 64)
	case kindBool:
		return strconv.FormatBool(v.Bool)
	}
	if falcofields.IsNoValue(v.Str) {
		return ""
	}
	return v.Str
}

// overflowSeries is the one series beyond max_series, whatever the alert's host: hosts are part
// of a series' identity and count toward max_series like any value, so that no number of distinct
// hostnames can grow the counter. It carries no host.name.
func (c *eventCounter) overflowSeries(now time.Time) *eventSeries {
	if c.overflow == nil {
		c.overflow = &eventSeries{overflow: true, start: pcommon.NewTimestampFromTime(now)}
	}
	return c.overflow
}

// seriesCount is the number of live series but the overflow one, for the receiver's own telemetry.
func (c *eventCounter) seriesCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.series)
}

type seriesPoint struct {
	s     *eventSeries
	count int64
}

// snapshot drops idle series and returns the current cumulative sum, one ResourceMetrics per
// Falco host. It returns an empty Metrics when nothing was counted yet.
func (c *eventCounter) snapshot(now time.Time) pmetric.Metrics {
	return c.buildMetrics(c.collectPoints(now), pcommon.NewTimestampFromTime(now))
}

// snapshotChunks is snapshot handed to emit in Metrics of at most maxPoints points each, so that
// at 100k series neither the receiver nor the exporters behind it hold every point in pdata at
// once. Every series is whole in itself (one workload, one set of values), so any cut between
// points is as good as another, and any batching downstream can cut again. It goes on past a
// refused chunk (the next interval carries every count again) and returns the first error.
func (c *eventCounter) snapshotChunks(now time.Time, maxPoints int, emit func(pmetric.Metrics) error) error {
	points := c.collectPoints(now)
	ts := pcommon.NewTimestampFromTime(now)
	var first error
	for len(points) > 0 {
		n := min(maxPoints, len(points))
		if err := emit(c.buildMetrics(points[:n], ts)); err != nil && first == nil {
			first = err
		}
		points = points[n:]
	}
	return first
}

func (c *eventCounter) buildMetrics(points []seriesPoint, ts pcommon.Timestamp) pmetric.Metrics {
	md := pmetric.NewMetrics()
	byHost := map[string]pmetric.NumberDataPointSlice{}
	for _, p := range points {
		host := p.s.host()
		dps, ok := byHost[host]
		if !ok {
			dps = newEventsMetric(md, host)
			byHost[host] = dps
		}
		dp := dps.AppendEmpty()
		dp.SetStartTimestamp(p.s.start)
		dp.SetTimestamp(ts)
		dp.SetIntValue(p.count)
		attrs := dp.Attributes()
		if p.s.overflow {
			attrs.PutBool(attrOverflow, true)
			continue
		}
		attrs.EnsureCapacity(len(c.attrNames))
		p.s.eachValue(func(i int, v string) {
			if v != "" {
				attrs.PutStr(c.attrNames[i], v)
			}
		})
	}
	return md
}

func (c *eventCounter) collectPoints(now time.Time) []seriesPoint {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.idle > 0 {
		cutoff := now.Add(-c.idle).UnixNano()
		for k, s := range c.series {
			if s.lastSeen < cutoff {
				delete(c.series, k)
			}
		}
		if c.overflow != nil && c.overflow.lastSeen < cutoff {
			c.overflow = nil // it starts again, with a new start time, when next needed
		}
	}
	points := make([]seriesPoint, 0, len(c.series)+1)
	for _, s := range c.series {
		points = append(points, seriesPoint{s: s, count: s.count})
	}
	if c.overflow != nil {
		points = append(points, seriesPoint{s: c.overflow, count: c.overflow.count})
	}
	return points
}

// newEventsMetric adds the falco.events sum for one host and returns its data points.
func newEventsMetric(md pmetric.Metrics, host string) pmetric.NumberDataPointSlice {
	rm := md.ResourceMetrics().AppendEmpty()
	putResource(rm.Resource().Attributes(), host)
	sm := rm.ScopeMetrics().AppendEmpty()
	sm.Scope().SetName(metadata.ScopeName)
	m := sm.Metrics().AppendEmpty()
	m.SetName(eventsMetric)
	m.SetDescription("Falco alerts received, by rule, priority, source, tags and workload.")
	m.SetUnit("{event}")
	sum := m.SetEmptySum()
	sum.SetIsMonotonic(true)
	sum.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
	return sum.DataPoints()
}
