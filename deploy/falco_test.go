package deploy

import (
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"
)

// Falco Helm chart (falcosecurity/charts, charts/falco) keys deploy/falco relies on, as they
// stand in the chart's values.yaml of chart 8.0.x (Falco 0.43); chart 9.0.0 (Falco 0.44)
// removed the gRPC ones (CHANGELOG "v9.0.0: Drop gRPC output and server support") and refuses
// them at install. Chart versions the files are written against:
const (
	falcoChartHTTP = "9.1.1" // deploy/falco/values.yaml, Falco 0.44.1
	falcoChartGRPC = "8.0.5" // deploy/falco/values-grpc.yaml, Falco 0.43.1
)

var falcoChart8Keys = []string{
	"falco.json_output",
	"falco.json_include_output_property",
	"falco.json_include_message_property",
	"falco.json_include_output_fields_property",
	"falco.json_include_tags_property",
	"falco.http_output.enabled",
	"falco.http_output.url",
	"falco.http_output.user_agent",
	"falco.http_output.insecure",
	"falco.http_output.ca_cert",
	"falco.http_output.ca_bundle",
	"falco.http_output.ca_path",
	"falco.http_output.mtls",
	"falco.http_output.client_cert",
	"falco.http_output.client_key",
	"falco.http_output.echo",
	"falco.http_output.compress_uploads",
	"falco.http_output.keep_alive",
	"falco.http_output.max_consecutive_timeouts",
	"falco.grpc.enabled",
	"falco.grpc.bind_address",
	"falco.grpc.threadiness",
	"falco.grpc_output.enabled",
	"falco.webserver.enabled",
	"falco.webserver.threadiness",
	"falco.webserver.listen_port",
	"mounts.volumes",
	"mounts.volumeMounts",
	"falco.webserver.listen_address",
	"falco.webserver.k8s_healthz_endpoint",
	"falco.webserver.prometheus_metrics_enabled",
	"falco.webserver.ssl_enabled",
	"falco.webserver.ssl_certificate",
	"metrics.enabled",
	"metrics.interval",
	"metrics.outputRule",
	"metrics.rulesCountersEnabled",
	"metrics.resourceUtilizationEnabled",
	"metrics.stateCountersEnabled",
	"metrics.kernelEventCountersEnabled",
	"metrics.libbpfStatsEnabled",
	"metrics.pluginsMetricsEnabled",
	"metrics.convertMemoryToMB",
	"metrics.includeEmptyValues",
	"metrics.service.create",
	"metrics.service.type",
}

// falcoChart9Removed are the chart-8 keys chart 9.0.0 dropped.
var falcoChart9Removed = []string{"falco.grpc.", "falco.grpc_output.", "driver.ebpf.", "driver.gvisor."}

// falcoWebserverPort is Falco's webserver port (falco.webserver.listen_port).
const falcoWebserverPort = 8765

// leafPaths flattens a values tree into dotted paths of its leaves (lists are leaves).
func leafPaths(prefix string, v any) []string {
	m, ok := v.(map[string]any)
	if !ok || len(m) == 0 {
		return []string{prefix}
	}
	var out []string
	for k, x := range m {
		p := k
		if prefix != "" {
			p = prefix + "." + k
		}
		out = append(out, leafPaths(p, x)...)
	}
	sort.Strings(out)
	return out
}

func readValues(t *testing.T, p string) map[string]any {
	t.Helper()
	b := mustRead(t, p)
	if err := checkNoDuplicateKeys(b); err != nil {
		t.Fatalf("%s: %v", p, err)
	}
	var v map[string]any
	if err := yaml.Unmarshal(b, &v); err != nil {
		t.Fatalf("%s: %v", p, err)
	}
	if len(v) == 0 {
		t.Fatalf("%s: empty", p)
	}
	return v
}

func get(v map[string]any, dotted string) any {
	var keys []any
	for _, k := range strings.Split(dotted, ".") {
		keys = append(keys, k)
	}
	x, _ := lookup(v, keys...)
	return x
}

// TestFalcoValues checks deploy/falco against the Falco chart's keys and against the agent:
// http_output reaches the agent's HTTP ingest through its node-local Service, the gRPC socket
// is the one the agent mounts, and Falco's metrics are where the agent scrapes them.
func TestFalcoValues(t *testing.T) {
	http := readValues(t, "falco/values.yaml")
	grpc := readValues(t, "falco/values-grpc.yaml")

	t.Run("keys", func(t *testing.T) {
		for file, v := range map[string]map[string]any{"values.yaml": http, "values-grpc.yaml": grpc} {
			for _, p := range leafPaths("", v) {
				if !slices.Contains(falcoChart8Keys, p) {
					t.Errorf("%s: %s is not a key of the Falco chart", file, p)
				}
				for _, r := range falcoChart9Removed {
					if file == "values.yaml" && strings.HasPrefix(p+".", r) {
						t.Errorf("values.yaml: %s was removed in chart 9 (%s)", p, falcoChartHTTP)
					}
				}
			}
		}
		t.Logf("written against Falco chart %s (HTTP) and %s (gRPC)", falcoChartHTTP, falcoChartGRPC)
	})

	b := base(t)
	w := agentWorkload(t, b)

	t.Run("http_output", func(t *testing.T) {
		if get(http, "falco.json_output") != true || get(http, "falco.http_output.enabled") != true {
			t.Fatal("values.yaml must enable json_output and http_output")
		}
		raw, _ := get(http, "falco.http_output.url").(string)
		u, err := url.Parse(raw)
		if err != nil || u.Scheme != "http" || u.Path != "/" {
			t.Fatalf("http_output.url %q: want http://<agent service>:<port>/", raw)
		}
		if !serviceHost(u.Hostname(), w.svc.Name, w.svc.Namespace) {
			t.Errorf("http_output.url host %q is not the agent Service %s.%s.svc", u.Hostname(), w.svc.Name, w.svc.Namespace)
		}
		// The URL's port is a Service port whose target is the receiver's HTTP ingest.
		ingest := containerPort(t, w.c, intstr.FromString("falco-http"))
		if ports := falcoHTTPPorts(t, w); len(ports) > 0 {
			ingest = ports[0]
		}
		sp, ok := servicePortTo(t, w.svc, w.c, ingest)
		if !ok || u.Port() != fmt.Sprint(sp.Port) {
			t.Errorf("http_output.url port %s; the agent Service serves the HTTP ingest (%d) on %d", u.Port(), ingest, sp.Port)
		}
	})

	t.Run("metrics", func(t *testing.T) {
		if get(http, "metrics.enabled") != true || get(http, "falco.webserver.prometheus_metrics_enabled") != true {
			t.Error("values.yaml must enable metrics.enabled and webserver.prometheus_metrics_enabled")
		}
		if p, _ := get(http, "falco.webserver.listen_port").(float64); p != falcoWebserverPort {
			t.Errorf("webserver.listen_port %v, the agent scrapes %d", p, falcoWebserverPort)
		}
		fm := find[corev1.Service](t, b, falcoNamespace, falcoMetrics)
		if fm.Spec.Ports[0].TargetPort.IntVal != falcoWebserverPort {
			t.Errorf("%s targets %v", falcoMetrics, fm.Spec.Ports[0].TargetPort)
		}
	})

	t.Run("grpc", func(t *testing.T) {
		if get(grpc, "falco.http_output.enabled") != false {
			t.Error("values-grpc.yaml must turn http_output off, or every alert arrives twice")
		}
		if get(grpc, "falco.grpc.enabled") != true || get(grpc, "falco.grpc_output.enabled") != true {
			t.Error("values-grpc.yaml must enable grpc and grpc_output")
		}
		bind, _ := get(grpc, "falco.grpc.bind_address").(string)
		if !strings.HasPrefix(bind, "unix://") {
			t.Fatalf("grpc.bind_address %q is not a unix socket", bind)
		}
		sock := strings.TrimPrefix(bind, "unix://")
		socks := falcoSockets(t, w)
		if len(socks) == 0 {
			socks = []string{"/run/falco/falco.sock"} // the receiver's default
		}
		if !slices.Contains(socks, sock) {
			t.Errorf("Falco binds %s, the agent dials %v", sock, socks)
		}
		// The chart mounts dir(socket) from the host at the same path; so does the agent.
		m, v := mountFor(w.spec, w.c, sock)
		if m == nil || v == nil || v.HostPath == nil || v.HostPath.Path != dirOf(sock) || m.MountPath != dirOf(sock) {
			t.Errorf("agent does not mount host %s at the same path", dirOf(sock))
		}
	})
}
