// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-falco/otelcol-falco/internal/falcoemu"
	"github.com/otelcol-falco/otelcol-falco/internal/falcofields"
	"github.com/otelcol-falco/otelcol-falco/internal/testbed"
)

// The SIEM path: Falco → agent (config/agent.yaml, disk queue) → gateway (config/gateway.yaml,
// disk queues) → SIEM (an OTLP/HTTP sink, or Kafka). Every test generates alerts with unique
// timestamps and keeps them, so each record that arrives is matched to the alert it came from:
// lost = generated (or acknowledged) − distinct records matched, duplicates are counted.

const siemExporter = "otlp_http/siem" // the gateway's OTLP exporter to the SIEM

// siemRig is one gateway and one agent wired together on loopback, with the sink as the SIEM.
type siemRig struct {
	sink *testbed.Sink
	tap  *testbed.Sink // the agent's own output, when siemOptions.tap

	gw         *testbed.Collector
	gwConfigs  []string
	gwEnv      map[string]string
	gwQueueDir string

	agent         *testbed.Collector
	agentConfigs  []string
	agentEnv      map[string]string
	agentQueueDir string
	emu           *falcoemu.GRPCServer
	httpURL       string // the agent's Falco http_output endpoint
}

type siemOptions struct {
	gatewayDown     bool              // start only the agent; startGateway later
	tap             bool              // the agent also exports to r.tap
	gatewayEnv      map[string]string // e.g. GATEWAY_LOGS_EXPORTERS, KAFKA_BROKERS
	gatewayOverlays []string          // more --config files for the gateway
	agentEnv        map[string]string
	agentOverlays   []string // more --config files (or yaml: snippets) for the agent
	sinkCountOnly   bool     // the sink counts records without keeping them (figures)
}

func startSIEMRig(t *testing.T, opts siemOptions) *siemRig {
	t.Helper()
	root := testbed.RepoRoot()
	testdata := func(name string) string { return filepath.Join(root, "e2e", "testdata", name) }
	r := &siemRig{sink: testbed.StartSink(t, !opts.sinkCountOnly), gwQueueDir: t.TempDir(), agentQueueDir: t.TempDir()}

	r.gwConfigs = append([]string{filepath.Join(root, "config", "gateway.yaml"), testdata("siem-gateway.yaml")}, opts.gatewayOverlays...)
	r.gwEnv = map[string]string{
		"OTLP_GRPC_ENDPOINT":  testbed.FreeAddr(t),
		"OTLP_HTTP_ENDPOINT":  testbed.FreeAddr(t),
		"SIEM_OTLP_ENDPOINT":  r.sink.Endpoint(),
		"PROMETHEUS_ENDPOINT": testbed.FreeAddr(t),
		"FILE_STORAGE_DIR":    r.gwQueueDir,
		// StartCollector would pick these on each start; a restarted gateway keeps its ports.
		"HEALTH_CHECK_ENDPOINT": testbed.FreeAddr(t),
		"TELEMETRY_PORT":        fmt.Sprint(testbed.FreePort(t)),
	}
	for k, v := range opts.gatewayEnv {
		r.gwEnv[k] = v
	}
	if !opts.gatewayDown {
		r.startGateway(t)
	}

	socket := filepath.Join(t.TempDir(), "falco.sock")
	r.emu = startEmulator(t, socket)
	httpAddr := testbed.FreeAddr(t)
	r.httpURL = "http://" + httpAddr + "/"
	r.agentConfigs = append([]string{filepath.Join(root, "config", "agent.yaml"), testdata("siem-agent.yaml")}, opts.agentOverlays...)
	r.agentEnv = map[string]string{
		"FALCO_GRPC_ENABLED":     "true", // gRPC is opt-in (Falco <= 0.43); the emulator feeds it
		"FALCO_GRPC_ENDPOINT":    "unix://" + socket,
		"FALCO_HTTP_ENDPOINT":    httpAddr,
		"FALCO_METRICS_INTERVAL": "1s",
		"FALCO_METRICS_TARGET":   testbed.FreeAddr(t), // no Falco /metrics in these tests
		"PROMETHEUS_ENDPOINT":    testbed.FreeAddr(t),
		"K8S_NODE_NAME":          "e2e-node",
		"GATEWAY_OTLP_ENDPOINT":  r.gwEnv["OTLP_GRPC_ENDPOINT"],
		"FILE_STORAGE_DIR":       r.agentQueueDir,
		"HEALTH_CHECK_ENDPOINT":  testbed.FreeAddr(t),
		"TELEMETRY_PORT":         fmt.Sprint(testbed.FreePort(t)),
	}
	for k, v := range opts.agentEnv {
		r.agentEnv[k] = v
	}
	if opts.tap {
		r.tap = testbed.StartSink(t, true)
		r.agentEnv["TAP_ENDPOINT"] = r.tap.Endpoint()
		r.agentConfigs = append(r.agentConfigs, testdata("siem-agent-tap.yaml"))
	}
	r.agent = testbed.StartCollector(t, testbed.CollectorOptions{Configs: r.agentConfigs, Env: r.agentEnv})
	return r
}

// startGateway starts the gateway the first time, or again after Kill/Stop.
func (r *siemRig) startGateway(t *testing.T) {
	t.Helper()
	if r.gw == nil {
		r.gw = testbed.StartCollector(t, testbed.CollectorOptions{Configs: r.gwConfigs, Env: r.gwEnv})
		return
	}
	r.gw.Restart(t, r.gwConfigs)
}

func telemetryURL(c *testbed.Collector) string {
	return "http://127.0.0.1:" + c.Env["TELEMETRY_PORT"] + "/metrics"
}

// scrape reads one of a collector's own metrics, summed over the series matching the labels.
func scrape(c *testbed.Collector, metric string, match ...string) float64 {
	v, _ := testbed.ScrapeSum(telemetryURL(c), metric, match...)
	return v
}

// spoolBytes is what the agent holds on disk for the gateway: the falco receiver's spool.
func spoolBytes(agent *testbed.Collector) float64 {
	return scrape(agent, "otelcol_falco_receiver_spool_size")
}

// exporterQueueBytes is what the gateway holds on disk for the SIEM: an exporter's persistent
// queue (sizer: bytes).
func exporterQueueBytes(c *testbed.Collector, exporter string) float64 {
	return scrape(c, "otelcol_exporter_queue_size", fmt.Sprintf("exporter=%q", exporter))
}

// dirUsage is the size and the allocated disk space of the files in a queue directory (a
// pebble_storage store is a directory of files, a file_storage queue one file).
func dirUsage(t *testing.T, dir string) (size, allocated int64) {
	t.Helper()
	err := filepath.WalkDir(dir, func(_ string, e os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := e.Info()
		if err != nil || !info.Mode().IsRegular() {
			return nil //nolint:nilerr // a file removed while walking takes no space
		}
		size += info.Size()
		if st, ok := info.Sys().(*syscall.Stat_t); ok {
			allocated += st.Blocks * 512
		}
		return nil
	})
	require.NoError(t, err)
	return size, allocated
}

// ---- alerts with identity ----

// alertBook keeps every generated alert by its timestamp, which the generator's clock makes
// unique, so a record that arrives can be matched to the alert it came from.
type alertBook struct {
	mu     sync.Mutex
	byTime map[int64]falcoemu.Alert
}

// newBookedGenerator returns a generator whose alerts have strictly increasing timestamps
// (1 µs apart) and the book that will hold them.
func newBookedGenerator(t *testing.T, seed int64) (*falcoemu.Generator, *alertBook) {
	t.Helper()
	base := time.Now().Truncate(time.Second)
	var n int64
	clock := func() time.Time { n++; return base.Add(time.Duration(n) * time.Microsecond) }
	g := newGenerator(t, falcoemu.GeneratorConfig{Seed: seed, Pods: 25, Priorities: falcoemu.AllPriorities(),
		Hostname: "e2e-falco", Clock: clock})
	return g, &alertBook{byTime: map[int64]falcoemu.Alert{}}
}

func (b *alertBook) add(a falcoemu.Alert) {
	b.mu.Lock()
	b.byTime[a.Time.UnixNano()] = a
	b.mu.Unlock()
}

func (b *alertBook) len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.byTime)
}

// generate makes count alerts and books them.
func (b *alertBook) generate(g *falcoemu.Generator, count int) []falcoemu.Alert {
	out := make([]falcoemu.Alert, count)
	for i := range out {
		out[i] = g.Next()
		b.add(out[i])
	}
	return out
}

// feedBooked enqueues count alerts on Falco's gRPC queue at rate alerts/s (0: at once), booking
// each; onProgress (optional) is called with the number enqueued after every step.
// feedInBackground feeds count alerts at rate from a goroutine; reached closes once mark alerts
// were fed, and fed yields the total when feeding ends.
func feedInBackground(ctx context.Context, emu *falcoemu.GRPCServer, g *falcoemu.Generator, b *alertBook, count int, rate float64, mark int) (reached <-chan struct{}, fed <-chan int) {
	marked := make(chan struct{})
	total := make(chan int, 1)
	var once sync.Once
	go func() {
		total <- feedBooked(ctx, emu, g, b, count, rate, func(n int) {
			if n >= mark {
				once.Do(func() { close(marked) })
			}
		})
	}()
	return marked, total
}

func feedBooked(ctx context.Context, emu *falcoemu.GRPCServer, g *falcoemu.Generator, b *alertBook, count int, rate float64, onProgress func(int)) int {
	p := falcoemu.NewPacer(rate)
	n := 0
	for n < count {
		k := p.Take(ctx, min(100, count-n))
		if k == 0 {
			return n
		}
		for range k {
			a := g.Next()
			b.add(a)
			if !emu.Enqueue(ctx, a) {
				return n
			}
			n++
		}
		if onProgress != nil {
			onProgress(n)
		}
	}
	return n
}

// delivery is what reached a sink, matched against the book.
type delivery struct {
	matched    int      // distinct booked alerts found
	lost       int      // booked alerts not found
	duplicates int      // records beyond the first for an alert
	unknown    int      // records that match no booked alert
	mismatches []string // records whose content differs from their alert (first few)
}

func (d delivery) String() string {
	return fmt.Sprintf("matched %d, lost %d, duplicates %d, unknown %d, mismatched %d",
		d.matched, d.lost, d.duplicates, d.unknown, len(d.mismatches))
}

// match checks every record against its alert and counts lost and duplicated alerts.
func (b *alertBook) match(records []plog.LogRecord) delivery {
	b.mu.Lock()
	defer b.mu.Unlock()
	var d delivery
	seen := make(map[int64]bool, len(b.byTime))
	for _, lr := range records {
		ts := int64(lr.Timestamp())
		a, ok := b.byTime[ts]
		if !ok {
			d.unknown++
			continue
		}
		if seen[ts] {
			d.duplicates++
			continue
		}
		seen[ts] = true
		if err := checkAlertRecord(lr, &a); err != nil && len(d.mismatches) < 5 {
			d.mismatches = append(d.mismatches, err.Error())
		}
	}
	d.matched = len(seen)
	d.lost = len(b.byTime) - d.matched
	return d
}

// checkAlertRecord holds a record (as the test sinks store it: resource attributes copied in as
// resource.<key>) to the SIEM log shape of docs/siem.md for the alert it came from.
func checkAlertRecord(lr plog.LogRecord, a *falcoemu.Alert) error {
	attrs := lr.Attributes().AsRaw()
	want := map[string]any{
		"falco.rule":             a.Rule.Name,
		"falco.priority":         a.Priority.Lower(),
		"falco.source":           a.Rule.Source,
		"resource.service.name":  "falco",
		"resource.host.name":     a.Hostname,
		"resource.k8s.node.name": "e2e-node",
	}
	tags := make([]any, len(a.Rule.Tags))
	var tactics, techniques []any
	for i, tag := range a.Rule.Tags {
		tags[i] = tag
		switch kind, id := falcofields.ParseMitre(tag); kind {
		case falcofields.MitreTactic:
			if !slices.Contains(tactics, any(id)) { // mitre_x and its TA id name one tactic
				tactics = append(tactics, id)
			}
		case falcofields.MitreTechnique:
			techniques = append(techniques, id)
		}
	}
	want["falco.tags"] = tags
	for key, v := range map[string][]any{"falco.mitre.tactics": tactics, "falco.mitre.techniques": techniques} {
		if v != nil {
			want[key] = v
		} else if _, ok := attrs[key]; ok {
			return fmt.Errorf("%s: %s=%v, but the rule has no such tag", a.Rule.Name, key, attrs[key])
		}
	}
	for key, v := range want {
		if !reflect.DeepEqual(attrs[key], v) {
			return fmt.Errorf("%s: %s = %#v, want %#v", a.Rule.Name, key, attrs[key], v)
		}
	}
	switch {
	case lr.Body().Str() != a.Output():
		return fmt.Errorf("%s: body %q, want %q", a.Rule.Name, lr.Body().Str(), a.Output())
	case lr.SeverityText() != a.Priority.String():
		return fmt.Errorf("%s: severity text %q, want %q", a.Rule.Name, lr.SeverityText(), a.Priority.String())
	case lr.SeverityNumber() == plog.SeverityNumberUnspecified:
		return fmt.Errorf("%s: no severity number", a.Rule.Name)
	case lr.EventName() != "falco.alert":
		return fmt.Errorf("%s: event name %q", a.Rule.Name, lr.EventName())
	case !lr.Timestamp().AsTime().Equal(a.Time):
		return fmt.Errorf("%s: timestamp %v, want %v", a.Rule.Name, lr.Timestamp().AsTime(), a.Time)
	}
	return nil
}

// waitDelivered waits until the sink holds every booked alert (or timeout) and matches them.
func waitDelivered(t *testing.T, b *alertBook, records func() []plog.LogRecord, count func() int64, timeout time.Duration) delivery {
	t.Helper()
	want := int64(b.len())
	testbed.WaitFor(timeout, func() bool { return count() >= want && b.match(records()).lost == 0 })
	return b.match(records())
}

func requireNoLoss(t *testing.T, d delivery, total int) {
	t.Helper()
	t.Logf("delivery of %d alerts: %s", total, d)
	assert.Empty(t, d.mismatches, "records that differ from their alert")
	assert.Zero(t, d.unknown, "records that match no alert")
	require.Equal(t, total, d.matched, "distinct alerts delivered")
	require.Zero(t, d.lost, "lost alerts")
}

// ---- the acceptance tests ----

// TestSIEMEndToEnd: 10,000 alerts from Falco's gRPC output go agent → gateway → SIEM sink and
// arrive exactly once, each with the content of its alert and with every attribute, resource
// attribute, severity and timestamp the agent produced (the tap: the agent's output, unrelayed).
func TestSIEMEndToEnd(t *testing.T) {
	const total = 10000
	r := startSIEMRig(t, siemOptions{tap: true})
	g, book := newBookedGenerator(t, 11)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	require.Equal(t, total, feedBooked(ctx, r.emu, g, book, total, 0, nil))

	d := waitDelivered(t, book, r.sink.Records, r.sink.Count, 60*time.Second)
	requireNoLoss(t, d, total)
	assert.Zero(t, d.duplicates, "no outage, no duplicates")
	assert.EqualValues(t, total, r.sink.Count(), "records at the SIEM")

	// Every record at the SIEM equals the agent's own output for that alert.
	require.True(t, testbed.WaitFor(30*time.Second, func() bool { return r.tap.Count() >= total }), "tap: %d", r.tap.Count())
	tapped := map[int64]plog.LogRecord{}
	for _, lr := range r.tap.Records() {
		tapped[int64(lr.Timestamp())] = lr
	}
	var diffs []string
	attributes := 0
	for _, lr := range r.sink.Records() {
		want, ok := tapped[int64(lr.Timestamp())]
		require.True(t, ok, "a SIEM record the agent did not produce")
		attributes += lr.Attributes().Len()
		if diff := recordDiff(lr, want); diff != "" && len(diffs) < 5 {
			diffs = append(diffs, diff)
		}
	}
	assert.Empty(t, diffs, "records changed between the agent and the SIEM")
	t.Logf("%d records, %d attributes (resource included) compared with the agent's output: identical", total, attributes)
}

// recordDiff tells how a relayed record differs from the agent's ("" when identical).
func recordDiff(got, want plog.LogRecord) string {
	g, w := got.Attributes().AsRaw(), want.Attributes().AsRaw()
	if !reflect.DeepEqual(g, w) {
		for k, v := range w {
			if !reflect.DeepEqual(g[k], v) {
				return fmt.Sprintf("attribute %s: %#v, agent had %#v", k, g[k], v)
			}
		}
		for k := range g {
			if _, ok := w[k]; !ok {
				return fmt.Sprintf("attribute %s added", k)
			}
		}
	}
	switch {
	case got.Body().AsString() != want.Body().AsString():
		return "body differs"
	case got.SeverityNumber() != want.SeverityNumber() || got.SeverityText() != want.SeverityText():
		return "severity differs"
	case got.ObservedTimestamp() != want.ObservedTimestamp():
		return "observed timestamp differs"
	case got.EventName() != want.EventName():
		return "event name differs"
	}
	return ""
}

// TestSIEMOutage: the SIEM is down for 20 s in the middle of a 20,000-alert stream, first
// unreachable, then answering 503. The gateway queues on disk and, once the SIEM is back, delivers
// every alert.
func TestSIEMOutage(t *testing.T) {
	const (
		total  = 20000
		rate   = 700 // alerts/s: a ~29 s stream
		downAt = 4000
		outage = 20 * time.Second
	)
	r := startSIEMRig(t, siemOptions{})
	g, book := newBookedGenerator(t, 12)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	reached, fed := feedInBackground(ctx, r.emu, g, book, total, rate, downAt)
	<-reached
	// First half: the SIEM is unreachable (connection refused). Second half: it answers 503
	// with Retry-After, as an overloaded intake does. Both are retried from the disk queue.
	r.sink.Close()
	downSince := time.Now()
	atDown := r.sink.Count()
	var peakQueue float64
	refusing := false
	for time.Since(downSince) < outage {
		time.Sleep(500 * time.Millisecond)
		peakQueue = max(peakQueue, exporterQueueBytes(r.gw, siemExporter))
		if time.Since(downSince) >= outage/2 && !refusing {
			r.sink.SetUnavailable(true)
			r.sink.Reopen(t)
			refusing = true
		}
	}
	size, alloc := dirUsage(t, r.gwQueueDir)
	queued := scrape(r.gw, "otelcol_receiver_accepted_log_records") - float64(r.sink.Count())
	require.Equal(t, atDown, r.sink.Count(), "nothing reaches a SIEM that is down")
	require.Positive(t, r.sink.Requests(), "the gateway retried against the 503s")
	r.sink.SetUnavailable(false)
	back := time.Now()
	atBack := r.sink.Count()
	require.Equal(t, total, <-fed)

	d := waitDelivered(t, book, r.sink.Records, r.sink.Count, 90*time.Second)
	drained := time.Since(back)
	requireNoLoss(t, d, total)
	t.Logf("SIEM down %v at alert %d: duplicates reported %d (sink's own count %d)", outage, downAt, d.duplicates, r.sink.Duplicates())
	t.Logf("FIGURE gateway queue after %v of SIEM outage: %.0f alerts queued, %.0f bytes in the queue (%.0f bytes/10k alerts); queue files %d bytes (%d allocated)",
		outage, queued, peakQueue, 10000*peakQueue/max(queued, 1), size, alloc)
	t.Logf("FIGURE gateway drain after the SIEM returned: %d records in %v (%.0f alerts/s, while the stream still ran at %d/s)",
		r.sink.Count()-atBack, drained.Round(time.Millisecond), float64(r.sink.Count()-atBack)/drained.Seconds(), rate)
}

// TestSIEMGatewayDown: the gateway falls over (SIGKILL) for 20 s in the middle of a 20,000-alert
// stream. The agent keeps accepting alerts into its disk queue and delivers every one afterwards;
// what the gateway had acknowledged survives in the gateway's own disk queue.
func TestSIEMGatewayDown(t *testing.T) {
	const (
		total  = 20000
		rate   = 700
		downAt = 4000
		outage = 20 * time.Second
	)
	r := startSIEMRig(t, siemOptions{})
	g, book := newBookedGenerator(t, 13)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	reached, fed := feedInBackground(ctx, r.emu, g, book, total, rate, downAt)
	<-reached
	r.gw.Kill()
	downSince := time.Now()
	baseSize, baseAlloc := dirUsage(t, r.agentQueueDir)
	atDown := r.sink.Count()
	var queue float64
	for time.Since(downSince) < outage {
		time.Sleep(500 * time.Millisecond)
		queue = max(queue, spoolBytes(r.agent))
	}
	accepted := scrape(r.agent, "otelcol_receiver_accepted_log_records", `transport="grpc"`)
	queued := accepted - float64(atDown)
	size, alloc := dirUsage(t, r.agentQueueDir)
	r.startGateway(t)
	back := time.Now()
	atBack := r.sink.Count()
	require.Equal(t, total, <-fed)

	d := waitDelivered(t, book, r.sink.Records, r.sink.Count, 90*time.Second)
	drained := time.Since(back)
	requireNoLoss(t, d, total)
	assert.False(t, r.agent.Exited(), "the agent rode out the outage")
	t.Logf("gateway killed for %v at alert %d: duplicates reported %d", outage, downAt, d.duplicates)
	t.Logf("FIGURE agent queue after %v of gateway outage: ~%.0f alerts queued, %.0f bytes in the queue (%.0f bytes/10k alerts); queue files %d bytes (%d allocated), %d before the outage (%d allocated)",
		outage, queued, queue, 10000*queue/max(queued, 1), size, alloc, baseSize, baseAlloc)
	t.Logf("FIGURE drain agent → gateway → SIEM after the gateway returned: %d records in %v (%.0f alerts/s, while the stream still ran at %d/s)",
		r.sink.Count()-atBack, drained.Round(time.Millisecond), float64(r.sink.Count()-atBack)/drained.Seconds(), rate)
}

// TestSIEMAgentCrash: Falco's http_output got HTTP 200 for 5,000 alerts while the gateway was
// away, so the agent holds them; the agent is killed (SIGKILL), restarted, and delivers them. Then
// the agent is killed again in the middle of a stream with everything up: every alert that was
// answered 200 arrives, and the sender's retries of the unanswered ones arrive too.
func TestSIEMAgentCrash(t *testing.T) {
	const held, streamed = 5000, 5000
	r := startSIEMRig(t, siemOptions{gatewayDown: true})
	g, book := newBookedGenerator(t, 14)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// Phase 1: answered 200 while the gateway is down: held in the agent's disk queue.
	sender := newSender(t, falcoemu.HTTPSenderConfig{URL: r.httpURL, Connections: 4})
	alerts := book.generate(g, held)
	sendConcurrently(ctx, sender, alerts, 4)
	st := sender.Stats()
	require.EqualValues(t, held, st.Acked, "HTTP 200 for every alert: %+v", st)
	require.Zero(t, st.Failed)
	require.EqualValues(t, held, scrape(r.agent, "otelcol_receiver_accepted_log_records", `transport="http"`))
	queued := spoolBytes(r.agent)
	require.Positive(t, queued, "the agent's queue holds the alerts")
	size, alloc := dirUsage(t, r.agentQueueDir)
	t.Logf("FIGURE agent queue holding %d alerts received over HTTP (one per request): %.0f bytes (%.0f bytes/10k alerts); queue files %d bytes (%d allocated)",
		held, queued, 10000*queued/held, size, alloc)

	r.agent.Kill()
	require.Zero(t, r.sink.Count())
	r.agent.Restart(t, r.agentConfigs)
	r.startGateway(t)
	back := time.Now()
	d := waitDelivered(t, book, r.sink.Records, r.sink.Count, 60*time.Second)
	drained := time.Since(back)
	requireNoLoss(t, d, held)
	t.Logf("phase 1 (SIGKILL holding %d acknowledged alerts): duplicates %d", held, d.duplicates)
	t.Logf("FIGURE drain of %d alerts queued one per request (http_output) after restart: %v (%.0f alerts/s)",
		held, drained.Round(time.Millisecond), float64(held)/drained.Seconds())

	// Phase 2: SIGKILL in the middle of a stream, everything up; Falco-like sender retries.
	sender = newSender(t, falcoemu.HTTPSenderConfig{URL: r.httpURL, Connections: 4, MaxRetries: 30, MaxRetryWait: 500 * time.Millisecond})
	alerts = book.generate(g, streamed)
	done := make(chan struct{})
	go func() { defer close(done); sendConcurrently(ctx, sender, alerts, 4) }()
	require.True(t, testbed.WaitFor(30*time.Second, func() bool { return sender.Stats().Acked >= streamed/3 }), "stream did not start")
	r.agent.Kill()
	killedAt := sender.Stats().Acked
	r.agent.Restart(t, r.agentConfigs)
	<-done
	st = sender.Stats()
	t.Logf("phase 2: SIGKILL after %d of %d alerts answered; sender: %+v", killedAt, streamed, st)
	require.EqualValues(t, streamed, st.Acked, "with retries every alert is answered 200 in the end")
	require.Positive(t, st.TransportErrors+st.Retries, "the kill interrupted the stream")

	d = waitDelivered(t, book, r.sink.Records, r.sink.Count, 60*time.Second)
	requireNoLoss(t, d, held+streamed)
	// Duplicates are batches that were on their way to the gateway when the agent died: still in
	// the queue's bookkeeping, they go out again after the restart (at-least-once).
	t.Logf("after both crashes: duplicates reported %d", d.duplicates)
}

// TestSIEMAgentCrashWithBatches: alerts POSTed in NDJSON batches (falcosidekick-like senders) are
// stored compressed; the agent holding them with the gateway down is killed, restarted, and
// delivers every one of them from disk.
func TestSIEMAgentCrashWithBatches(t *testing.T) {
	const held = 5000
	r := startSIEMRig(t, siemOptions{gatewayDown: true})
	g, book := newBookedGenerator(t, 15)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sender := newSender(t, falcoemu.HTTPSenderConfig{URL: r.httpURL, Mode: falcoemu.ModeNDJSON, Batch: 500})
	sender.Send(ctx, book.generate(g, held))
	st := sender.Stats()
	require.EqualValues(t, held, st.Acked, "HTTP 200 for every alert: %+v", st)
	queued := spoolBytes(r.agent)
	size, alloc := dirUsage(t, r.agentQueueDir)
	t.Logf("FIGURE agent queue holding %d alerts received in NDJSON batches of 500: %.0f OTLP bytes counted against max_bytes; queue files %d bytes (%d allocated)",
		held, queued, size, alloc)

	r.agent.Kill()
	r.agent.Restart(t, r.agentConfigs)
	require.Equal(t, queued, spoolBytes(r.agent), "after the restart the spool counts the same OTLP bytes")
	r.startGateway(t)
	d := waitDelivered(t, book, r.sink.Records, r.sink.Count, 60*time.Second)
	requireNoLoss(t, d, held)
}

// sendConcurrently posts alerts over n goroutines, one alert per request (Falco's http_output).
func sendConcurrently(ctx context.Context, s *falcoemu.HTTPSender, alerts []falcoemu.Alert, n int) {
	var wg sync.WaitGroup
	for part := range slices.Chunk(alerts, (len(alerts)+n-1)/n) {
		wg.Go(func() { s.Send(ctx, part) })
	}
	wg.Wait()
}

// TestSIEMKafka: the gateway's kafka exporter delivers every alert to the topic falco-alerts of
// an in-process Kafka; a consumer decodes the messages (otlp_json, the shipped encoding, and
// otlp_proto) and matches every record to its alert.
func TestSIEMKafka(t *testing.T) {
	for _, tc := range []struct {
		encoding string
		total    int
	}{{"otlp_json", 10000}, {"otlp_proto", 3000}} {
		t.Run(tc.encoding, func(t *testing.T) {
			kafka := testbed.StartKafka(t, "falco-alerts", 3)
			consumer := kafka.ConsumeLogs(t, "falco-alerts", tc.encoding)
			env := map[string]string{"GATEWAY_LOGS_EXPORTERS": "[kafka]", "KAFKA_BROKERS": kafka.Broker()}
			if tc.encoding != "otlp_json" {
				env["KAFKA_LOGS_ENCODING"] = tc.encoding
			}
			r := startSIEMRig(t, siemOptions{gatewayEnv: env})
			g, book := newBookedGenerator(t, 15)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			require.Equal(t, tc.total, feedBooked(ctx, r.emu, g, book, tc.total, 0, nil))

			d := waitDelivered(t, book, consumer.Records, consumer.Count, 60*time.Second)
			require.NoError(t, consumer.Err())
			requireNoLoss(t, d, tc.total)
			assert.Zero(t, d.duplicates)
			assert.Zero(t, consumer.DecodeErrors())
			assert.Zero(t, r.sink.Count(), "the OTLP exporter is not in the pipeline")
			assert.Equal(t, consumer.Messages(), consumer.KeyedMessages(), "messages are keyed by workload")
			t.Logf("kafka %s: %d alerts in %d messages, %d bytes (%.0f bytes/alert)", tc.encoding, tc.total,
				consumer.Messages(), consumer.MessageBytes(), float64(consumer.MessageBytes())/float64(tc.total))
		})
	}
}

// TestSIEMGatewayTLS: the agent reaches the gateway over mutual TLS, with config/gateway-tls.yaml
// on the gateway and the agent's GATEWAY_TLS_* settings; a client without a certificate is refused.
func TestSIEMGatewayTLS(t *testing.T) {
	const total = 2000
	pki := writeTestPKI(t)
	r := startSIEMRig(t, siemOptions{
		gatewayOverlays: []string{filepath.Join(testbed.RepoRoot(), "config", "gateway-tls.yaml")},
		gatewayEnv: map[string]string{
			"GATEWAY_TLS_CERT_FILE": pki.serverCert, "GATEWAY_TLS_KEY_FILE": pki.serverKey,
			"GATEWAY_TLS_CLIENT_CA_FILE": pki.ca,
		},
		agentEnv: map[string]string{
			"GATEWAY_TLS_INSECURE": "false", "GATEWAY_TLS_CA_FILE": pki.ca,
			"GATEWAY_TLS_CLIENT_CERT_FILE": pki.clientCert, "GATEWAY_TLS_CLIENT_KEY_FILE": pki.clientKey,
		},
	})
	g, book := newBookedGenerator(t, 16)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	require.Equal(t, total, feedBooked(ctx, r.emu, g, book, total, 0, nil))
	d := waitDelivered(t, book, r.sink.Records, r.sink.Count, 30*time.Second)
	requireNoLoss(t, d, total)

	caPEM, err := os.ReadFile(pki.ca)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM(caPEM))
	conn, err := tls.Dial("tcp", r.gwEnv["OTLP_GRPC_ENDPOINT"], &tls.Config{RootCAs: pool, NextProtos: []string{"h2"}, MinVersion: tls.VersionTLS12})
	if err == nil {
		// TLS 1.3 reports a refused client certificate on the first read.
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, err = conn.Read(make([]byte, 1))
		conn.Close()
	}
	require.Error(t, err, "a client without a certificate must be refused")
}

type testPKI struct{ ca, serverCert, serverKey, clientCert, clientKey string }

// writeTestPKI writes a CA, a server certificate for 127.0.0.1 and a client certificate.
func writeTestPKI(t *testing.T) testPKI {
	t.Helper()
	dir := t.TempDir()
	write := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600))
		return p
	}
	newKey := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		require.NoError(t, err)
		return k
	}
	now := time.Now()
	caKey := newKey()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "e2e CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	require.NoError(t, err)
	caCert, err := x509.ParseCertificate(caDER)
	require.NoError(t, err)
	leaf := func(serial int64, cn string, usage x509.ExtKeyUsage, ips []net.IP) (string, string) {
		k := newKey()
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), IPAddresses: ips,
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage}}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &k.PublicKey, caKey)
		require.NoError(t, err)
		keyDER, err := x509.MarshalPKCS8PrivateKey(k)
		require.NoError(t, err)
		return write(cn+".crt", "CERTIFICATE", der), write(cn+".key", "PRIVATE KEY", keyDER)
	}
	p := testPKI{ca: write("ca.crt", "CERTIFICATE", caDER)}
	p.serverCert, p.serverKey = leaf(2, "gateway", x509.ExtKeyUsageServerAuth, []net.IP{net.IPv4(127, 0, 0, 1)})
	p.clientCert, p.clientKey = leaf(3, "agent", x509.ExtKeyUsageClientAuth, nil)
	return p
}

// TestSIEMExampleConfigs validates every example of docs/siem/ merged over config/gateway.yaml
// (and the TLS overlay), with the environment each documents, and runs the Elastic one.
func TestSIEMExampleConfigs(t *testing.T) {
	root := testbed.RepoRoot()
	examples, err := filepath.Glob(filepath.Join(root, "docs", "siem", "*.yaml"))
	require.NoError(t, err)
	require.NotEmpty(t, examples)
	examples = append(examples, filepath.Join(root, "config", "gateway-tls.yaml"))
	env := append(os.Environ(),
		"FILE_STORAGE_DIR="+t.TempDir(),
		"SIEM_OTLP_ENDPOINT=https://siem.example.com:443", "ELASTIC_API_KEY=ZXhhbXBsZQ==",
		"SPLUNK_OTLP_ENDPOINT=edge-processor.example.com:4317",
		"KAFKA_BROKERS=broker-1.example.com:9093", "KAFKA_USERNAME=falco", "KAFKA_PASSWORD=secret",
		"GATEWAY_TLS_CERT_FILE=/etc/otelcol-falco/tls/tls.crt", "GATEWAY_TLS_KEY_FILE=/etc/otelcol-falco/tls/tls.key",
	)
	for _, ex := range examples {
		t.Run(filepath.Base(ex), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, testbed.CollectorBinary(t), "validate",
				"--config", filepath.Join(root, "config", "gateway.yaml"), "--config", ex)
			cmd.Env = env
			out, err := cmd.CombinedOutput()
			require.NoError(t, err, "%s", out)
		})
	}

	t.Run("elastic.yaml runs", func(t *testing.T) {
		r := startSIEMRig(t, siemOptions{
			gatewayOverlays: []string{filepath.Join(root, "docs", "siem", "elastic.yaml")},
			gatewayEnv:      map[string]string{"ELASTIC_API_KEY": "ZXhhbXBsZQ=="},
		})
		g, book := newBookedGenerator(t, 17)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		require.Equal(t, 500, feedBooked(ctx, r.emu, g, book, 500, 0, nil))
		requireNoLoss(t, waitDelivered(t, book, r.sink.Records, r.sink.Count, 30*time.Second), 500)
		for _, lr := range r.sink.Records() {
			v, _ := lr.Attributes().Get("resource.data_stream.dataset")
			require.Equal(t, "falco", v.AsString())
		}
	})
}

// TestSIEMQueueFigures measures what docs/siem.md sizes queues with: disk per queued alert and
// drain rates, with nothing else running (no stream during the drain, a counting-only sink). It
// takes about a minute and runs only when asked:
//
//	SIEM_FIGURES=1 go test -count=1 -run TestSIEMQueueFigures -v ./e2e/
//
// SIEM_FIGURES_ALERTS sets the number of alerts (default 50000); SIEM_FIGURES_AGENT adds a
// yaml: overlay to the agent, to compare queue settings.
func TestSIEMQueueFigures(t *testing.T) {
	if os.Getenv("SIEM_FIGURES") == "" {
		t.Skip("set SIEM_FIGURES=1 to measure queue disk use and drain rates")
	}
	n := 50000
	if v := os.Getenv("SIEM_FIGURES_ALERTS"); v != "" {
		_, err := fmt.Sscan(v, &n)
		require.NoError(t, err)
	}
	var agentOverlays []string
	if v := os.Getenv("SIEM_FIGURES_AGENT"); v != "" {
		agentOverlays = append(agentOverlays, "yaml:"+v)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	report := func(what string, queueBytes func() float64, dir string, queued int, drain func()) {
		t.Helper()
		q := queueBytes()
		size, alloc := dirUsage(t, dir)
		start := time.Now()
		drain()
		d := time.Since(start)
		t.Logf("FIGURE %s: %d alerts queued: queue %.0f bytes (%.0f per 10k alerts), queue files %d bytes apparent, %d allocated (%.0f per 10k alerts); drained in %v: %.0f alerts/s",
			what, queued, q, 10000*q/float64(queued), size, alloc, 10000*float64(alloc)/float64(queued), d.Round(time.Millisecond), float64(queued)/d.Seconds())
	}
	waitSink := func(r *siemRig, want int) func() {
		return func() {
			require.True(t, testbed.WaitFor(4*time.Minute, func() bool { return r.sink.Count() >= int64(want) }), "sink: %d of %d", r.sink.Count(), want)
		}
	}

	t.Run("agent queue, gRPC", func(t *testing.T) {
		r := startSIEMRig(t, siemOptions{gatewayDown: true, sinkCountOnly: true, agentOverlays: agentOverlays})
		g, book := newBookedGenerator(t, 21)
		require.Equal(t, n, feedBooked(ctx, r.emu, g, book, n, 0, nil))
		require.True(t, testbed.WaitFor(2*time.Minute, func() bool {
			return scrape(r.agent, "otelcol_receiver_accepted_log_records", `transport="grpc"`) >= float64(n)
		}))
		report("agent queue (gRPC input) → gateway → SIEM", func() float64 { return spoolBytes(r.agent) }, r.agentQueueDir, n, func() {
			r.startGateway(t)
			waitSink(r, n)()
		})
	})

	t.Run("agent queue, http_output", func(t *testing.T) {
		m := n / 2
		r := startSIEMRig(t, siemOptions{gatewayDown: true, sinkCountOnly: true, agentOverlays: agentOverlays})
		g, book := newBookedGenerator(t, 22)
		sender := newSender(t, falcoemu.HTTPSenderConfig{URL: r.httpURL, Connections: 4})
		alerts := book.generate(g, m)
		start := time.Now()
		sendConcurrently(ctx, sender, alerts, 4)
		took := time.Since(start)
		require.EqualValues(t, m, sender.Stats().Acked)
		t.Logf("FIGURE http_output into the agent's disk queue (4 connections, one alert per request): %d alerts in %v, %.0f alerts/s",
			m, took.Round(time.Millisecond), float64(m)/took.Seconds())
		report("agent queue (http_output, one alert per request) → gateway → SIEM", func() float64 { return spoolBytes(r.agent) }, r.agentQueueDir, m, func() {
			r.startGateway(t)
			waitSink(r, m)()
		})
	})

	t.Run("gateway queue", func(t *testing.T) {
		r := startSIEMRig(t, siemOptions{sinkCountOnly: true, agentOverlays: agentOverlays})
		r.sink.Close()
		g, book := newBookedGenerator(t, 23)
		require.Equal(t, n, feedBooked(ctx, r.emu, g, book, n, 0, nil))
		require.True(t, testbed.WaitFor(2*time.Minute, func() bool {
			return scrape(r.gw, "otelcol_receiver_accepted_log_records") >= float64(n)
		}))
		report("gateway queue → SIEM", func() float64 { return exporterQueueBytes(r.gw, siemExporter) }, r.gwQueueDir, n, func() {
			r.sink.Reopen(t)
			waitSink(r, n)()
		})
	})
}
