// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package falcoreceiver // import "github.com/otelcol-falco/otelcol-falco/receiver/falcoreceiver"

import (
	"cmp"
	"hash/maphash"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/otelcol-falco/otelcol-falco/receiver/falcoreceiver/internal/metadata"
)

// eventCounter keeps the falco.events cumulative sum: one series per distinct set of configured
// attribute values and Falco host, capped at maxSeries (the rest counts into an overflow series).
// Counting is safe from many goroutines; snapshot builds the metrics without holding the lock
// while pdata is written.
type eventCounter struct {
	attrNames []string       // configured attribute names, in output order
	fieldSlot map[string]int // output_fields key -> index in attrNames
	// fieldLens has bit n set when a fieldSlot key is n bytes long (63 for longer): most of an
	// alert's fields are not configured, and a length test is cheaper than the map look-up.
	fieldLens uint64
	ruleSlot  int // index of falco.rule in attrNames, or -1; likewise below
	prioSlot  int
	srcSlot   int
	tagsSlot  int
	maxSeries int
	idle      time.Duration

	mu       sync.Mutex
	series   map[string]*eventSeries
	overflow map[string]*eventSeries // per host
	key      []byte                  // scratch, guarded by mu
	values   []string                // scratch, guarded by mu
	tagBuf   []string                // scratch, guarded by mu
	lastTags []string                // the tags joinTags rendered last, guarded by mu
	lastJoin string
	// onOverflow runs once per alert that lands in an overflow series, with first set the first time.
	onOverflow func(first bool)
	overflowed bool
}

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
		attrNames:  slices.Clone(cfg.Attributes),
		fieldSlot:  map[string]int{},
		ruleSlot:   -1,
		prioSlot:   -1,
		srcSlot:    -1,
		tagsSlot:   -1,
		maxSeries:  cfg.MaxSeries,
		idle:       cfg.SeriesIdleTimeout,
		series:     map[string]*eventSeries{},
		overflow:   map[string]*eventSeries{},
		onOverflow: onOverflow,
	}
	for i, name := range c.attrNames {
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
			c.fieldSlot[name] = i
			c.fieldLens |= keyLenBit(name)
		}
	}
	c.values = make([]string, len(c.attrNames))
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
	host := withoutSeparator(a.Hostname)
	key := append(c.key[:0], host...)
	for _, v := range c.values {
		key = append(key, 0)
		key = append(key, withoutSeparator(v)...)
	}
	c.key = key

	s, ok := c.series[string(key)] // no allocation for the look-up
	if !ok {
		if len(c.series) >= c.maxSeries {
			s = c.overflowSeries(host, now)
			first := !c.overflowed
			c.overflowed = true
			if c.onOverflow != nil {
				c.onOverflow(first)
			}
		} else {
			// The alert's strings point into its message buffer (gRPC) or a decode arena (HTTP);
			// a series keeps slices of its own map key instead, so it pins no alert memory.
			k := string(key)
			s = &eventSeries{key: k, hostLen: len(host), start: pcommon.NewTimestampFromTime(now)}
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

// withoutSeparator keeps series keys unambiguous: a 0 byte, the separator, cannot be part of a
// host or a value (Falco never writes one; a peer could).
func withoutSeparator(s string) string {
	if strings.IndexByte(s, 0) < 0 {
		return s
	}
	return strings.ReplaceAll(s, "\x00", "")
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
	for i := range a.Fields {
		f := &a.Fields[i]
		if c.fieldLens&keyLenBit(f.Key) == 0 {
			continue
		}
		slot, ok := c.fieldSlot[f.Key]
		if !ok {
			continue
		}
		c.values[slot] = metricValue(f.Value)
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

// metricValue renders a field as a metric attribute; Falco's "no value" becomes absent.
func metricValue(v fieldValue) string {
	switch v.Kind {
	case kindInt:
		return strconv.FormatInt(v.Int, 10)
	case kindDouble:
		return strconv.FormatFloat(v.Double, 'g', -1, 64)
	case kindBool:
		return strconv.FormatBool(v.Bool)
	}
	if v.Str == noValue {
		return ""
	}
	return v.Str
}

func (c *eventCounter) overflowSeries(host string, now time.Time) *eventSeries {
	s, ok := c.overflow[host]
	if !ok {
		host = strings.Clone(host) // not the alert's memory
		s = &eventSeries{key: host, hostLen: len(host), overflow: true, start: pcommon.NewTimestampFromTime(now)}
		c.overflow[host] = s
	}
	return s
}

// seriesCount is the number of live series, for the receiver's own telemetry.
func (c *eventCounter) seriesCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.series)
}

type seriesPoint struct {
	s     *eventSeries
	count int64
	group uint64 // valueSetHash, set when the snapshot is emitted in chunks
}

// snapshot drops idle series and returns the current cumulative sum, one ResourceMetrics per
// Falco host. It returns an empty Metrics when nothing was counted yet.
func (c *eventCounter) snapshot(now time.Time) pmetric.Metrics {
	return c.buildMetrics(c.collectPoints(now), pcommon.NewTimestampFromTime(now))
}

// snapshotChunks is snapshot handed to emit in Metrics of about maxPoints points each, so that
// at 100k series neither the receiver nor the exporters behind it hold every point in pdata at
// once. It goes on past a refused chunk (the next interval carries every count again) and
// returns the first error.
//
// Series that may become one downstream stay in one chunk: falcolabel adds up series that end
// with the same identity once Falco's duplicate fields are gone (k8smeta.pod.name alone, then
// with k8s.pod.name), and it can only do so within one batch. Such series share their host and
// their set of distinct values, so chunks are cut only between points of different sets.
func (c *eventCounter) snapshotChunks(now time.Time, maxPoints int, emit func(pmetric.Metrics) error) error {
	points := c.collectPoints(now)
	ts := pcommon.NewTimestampFromTime(now)
	if len(points) > maxPoints {
		seed := maphash.MakeSeed()
		seen := make([]string, 0, len(c.attrNames))
		for i := range points {
			points[i].group, seen = points[i].s.valueSetHash(seed, seen)
		}
		slices.SortFunc(points, func(a, b seriesPoint) int { return cmp.Compare(a.group, b.group) })
	}
	var first error
	for len(points) > 0 {
		n := min(maxPoints, len(points))
		for n < len(points) && points[n].group == points[n-1].group {
			n++
		}
		if err := emit(c.buildMetrics(points[:n], ts)); err != nil && first == nil {
			first = err
		}
		points = points[n:]
	}
	return first
}

// valueSetHash identifies the series' host and set of distinct non-empty values, whatever
// attributes they came from. Equal sets give equal hashes; a collision only joins two groups.
// seen is scratch space, returned for reuse.
func (s *eventSeries) valueSetHash(seed maphash.Seed, seen []string) (uint64, []string) {
	h := maphash.String(seed, s.host())
	seen = seen[:0]
	s.eachValue(func(_ int, v string) {
		if v == "" || slices.Contains(seen, v) {
			return
		}
		seen = append(seen, v)
		h += maphash.String(seed, v) // a sum: the order of the values does not matter
	})
	return h, seen
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
	}
	points := make([]seriesPoint, 0, len(c.series)+len(c.overflow))
	for _, s := range c.series {
		points = append(points, seriesPoint{s: s, count: s.count})
	}
	for _, s := range c.overflow {
		points = append(points, seriesPoint{s: s, count: s.count})
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
