package falcoemu

// Falco's own Prometheus endpoint, as served by Falco >= 0.41's webserver (port 8765,
// webserver.prometheus_metrics_enabled with metrics.rules_counters_enabled,
// resource_utilization_enabled, state_counters_enabled, kernel_event_counters_enabled).
// Names, types, labels, order and number formatting follow falcosecurity/falco
// userspace/falco/falco_metrics.cpp and falcosecurity/libs metrics_collector.cpp.
// Like Falco, every series gets its own "# HELP"/"# TYPE" pair (MetricsConfig.Strict
// groups them per family instead). Metrics served ({labels}; type):
//
//	falcosecurity_falco_version_info{version}                                   gauge 1
//	falcosecurity_falco_sha256_rules_files_info{file_name,sha256}               gauge 1
//	falcosecurity_falco_sha256_config_files_info{file_name,sha256}              gauge 1
//	falcosecurity_falco_rules_matches_total{priority,rule_name,source,tag_<tag>="true"...}  counter
//	    one series per (rule, priority) with matches > 0; priority is numeric
//	    ("0" emergency … "7" debug); one tag_<tag> label per rule tag, the tag
//	    sanitised to [a-zA-Z0-9_] (e.g. tag_T1059_004="true", tag_maturity_stable="true")
//	falcosecurity_scap_engine_name_info{engine_name,evt_source}                 gauge 1
//	    (engine_name="modern_bpf" for evt_source="syscall", "source_plugin" for k8s_audit)
//	falcosecurity_scap_n_evts_total                                             counter
//	falcosecurity_scap_n_drops_buffer_total{dir="exit",drop}                    counter
//	    drop = clone_fork, execve, connect, open, dir_file, other_interest, close, proc
//	falcosecurity_scap_n_drops_scratch_map_total                                counter
//	falcosecurity_scap_n_drops_page_faults_total                                counter
//	falcosecurity_scap_n_drops_bug_total                                        counter
//	falcosecurity_scap_n_drops_total                                            counter
//	falcosecurity_falco_cpu_usage_ratio                                         gauge
//	falcosecurity_falco_memory_rss_bytes                                        gauge
//	falcosecurity_falco_memory_vsz_bytes                                        gauge
//	falcosecurity_falco_memory_pss_bytes                                        gauge
//	falcosecurity_falco_container_memory_used_bytes                             gauge
//	falcosecurity_falco_host_cpu_usage_ratio                                    gauge
//	falcosecurity_falco_host_memory_used_bytes                                  gauge
//	falcosecurity_falco_host_procs_running_total                                gauge
//	falcosecurity_falco_host_open_fds_total                                     gauge
//	falcosecurity_scap_n_threads_total                                          gauge
//	falcosecurity_scap_n_fds_total                                              gauge
//	falcosecurity_scap_n_noncached_fd_lookups_total                             counter
//	falcosecurity_scap_n_cached_fd_lookups_total                                counter
//	falcosecurity_scap_n_failed_fd_lookups_total                                counter
//	falcosecurity_scap_n_added_fds_total                                        counter
//	falcosecurity_scap_n_removed_fds_total                                      counter
//	falcosecurity_scap_n_stored_evts_total                                      counter
//	falcosecurity_scap_n_store_evts_drops_total                                 counter
//	falcosecurity_scap_n_retrieved_evts_total                                   counter
//	falcosecurity_scap_n_retrieve_evts_drops_total                              counter
//	falcosecurity_scap_n_noncached_thread_lookups_total                         counter
//	falcosecurity_scap_n_cached_thread_lookups_total                            counter
//	falcosecurity_scap_n_failed_thread_lookups_total                            counter
//	falcosecurity_scap_n_added_threads_total                                    counter
//	falcosecurity_scap_n_removed_threads_total                                  counter
//	falcosecurity_scap_n_drops_full_threadtable_total                           counter
//	falcosecurity_scap_n_missing_container_images_total                         gauge
//	falcosecurity_scap_n_containers_total                                       gauge
//	falcosecurity_scap_n_drops_buffer_total{dir="enter",drop}                   counter, always 0 (deprecated)
//	    drop = clone_fork, execve, connect, open, dir_file, other_interest
//	falcosecurity_falco_kernel_release_info{kernel_release}                     gauge 1
//	falcosecurity_evt_hostname_info{hostname}                                   gauge 1
//	falcosecurity_falco_outputs_queue_num_drops_total                           counter
//	falcosecurity_falco_reload_timestamp_nanoseconds                            gauge
//	falcosecurity_falco_start_timestamp_nanoseconds                             gauge
//	falcosecurity_falco_duration_seconds_total                                  counter
//	falcosecurity_falco_host_boot_timestamp_nanoseconds                         gauge
//	falcosecurity_falco_host_num_cpus_total                                     gauge
//
// Kernel drops (falcosecurity_scap_n_drops_total and its n_drops_buffer parts) are 0
// unless set with MetricsConfig.KernelDropsPerSec or Metrics.AddKernelDrops, so that
// an alert rule on drops can be exercised. /healthz answers 200 {"status":"ok"}.

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// MetricsConfig configures Falco's metrics endpoint.
type MetricsConfig struct {
	// Hostname is evt_hostname_info's (default: os.Hostname()).
	Hostname string
	// Version is falco_version_info's (default DefaultFalcoVersion).
	Version string
	// KernelRelease defaults to the running kernel's.
	KernelRelease string
	// Matches counts rule matches (falcosecurity_falco_rules_matches_total); usually
	// the generator's tally.
	Matches *Tally
	// Rules are the loaded rules (for sha256_rules_files_info; default the catalog).
	Rules []*Rule
	// Sources enabled (engine_name_info); default "syscall" plus the sources of Rules.
	Sources []string
	// EngineName of the syscall source (default "modern_bpf").
	EngineName string
	// OutputsQueueDrops reports falcosecurity_falco_outputs_queue_num_drops_total.
	OutputsQueueDrops func() uint64
	// EventsPerSec is the background syscall event rate behind n_evts (default 25000).
	EventsPerSec float64
	// KernelDropsPerSec makes kernel drops grow at this rate (default 0).
	KernelDropsPerSec float64
	// Containers is n_containers (default 0).
	Containers int
	// Strict emits one HELP/TYPE per metric family (valid for strict text parsers)
	// instead of Falco's one pair per series.
	Strict bool
}

// Metrics renders Falco's /metrics.
type Metrics struct {
	cfg       MetricsConfig
	start     time.Time
	drops     atomic.Uint64
	rulesSHA  map[string]string
	configSHA string

	mu            sync.Mutex
	dropRate      float64
	dropRateStart time.Time
	lastWall      time.Time
	lastCPU       float64 // process cpu seconds
	lastHost      [2]uint64
}

var dropKinds = []struct {
	name   string
	weight uint64 // per 100
}{
	{"clone_fork", 5}, {"execve", 10}, {"connect", 10}, {"open", 30}, {"dir_file", 5},
	{"other_interest", 30}, {"close", 5}, {"proc", 5},
}

// NewMetrics builds the endpoint; its uptime starts now.
func NewMetrics(cfg MetricsConfig) *Metrics {
	if cfg.Hostname == "" {
		cfg.Hostname, _ = os.Hostname()
	}
	if cfg.Version == "" {
		cfg.Version = DefaultFalcoVersion
	}
	if cfg.KernelRelease == "" {
		cfg.KernelRelease = kernelRelease()
	}
	if cfg.Rules == nil {
		cfg.Rules = catalog
	}
	if cfg.EngineName == "" {
		cfg.EngineName = "modern_bpf"
	}
	if cfg.EventsPerSec == 0 {
		cfg.EventsPerSec = 25000
	}
	if len(cfg.Sources) == 0 {
		set := map[string]bool{"syscall": true}
		cfg.Sources = []string{"syscall"}
		for _, r := range cfg.Rules {
			if !set[r.Source] {
				set[r.Source] = true
				cfg.Sources = append(cfg.Sources, r.Source)
			}
		}
	}
	m := &Metrics{cfg: cfg, start: time.Now(), rulesSHA: map[string]string{}}
	m.SetKernelDropsRate(cfg.KernelDropsPerSec)
	files := map[string]*strings.Builder{}
	for _, r := range cfg.Rules {
		f := map[string]string{"stable": "falco_rules.yaml", "incubating": "falco-incubating_rules.yaml",
			"sandbox": "falco-sandbox_rules.yaml", "k8saudit": "k8s_audit_rules.yaml"}[r.Maturity]
		if f == "" {
			f = "falco_rules.local.yaml"
		}
		if files[f] == nil {
			files[f] = &strings.Builder{}
		}
		files[f].WriteString(r.Name + "\n" + r.Output + "\n")
	}
	for f, b := range files {
		sum := sha256.Sum256([]byte(b.String()))
		m.rulesSHA[f] = hex.EncodeToString(sum[:])
	}
	sum := sha256.Sum256([]byte("falco.yaml " + cfg.Version))
	m.configSHA = hex.EncodeToString(sum[:])
	m.lastWall = m.start
	m.lastCPU = processCPUSeconds()
	m.lastHost = hostCPUTicks()
	return m
}

// AddKernelDrops adds n kernel-side drops (spread over the n_drops_buffer kinds).
func (m *Metrics) AddKernelDrops(n uint64) { m.drops.Add(n) }

// SetKernelDropsRate makes kernel drops grow at perSec from now on (0 stops it).
func (m *Metrics) SetKernelDropsRate(perSec float64) {
	m.mu.Lock()
	now := time.Now()
	if m.dropRate > 0 { // bank what the previous rate produced
		m.drops.Add(uint64(m.dropRate * now.Sub(m.dropRateStart).Seconds()))
	}
	m.dropRate, m.dropRateStart = perSec, now
	m.mu.Unlock()
}

// KernelDrops returns the kernel drops so far (falcosecurity_scap_n_drops_total).
func (m *Metrics) KernelDrops() uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.kernelDropsLocked()
}

func (m *Metrics) kernelDropsLocked() uint64 {
	n := m.drops.Load()
	if m.dropRate > 0 {
		n += uint64(m.dropRate * time.Since(m.dropRateStart).Seconds())
	}
	return n
}

// sample is one series.
type sample struct {
	name, help, typ, labels, value string
}

const metricsHelp = "https://falco.org/docs/metrics/"

// Render returns the exposition text.
func (m *Metrics) Render() []byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := time.Now()
	elapsed := now.Sub(m.start)
	var ss []sample
	add := func(name, typ, value string, labels ...string) {
		ss = append(ss, sample{name: name, help: metricsHelp, typ: typ, labels: fmtLabels(labels), value: value})
	}
	info := func(name string, labels ...string) { add(name, "gauge", "1", labels...) }
	u := func(v uint64) string { return strconv.FormatUint(v, 10) }
	d := func(v float64) string { return strconv.FormatFloat(v, 'f', 6, 64) }

	// Falco global metrics.
	info("falcosecurity_falco_version_info", "version", m.cfg.Version)
	files := make([]string, 0, len(m.rulesSHA))
	for f := range m.rulesSHA {
		files = append(files, f)
	}
	sort.Strings(files)
	for _, f := range files {
		info("falcosecurity_falco_sha256_rules_files_info", "file_name", f, "sha256", m.rulesSHA[f])
	}
	info("falcosecurity_falco_sha256_config_files_info", "file_name", "falco.yaml", "sha256", m.configSHA)

	var matches uint64
	if m.cfg.Matches != nil {
		matches = m.cfg.Matches.Total()
		rm := m.cfg.Matches.ruleMatches()
		order := make([]*Rule, 0, len(rm))
		for r := range rm {
			order = append(order, r)
		}
		idx := map[*Rule]int{}
		for i, r := range catalog {
			idx[r] = i
		}
		sort.Slice(order, func(i, j int) bool {
			a, b := order[i], order[j]
			ia, oka := idx[a]
			ib, okb := idx[b]
			if oka != okb {
				return oka
			}
			if oka && ia != ib {
				return ia < ib
			}
			return a.Name < b.Name
		})
		for _, r := range order {
			prios := make([]Priority, 0, len(rm[r]))
			for p := range rm[r] {
				prios = append(prios, p)
			}
			sort.Slice(prios, func(i, j int) bool { return prios[i] < prios[j] })
			tags := append([]string(nil), r.Tags...)
			sort.Strings(tags)
			for _, p := range prios {
				n := rm[r][p]
				if n == 0 {
					continue
				}
				labels := []string{"priority", strconv.Itoa(int(p)), "rule_name", r.Name, "source", r.Source}
				for _, t := range tags {
					labels = append(labels, "tag_"+t, "true")
				}
				add("falcosecurity_falco_rules_matches_total", "counter", u(n), labels...)
			}
		}
	}

	// Per-source metrics.
	evts := uint64(m.cfg.EventsPerSec*elapsed.Seconds()) + matches
	drops := m.kernelDropsLocked()
	for i, src := range m.cfg.Sources {
		engine := "source_plugin"
		if src == "syscall" {
			engine = m.cfg.EngineName
		}
		info("falcosecurity_scap_engine_name_info", "engine_name", engine, "evt_source", src)
		if src == "syscall" {
			// kernel_event_counters_enabled
			add("falcosecurity_scap_n_evts_total", "counter", u(evts+drops))
			var given uint64
			for j, k := range dropKinds {
				n := drops * k.weight / 100
				if j == len(dropKinds)-1 {
					n = drops - given
				}
				given += n
				add("falcosecurity_scap_n_drops_buffer_total", "counter", u(n), "dir", "exit", "drop", k.name)
			}
			add("falcosecurity_scap_n_drops_scratch_map_total", "counter", "0")
			add("falcosecurity_scap_n_drops_page_faults_total", "counter", "0")
			add("falcosecurity_scap_n_drops_bug_total", "counter", "0")
			add("falcosecurity_scap_n_drops_total", "counter", u(drops))
			// resource_utilization_enabled
			cpu := processCPUSeconds()
			wall := now.Sub(m.lastWall).Seconds()
			ratio := 0.0
			if wall > 0 {
				ratio = (cpu - m.lastCPU) / wall
			}
			if wall >= 0.5 {
				m.lastCPU, m.lastWall = cpu, now
			}
			rss, vsz := processMemory()
			pss := processPSS(rss)
			host := hostCPUTicks()
			hostRatio := 0.0
			if dt := host[1] - m.lastHost[1]; dt > 0 {
				hostRatio = float64(host[0]-m.lastHost[0]) / float64(dt)
			}
			if wall >= 0.5 {
				m.lastHost = host
			}
			add("falcosecurity_falco_cpu_usage_ratio", "gauge", d(ratio))
			add("falcosecurity_falco_memory_rss_bytes", "gauge", d(float64(rss)))
			add("falcosecurity_falco_memory_vsz_bytes", "gauge", d(float64(vsz)))
			add("falcosecurity_falco_memory_pss_bytes", "gauge", d(float64(pss)))
			add("falcosecurity_falco_container_memory_used_bytes", "gauge", d(float64(cgroupMemory())))
			add("falcosecurity_falco_host_cpu_usage_ratio", "gauge", d(hostRatio))
			add("falcosecurity_falco_host_memory_used_bytes", "gauge", d(float64(hostMemoryUsed())))
			add("falcosecurity_falco_host_procs_running_total", "gauge", u(hostProcsRunning()))
			add("falcosecurity_falco_host_open_fds_total", "gauge", u(hostOpenFDs()))
			// state_counters_enabled
			f := func(x float64) string { return u(uint64(float64(evts) * x)) }
			add("falcosecurity_scap_n_threads_total", "gauge", u(uint64(600+10*m.cfg.Containers)))
			add("falcosecurity_scap_n_fds_total", "gauge", u(uint64(24000+150*m.cfg.Containers)))
			add("falcosecurity_scap_n_noncached_fd_lookups_total", "counter", f(0.21))
			add("falcosecurity_scap_n_cached_fd_lookups_total", "counter", f(0.58))
			add("falcosecurity_scap_n_failed_fd_lookups_total", "counter", f(0.012))
			add("falcosecurity_scap_n_added_fds_total", "counter", f(0.055))
			add("falcosecurity_scap_n_removed_fds_total", "counter", f(0.049))
			add("falcosecurity_scap_n_stored_evts_total", "counter", f(0.018))
			add("falcosecurity_scap_n_store_evts_drops_total", "counter", "0")
			add("falcosecurity_scap_n_retrieved_evts_total", "counter", f(0.017))
			add("falcosecurity_scap_n_retrieve_evts_drops_total", "counter", f(0.0008))
			add("falcosecurity_scap_n_noncached_thread_lookups_total", "counter", f(0.31))
			add("falcosecurity_scap_n_cached_thread_lookups_total", "counter", f(0.44))
			add("falcosecurity_scap_n_failed_thread_lookups_total", "counter", f(0.036))
			add("falcosecurity_scap_n_added_threads_total", "counter", f(0.0011))
			add("falcosecurity_scap_n_removed_threads_total", "counter", f(0.001))
			add("falcosecurity_scap_n_drops_full_threadtable_total", "counter", "0")
			add("falcosecurity_scap_n_missing_container_images_total", "gauge", "0")
			add("falcosecurity_scap_n_containers_total", "gauge", u(uint64(m.cfg.Containers)))
			for _, k := range []string{"clone_fork", "execve", "connect", "open", "dir_file", "other_interest"} {
				ss = append(ss, sample{name: "falcosecurity_scap_n_drops_buffer_total",
					help:   metricsHelp + " (DEPRECATED: enter events are no longer tracked in falcosecurity/libs)",
					typ:    "counter",
					labels: fmtLabels([]string{"dir", "enter", "drop", k}), value: "0"})
			}
		}
		if i == 0 {
			info("falcosecurity_falco_kernel_release_info", "kernel_release", m.cfg.KernelRelease)
			info("falcosecurity_evt_hostname_info", "hostname", m.cfg.Hostname)
		}
	}

	// Wrapper metrics.
	var qdrops uint64
	if m.cfg.OutputsQueueDrops != nil {
		qdrops = m.cfg.OutputsQueueDrops()
	}
	add("falcosecurity_falco_outputs_queue_num_drops_total", "counter", u(qdrops))
	add("falcosecurity_falco_reload_timestamp_nanoseconds", "gauge", strconv.FormatInt(m.start.UnixNano(), 10))
	add("falcosecurity_falco_start_timestamp_nanoseconds", "gauge", strconv.FormatInt(m.start.UnixNano(), 10))
	add("falcosecurity_falco_duration_seconds_total", "counter", u(uint64(elapsed/time.Second)))
	add("falcosecurity_falco_host_boot_timestamp_nanoseconds", "gauge", strconv.FormatInt(hostBootNanos(), 10))
	add("falcosecurity_falco_host_num_cpus_total", "gauge", strconv.Itoa(runtime.NumCPU()))

	return renderSamples(ss, m.cfg.Strict)
}

func renderSamples(ss []sample, strict bool) []byte {
	var b bytes.Buffer
	b.Grow(len(ss) * 160)
	line := func(s sample) {
		b.WriteString(s.name)
		if s.labels != "" {
			b.WriteString(s.labels)
		}
		b.WriteByte(' ')
		b.WriteString(s.value)
		b.WriteByte('\n')
	}
	header := func(s sample) {
		b.WriteString("# HELP " + s.name + " " + s.help + "\n")
		b.WriteString("# TYPE " + s.name + " " + s.typ + "\n")
	}
	if !strict {
		for _, s := range ss {
			header(s)
			line(s)
		}
		return b.Bytes()
	}
	var order []string
	fam := map[string][]sample{}
	for _, s := range ss {
		if _, ok := fam[s.name]; !ok {
			order = append(order, s.name)
		}
		fam[s.name] = append(fam[s.name], s)
	}
	for _, n := range order {
		header(fam[n][0])
		for _, s := range fam[n] {
			line(s)
		}
	}
	return b.Bytes()
}

// fmtLabels renders {k="v",...}: label names sanitised like libs
// (prometheus_sanitize_metric_name with [^a-zA-Z0-9_]); pairs are emitted in the
// given order (callers pass them sorted by the unsanitised key, as Falco's std::map).
func fmtLabels(kv []string) string {
	if len(kv) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteByte('{')
	for i := 0; i+1 < len(kv); i += 2 {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(sanitizeLabelName(kv[i]))
		b.WriteString(`="`)
		b.WriteString(escapeLabelValue(kv[i+1]))
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String()
}

// SanitizeLabelName maps a name to Prometheus' label charset like Falco's libs:
// invalid characters become '_', runs of '_' collapse, and a leading digit gets a '_'.
func sanitizeLabelName(s string) string {
	var b strings.Builder
	lastUnderscore := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
		if !ok {
			c = '_'
		}
		if c == '_' {
			if lastUnderscore {
				continue
			}
			lastUnderscore = true
		} else {
			lastUnderscore = false
		}
		b.WriteByte(c)
	}
	out := b.String()
	if out == "" || !(out[0] == '_' || out[0] >= 'a' && out[0] <= 'z' || out[0] >= 'A' && out[0] <= 'Z') {
		out = "_" + out
	}
	return out
}

// TagLabel returns the rules_matches_total label name Falco uses for a rule tag,
// e.g. "T1059.004" -> "tag_T1059_004".
func TagLabel(tag string) string { return sanitizeLabelName("tag_" + tag) }

func escapeLabelValue(v string) string {
	if !strings.ContainsAny(v, "\\\"\n") {
		return v
	}
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return r.Replace(v)
}

// Handler serves /metrics, /healthz and /versions like Falco's webserver.
func (m *Metrics) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		w.Write(m.Render())
	})
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"status":"ok"}`))
	})
	mux.HandleFunc("/versions", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"falco_version": m.cfg.Version, "engine_version": "0.55.0", "engine_version_semver": "0.55.0",
			"libs_version": "0.21.0", "plugin_api_version": "3.10.0",
			"driver_api_version": "8.0.0", "driver_schema_version": "3.62.0", "default_driver_version": "8.1.0+driver",
		})
	})
	return mux
}

// ---- host readings (Linux /proc; zeros elsewhere) ----

func readFile(p string) string {
	b, err := os.ReadFile(p)
	if err != nil {
		return ""
	}
	return string(b)
}

func kernelRelease() string {
	if s := strings.TrimSpace(readFile("/proc/sys/kernel/osrelease")); s != "" {
		return s
	}
	return "6.8.0-emulated"
}

func processCPUSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	tv := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return tv(ru.Utime) + tv(ru.Stime)
}

func processMemory() (rss, vsz uint64) {
	f := strings.Fields(readFile("/proc/self/statm"))
	if len(f) < 2 {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.Sys, ms.Sys
	}
	page := uint64(os.Getpagesize())
	v, _ := strconv.ParseUint(f[0], 10, 64)
	r, _ := strconv.ParseUint(f[1], 10, 64)
	return r * page, v * page
}

func processPSS(rss uint64) uint64 {
	if kb := meminfoValue(readFile("/proc/self/smaps_rollup"), "Pss:"); kb > 0 {
		return kb * 1024
	}
	return rss
}

func meminfoValue(text, key string) uint64 {
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, key) {
			f := strings.Fields(line[len(key):])
			if len(f) > 0 {
				v, _ := strconv.ParseUint(f[0], 10, 64)
				return v
			}
		}
	}
	return 0
}

func hostMemoryUsed() uint64 {
	mi := readFile("/proc/meminfo")
	total, avail := meminfoValue(mi, "MemTotal:"), meminfoValue(mi, "MemAvailable:")
	if total > avail {
		return (total - avail) * 1024
	}
	return 0
}

func cgroupMemory() uint64 {
	v, _ := strconv.ParseUint(strings.TrimSpace(readFile("/sys/fs/cgroup/memory.current")), 10, 64)
	return v
}

// hostCPUTicks returns (busy, total) jiffies from /proc/stat.
func hostCPUTicks() [2]uint64 {
	st := readFile("/proc/stat")
	line, _, _ := strings.Cut(st, "\n")
	f := strings.Fields(line)
	if len(f) < 5 || f[0] != "cpu" {
		return [2]uint64{}
	}
	var total, idle uint64
	for i, s := range f[1:] {
		v, _ := strconv.ParseUint(s, 10, 64)
		total += v
		if i == 3 || i == 4 { // idle, iowait
			idle += v
		}
	}
	return [2]uint64{total - idle, total}
}

func hostProcsRunning() uint64 { return meminfoValue(readFile("/proc/stat"), "procs_running") }

func hostOpenFDs() uint64 {
	f := strings.Fields(readFile("/proc/sys/fs/file-nr"))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseUint(f[0], 10, 64)
	return v
}

func hostBootNanos() int64 {
	if s := meminfoValue(readFile("/proc/stat"), "btime"); s > 0 {
		return int64(s) * int64(time.Second)
	}
	return 0
}
