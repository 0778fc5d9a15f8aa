// Command falco-emulator emulates Falco for otelcol-falco's demo and benchmarks: it
// serves Falco's gRPC output API (and/or posts alerts like Falco's http_output) with
// alerts of Falco's real rules, serves Falco's /metrics and /healthz, and writes what
// it delivered as a JSON tally.
//
// Examples:
//
//	falco-emulator -grpc unix:///tmp/falco.sock -count 1000000 -rate 150000 -pods 200 -summary /tmp/sum.json
//	falco-emulator -http-url http://127.0.0.1:8080/falco -http-mode ndjson -batch 500 -connections 4 -count 100000
//	falco-emulator -grpc 127.0.0.1:5060 -metrics-addr 127.0.0.1:8765 -rate 50 -linger
//
// It exits when the count is delivered (gRPC: handed out to clients; HTTP: answered
// 2xx or given up on), after -linger if set, or on SIGINT/SIGTERM, stopping cleanly.
// Exit status: 0, or 1 when -drain-timeout expired before gRPC clients took every alert
// (or on a setup error), 2 on a usage error.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/otelcol-falco/otelcol-falco/internal/falcoemu"
)

// lingerFlag is a flag usable as "-linger" (until a signal) or "-linger=30s".
type lingerFlag struct {
	on  bool
	dur time.Duration
}

func (l *lingerFlag) String() string {
	switch {
	case !l.on:
		return "false"
	case l.dur > 0:
		return l.dur.String()
	}
	return "true"
}

func (l *lingerFlag) Set(s string) error {
	if b, err := strconv.ParseBool(s); err == nil {
		l.on, l.dur = b, 0
		return nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return fmt.Errorf("want true, false or a duration, got %q", s)
	}
	l.on, l.dur = d > 0, d
	return nil
}

func (l *lingerFlag) IsBoolFlag() bool { return true }

type listFlag []string

func (f *listFlag) String() string { return strings.Join(*f, ",") }
func (f *listFlag) Set(s string) error {
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*f = append(*f, p)
		}
	}
	return nil
}

type options struct {
	grpcAddr, grpcCert, grpcKey, grpcCA string
	queueSize                           int
	dropWhenFull                        bool

	httpURL, httpMode, token        string
	connections, batch, httpRetries int
	gzip, httpInsecure              bool
	httpCA, httpCert, httpKey       string
	httpTimeout, flushInterval      time.Duration

	metricsAddr     string
	metricsStrict   bool
	kernelDrops     uint64
	kernelDropsRate float64
	falcoVersion    string

	count       uint64
	rate        float64
	pods        int
	namespaces  listFlag
	hostRatio   float64
	seed        int64
	hostname    string
	priorities  string
	rules       listFlag
	ruleCount   int
	sources     listFlag
	enabledOnly bool
	k8smeta     bool

	summary      string
	linger       lingerFlag
	drainTimeout time.Duration
	progress     time.Duration
	listRules    bool
}

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("falco-emulator", flag.ContinueOnError)
	fs.SetOutput(stderr)
	host, _ := os.Hostname()

	fs.StringVar(&o.grpcAddr, "grpc", "", "serve Falco's gRPC output API here: unix:///path/falco.sock, /path, or host:port")
	fs.StringVar(&o.grpcCert, "grpc-cert", "", "gRPC server certificate (enables TLS)")
	fs.StringVar(&o.grpcKey, "grpc-key", "", "gRPC server key")
	fs.StringVar(&o.grpcCA, "grpc-ca", "", "CA of client certificates (enables mTLS)")
	fs.IntVar(&o.queueSize, "queue-size", 65536, "gRPC shared queue size")
	fs.BoolVar(&o.dropWhenFull, "drop-when-full", false, "drop alerts (and count outputs queue drops) when the gRPC queue is full instead of waiting")

	fs.StringVar(&o.httpURL, "http-url", "", "POST alerts to this URL like Falco's http_output")
	fs.StringVar(&o.httpMode, "http-mode", "single", "single (one JSON alert per POST, as Falco), ndjson or array")
	fs.IntVar(&o.connections, "connections", 1, "concurrent HTTP connections")
	fs.IntVar(&o.batch, "batch", 100, "alerts per POST in ndjson/array modes")
	fs.BoolVar(&o.gzip, "gzip", false, "gzip request bodies (Content-Encoding: gzip)")
	fs.StringVar(&o.token, "token", "", "bearer token for the Authorization header")
	fs.IntVar(&o.httpRetries, "http-retries", 5, "retries of a request answered 503 (Retry-After honoured) or failing")
	fs.DurationVar(&o.httpTimeout, "http-timeout", 10*time.Second, "HTTP request timeout")
	fs.DurationVar(&o.flushInterval, "flush-interval", 100*time.Millisecond, "send a partial batch after this long")
	fs.BoolVar(&o.httpInsecure, "http-insecure", false, "skip TLS verification")
	fs.StringVar(&o.httpCA, "http-ca", "", "CA file for HTTPS")
	fs.StringVar(&o.httpCert, "http-cert", "", "client certificate for HTTPS")
	fs.StringVar(&o.httpKey, "http-key", "", "client key for HTTPS")

	fs.StringVar(&o.metricsAddr, "metrics-addr", "", "serve Falco's /metrics and /healthz here, e.g. 127.0.0.1:8765")
	fs.BoolVar(&o.metricsStrict, "metrics-strict", false, "one HELP/TYPE per metric family instead of Falco's one per series")
	fs.Uint64Var(&o.kernelDrops, "kernel-drops", 0, "kernel drops already counted at start")
	fs.Float64Var(&o.kernelDropsRate, "kernel-drops-rate", 0, "kernel drops per second")
	fs.StringVar(&o.falcoVersion, "falco-version", falcoemu.DefaultFalcoVersion, "Falco version to claim")

	fs.Uint64Var(&o.count, "count", 1000, "alerts to generate (0 = until stopped)")
	fs.Float64Var(&o.rate, "rate", 0, "alerts per second (0 = as fast as possible)")
	fs.IntVar(&o.pods, "pods", 20, "distinct pods alerts come from, over several namespaces (0 = host only)")
	fs.Var(&o.namespaces, "namespaces", "namespaces of the pods (comma-separated; default 8 namespaces)")
	fs.Float64Var(&o.hostRatio, "host-ratio", 0.1, "share of host alerts among rules that fire on hosts and in containers")
	fs.Int64Var(&o.seed, "seed", 1, "random seed (same seed, same alerts)")
	fs.StringVar(&o.hostname, "hostname", host, "alerts' hostname")
	fs.StringVar(&o.priorities, "priorities", "", `"" = each rule's own, "all" = the 8 priorities in turn, or a list like "critical,debug"`)
	fs.Var(&o.rules, "rules", "only these rules (comma-separated names, repeatable)")
	fs.IntVar(&o.ruleCount, "rule-count", 0, "only the first N rules")
	fs.Var(&o.sources, "sources", "only rules of these sources (syscall, k8s_audit)")
	fs.BoolVar(&o.enabledOnly, "enabled-only", false, "leave out rules Falco ships disabled")
	fs.BoolVar(&o.k8smeta, "k8smeta", false, "add the k8smeta plugin's fields to syscall alerts")

	fs.StringVar(&o.summary, "summary", "", "write the tally of delivered alerts (JSON) here on exit")
	fs.Var(&o.linger, "linger", "keep serving after the count is delivered: until SIGINT/SIGTERM (-linger) or for a duration (-linger=30s)")
	fs.DurationVar(&o.drainTimeout, "drain-timeout", 0, "give up waiting for gRPC clients to take the generated alerts after this long (0 = wait)")
	fs.DurationVar(&o.progress, "progress", time.Second, "progress line interval on stderr (0 = none)")
	fs.BoolVar(&o.listRules, "list-rules", false, "print the rule catalog and exit")

	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	if !o.listRules && o.grpcAddr == "" && o.httpURL == "" && o.metricsAddr == "" {
		return nil, errors.New("nothing to do: give -grpc, -http-url and/or -metrics-addr")
	}
	return o, nil
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// summary is what -summary writes: the delivered tally at the top level, plus context.
type summary struct {
	falcoemu.TallySnapshot
	Mode           string              `json:"mode"`
	Generated      uint64              `json:"generated"`
	ElapsedSeconds float64             `json:"elapsed_seconds"`
	Rate           float64             `json:"delivered_per_second"`
	Seed           int64               `json:"seed"`
	Hostname       string              `json:"hostname"`
	Pods           int                 `json:"pods"`
	Interrupted    bool                `json:"interrupted"`
	GRPC           *grpcSummary        `json:"grpc,omitempty"`
	HTTP           *falcoemu.HTTPStats `json:"http,omitempty"`
	KernelDrops    uint64              `json:"kernel_drops"`
}

type grpcSummary struct {
	Addr      string `json:"addr"`
	HandedOut uint64 `json:"handed_out"`
	Enqueued  uint64 `json:"enqueued"`
	Dropped   uint64 `json:"dropped"`
	QueueLeft int    `json:"queue_left"`
	Requeued  uint64 `json:"requeued"`
}

func run(args []string, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(stderr, "falco-emulator:", err)
		return 2
	}
	if o.listRules {
		listRules(stdout)
		return 0
	}
	logf := func(format string, a ...any) { fmt.Fprintf(stderr, "falco-emulator: "+format+"\n", a...) }

	prios, err := falcoemu.ParsePriorities(o.priorities)
	if err != nil {
		logf("%v", err)
		return 2
	}
	matches := falcoemu.NewTally()
	delivered := falcoemu.NewTally()
	gcfg := falcoemu.GeneratorConfig{
		Seed: o.seed, Hostname: o.hostname, Pods: o.pods, Namespaces: o.namespaces, HostRatio: o.hostRatio,
		Rules: o.rules, RuleCount: o.ruleCount, Sources: o.sources, EnabledOnly: o.enabledOnly,
		Priorities: prios, K8sMeta: o.k8smeta, Tally: matches,
	}
	if o.hostRatio == 0 {
		gcfg.HostRatio = -1
	}
	newGen := func(seedOffset int64) (*falcoemu.Generator, error) {
		c := gcfg
		c.Seed += seedOffset
		return falcoemu.NewGenerator(c)
	}
	probe, err := newGen(0)
	if err != nil {
		logf("%v", err)
		return 2
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	start := time.Now()

	// gRPC server.
	var gs *falcoemu.GRPCServer
	if o.grpcAddr != "" {
		gs, err = falcoemu.NewGRPCServer(falcoemu.GRPCServerConfig{
			Addr: o.grpcAddr, QueueSize: o.queueSize, DropWhenFull: o.dropWhenFull,
			CertFile: o.grpcCert, KeyFile: o.grpcKey, ClientCAFile: o.grpcCA,
			Tally: delivered, Version: o.falcoVersion,
		})
		if err == nil {
			err = gs.Start()
		}
		if err != nil {
			logf("%v", err)
			return 1
		}
		logf("gRPC outputs service on %s", gs.Addr())
	}

	// Metrics endpoint.
	var metrics *falcoemu.Metrics
	var msrv *http.Server
	if o.metricsAddr != "" {
		mc := falcoemu.MetricsConfig{
			Hostname: o.hostname, Version: o.falcoVersion, Matches: matches, Rules: probe.Rules(),
			KernelDropsPerSec: o.kernelDropsRate, Containers: o.pods, Strict: o.metricsStrict,
		}
		if gs != nil {
			mc.OutputsQueueDrops = gs.Dropped
		}
		metrics = falcoemu.NewMetrics(mc)
		metrics.AddKernelDrops(o.kernelDrops)
		lis, err := net.Listen("tcp", o.metricsAddr)
		if err != nil {
			logf("metrics: %v", err)
			if gs != nil {
				gs.Stop()
			}
			return 1
		}
		msrv = &http.Server{Handler: metrics.Handler(), ReadHeaderTimeout: 5 * time.Second}
		go msrv.Serve(lis)
		logf("metrics on http://%s/metrics", lis.Addr())
	}

	// Producers.
	genCtx, stopGen := context.WithCancel(ctx)
	defer stopGen()
	var wg sync.WaitGroup
	var gaveUp atomic.Bool
	var httpSender *falcoemu.HTTPSender
	var httpStats falcoemu.HTTPStats
	var gens []*falcoemu.Generator
	if gs != nil {
		g := probe
		gens = append(gens, g)
		wg.Add(1)
		go func() {
			defer wg.Done()
			gs.Feed(genCtx, g, o.count, o.rate)
			if o.count == 0 || genCtx.Err() != nil {
				return
			}
			dctx := genCtx
			if o.drainTimeout > 0 {
				var cancel context.CancelFunc
				dctx, cancel = context.WithTimeout(genCtx, o.drainTimeout)
				defer cancel()
			}
			if err := gs.WaitHandedOut(dctx, gs.Enqueued()); err != nil && genCtx.Err() == nil {
				logf("gave up waiting for gRPC clients: %d of %d handed out", gs.HandedOut(), gs.Enqueued())
				gaveUp.Store(true)
			}
		}()
	}
	if o.httpURL != "" {
		g := probe
		if gs != nil {
			if g, err = newGen(1); err != nil {
				logf("%v", err)
				return 2
			}
		}
		gens = append(gens, g)
		retries := o.httpRetries
		if retries == 0 {
			retries = -1 // the library's "none"
		}
		httpSender, err = falcoemu.NewHTTPSender(falcoemu.HTTPSenderConfig{
			URL: o.httpURL, Mode: o.httpMode, Batch: o.batch, Connections: o.connections, Gzip: o.gzip,
			Token: o.token, MaxRetries: retries, Timeout: o.httpTimeout, FlushInterval: o.flushInterval,
			InsecureSkipVerify: o.httpInsecure, CAFile: o.httpCA, CertFile: o.httpCert, KeyFile: o.httpKey,
			Tally: delivered,
		})
		if err != nil {
			logf("%v", err)
			if gs != nil {
				gs.Stop()
			}
			return 2
		}
		logf("posting to %s (%s, %d connection(s))", o.httpURL, o.httpMode, o.connections)
		wg.Add(1)
		go func() {
			defer wg.Done()
			httpStats = httpSender.Run(genCtx, g, o.count, o.rate)
		}()
	}
	producing := len(gens) > 0
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()

	// Progress.
	generated := func() uint64 {
		var n uint64
		for _, g := range gens {
			n += g.Generated()
		}
		return n
	}
	line := func() string {
		el := time.Since(start).Seconds()
		var b strings.Builder
		fmt.Fprintf(&b, "generated=%d delivered=%d (%.0f/s)", generated(), delivered.Total(), float64(delivered.Total())/max(el, 1e-9))
		if gs != nil {
			fmt.Fprintf(&b, " grpc[subs=%d queue=%d]", gs.Subscribers(), gs.QueueLen())
		}
		if httpSender != nil {
			st := httpSender.Stats()
			fmt.Fprintf(&b, " http[requests=%d failed=%d retries=%d]", st.Requests, st.Failed, st.Retries)
		}
		fmt.Fprintf(&b, " elapsed=%.1fs", el)
		return b.String()
	}
	var tick <-chan time.Time
	if o.progress > 0 {
		t := time.NewTicker(o.progress)
		defer t.Stop()
		tick = t.C
	}

	interrupted := false
	if producing {
	wait:
		for {
			select {
			case <-finished:
				break wait
			case <-ctx.Done():
				interrupted = true
				stopGen()
				<-finished
				break wait
			case <-tick:
				logf("%s", line())
			}
		}
	}
	elapsed := time.Since(start)
	if !interrupted && (o.linger.on || !producing) {
		if producing {
			logf("count reached: %s; lingering", line())
		}
		var lingerEnd <-chan time.Time
		if o.linger.dur > 0 {
			lingerEnd = time.After(o.linger.dur)
		}
		last := delivered.Total()
	linger:
		for {
			select {
			case <-ctx.Done():
				break linger
			case <-lingerEnd:
				break linger
			case <-tick:
				if n := delivered.Total(); n != last {
					last = n
					logf("%s", line())
				}
			}
		}
	}

	if gs != nil {
		gs.Stop()
	}
	if msrv != nil {
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		msrv.Shutdown(sctx)
		cancel()
	}

	s := summary{
		TallySnapshot: delivered.Snapshot(), Generated: generated(), ElapsedSeconds: elapsed.Seconds(),
		Seed: o.seed, Hostname: o.hostname, Pods: o.pods, Interrupted: interrupted,
	}
	var modes []string
	if gs != nil {
		modes = append(modes, "grpc")
		s.GRPC = &grpcSummary{Addr: gs.Addr(), HandedOut: gs.HandedOut(), Enqueued: gs.Enqueued(),
			Dropped: gs.Dropped(), QueueLeft: gs.QueueLen(), Requeued: gs.Requeued()}
	}
	if httpSender != nil {
		modes = append(modes, "http")
		hs := httpStats
		if hs.Status == nil {
			hs = httpSender.Stats()
		}
		s.HTTP = &hs
	}
	if metrics != nil {
		modes = append(modes, "metrics")
		s.KernelDrops = metrics.KernelDrops()
	}
	s.Mode = strings.Join(modes, "+")
	if el := elapsed.Seconds(); el > 0 {
		s.Rate = float64(s.Total) / el
	}
	if o.summary != "" {
		b, _ := json.MarshalIndent(s, "", "  ")
		if err := os.WriteFile(o.summary, append(b, '\n'), 0o644); err != nil {
			logf("summary: %v", err)
			return 1
		}
	}
	status := "done"
	if interrupted {
		status = "stopped"
	}
	logf("%s: generated=%d delivered=%d in %.2fs (%.0f/s)", status, s.Generated, s.Total, elapsed.Seconds(), s.Rate)
	if gaveUp.Load() {
		return 1
	}
	return 0
}

func listRules(w io.Writer) {
	for _, r := range falcoemu.Rules() {
		scope := map[falcoemu.Scope]string{falcoemu.ScopeBoth: "host+container", falcoemu.ScopeHost: "host", falcoemu.ScopeContainer: "container"}[r.Scope()]
		enabled := ""
		if !r.EnabledByDefault {
			enabled = " (disabled by default)"
		}
		fmt.Fprintf(w, "%-13s %-10s %-9s %-14s %s%s\n", r.Priority.Lower(), r.Maturity, r.Source, scope, r.Name, enabled)
	}
}
