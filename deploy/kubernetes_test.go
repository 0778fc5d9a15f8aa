package deploy

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/kustomize/api/types"
)

const (
	baseDir    = "kubernetes"
	overlayDir = "overlays/falco-grpc"
)

var (
	baseOnce   sync.Once
	baseObjs   bundle
	baseFailed bool
)

// base is the rendered deploy/kubernetes kustomization, built once for all tests.
func base(t *testing.T) bundle {
	t.Helper()
	baseOnce.Do(func() {
		baseFailed = true
		baseObjs = render(t, baseDir)
		baseFailed = false
	})
	if baseFailed {
		t.Fatal("kustomize build of deploy/kubernetes failed (see the first failing test)")
	}
	return baseObjs
}

// pending notes a check that waits for config/*.yaml to grow the component it is about.
func pending(t *testing.T, format string, args ...any) {
	t.Helper()
	t.Logf("not checked yet: "+format, args...)
}

// TestManifestsDecodeStrictly decodes every manifest file, one document at a time, into its
// k8s.io/api type (prometheus-operator's for the ServiceMonitor) with unknown fields as errors,
// and each kustomization into kustomize's own type.
func TestManifestsDecodeStrictly(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(baseDir, "*.yaml"))
	overlayFiles, _ := filepath.Glob(filepath.Join("overlays", "*", "*.yaml"))
	files = append(files, overlayFiles...)
	if len(files) < 10 {
		t.Fatalf("found only %d manifest files", len(files))
	}
	for _, f := range files {
		if crdManifests[filepath.Base(f)] && filepath.Base(f) != "servicemonitor.yaml" {
			continue // cert-manager's kinds: TestFalcoMTLSOverlay decodes it
		}
		t.Run(f, func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if filepath.Base(f) == "kustomization.yaml" {
				var k types.Kustomization
				if err := strictYAML(b, &k); err != nil {
					t.Fatalf("kustomization: %v", err)
				}
				checkKustomizationFiles(t, filepath.Dir(f), &k)
				return
			}
			objs, err := decodeManifests(f, b)
			if err != nil {
				t.Fatal(err)
			}
			if len(objs) == 0 {
				t.Fatal("no manifest in file")
			}
		})
	}
}

// crdManifests need a CRD (Prometheus Operator, cert-manager) and stay out of the kustomizations.
var crdManifests = map[string]bool{"servicemonitor.yaml": true, "cert-manager.yaml": true}

// checkKustomizationFiles holds a kustomization to the files beside it: each one it names
// exists, and each manifest in its directory is named (but the optional ServiceMonitor).
func checkKustomizationFiles(t *testing.T, dir string, k *types.Kustomization) {
	named := map[string]bool{}
	for _, r := range k.Resources {
		named[filepath.Clean(r)] = true
	}
	for _, p := range k.Patches {
		if p.Path != "" {
			named[filepath.Clean(p.Path)] = true
		}
	}
	for _, g := range k.ConfigMapGenerator {
		for _, f := range g.FileSources {
			_, src, found := strings.Cut(f, "=")
			if !found {
				src = f
			}
			named[filepath.Clean(src)] = true
		}
	}
	for f := range named {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("%s names %s: %v", dir, f, err)
		}
	}
	local, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	for _, f := range local {
		base := filepath.Base(f)
		if base == "kustomization.yaml" || crdManifests[base] {
			continue
		}
		if !named[base] {
			t.Errorf("%s is not in %s/kustomization.yaml", base, dir)
		}
	}
	for f := range crdManifests {
		if named[f] {
			t.Errorf("%s: %s needs a CRD; keep it out of the build", dir, f)
		}
	}
}

// TestKustomizationRenders builds deploy/kubernetes as `kubectl apply -k` does and checks the
// set of objects it makes.
func TestKustomizationRenders(t *testing.T) {
	b := base(t)
	var got []string
	for _, o := range b {
		id := o.id()
		if _, ok := o.obj.(*corev1.ConfigMap); ok {
			id = o.meta.Kind + "/" + o.ns + "/" + o.name[:strings.LastIndex(o.name, "-")]
		}
		got = append(got, id)
	}
	want := []string{
		"Namespace//" + namespace,
		"ServiceAccount/" + namespace + "/" + agentName,
		"ServiceAccount/" + namespace + "/" + gatewayName,
		"ConfigMap/" + namespace + "/" + agentName,
		"ConfigMap/" + namespace + "/" + gatewayName,
		"DaemonSet/" + namespace + "/" + agentName,
		"Service/" + namespace + "/" + agentName,
		"Service/" + falcoNamespace + "/" + falcoMetrics,
		"StatefulSet/" + namespace + "/" + gatewayName,
		"NetworkPolicy/" + namespace + "/" + agentName,
		"NetworkPolicy/" + namespace + "/" + gatewayName,
		"Service/" + namespace + "/" + gatewayName,
		"PodDisruptionBudget/" + namespace + "/" + gatewayName,
		"HorizontalPodAutoscaler/" + namespace + "/" + gatewayName,
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("rendered objects:\n got %v\nwant %v", got, want)
	}
}

// TestConfigMapsMount checks that each workload mounts its generated ConfigMap and starts the
// collector on the file in it.
func TestConfigMapsMount(t *testing.T) {
	b := base(t)
	for _, w := range []struct {
		name, key string
		spec      *corev1.PodSpec
	}{
		{agentName, "agent.yaml", &find[appsv1.DaemonSet](t, b, namespace, agentName).Spec.Template.Spec},
		{gatewayName, "gateway.yaml", &find[appsv1.StatefulSet](t, b, namespace, gatewayName).Spec.Template.Spec},
	} {
		cm := findConfigMap(t, b, namespace, w.name)
		if _, ok := cm.Data[w.key]; !ok || len(cm.Data) != 1 {
			t.Errorf("ConfigMap %s: want the one key %s, have %v", cm.Name, w.key, keys(cm.Data))
		}
		c := podContainer(t, w.spec, containerName)
		want := ""
		for _, v := range w.spec.Volumes {
			if v.ConfigMap != nil && v.ConfigMap.Name == cm.Name {
				for _, m := range c.VolumeMounts {
					if m.Name == v.Name {
						want = "--config=" + m.MountPath + "/" + w.key
					}
				}
			}
		}
		if want == "" {
			t.Errorf("%s does not mount ConfigMap %s", w.name, cm.Name)
			continue
		}
		if !slices.Equal(c.Args, []string{want}) {
			t.Errorf("%s args %v, want [%s]", w.name, c.Args, want)
		}
	}
}

func keys[V any](m map[string]V) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// workload gathers what the agent and gateway checks need.
type workload struct {
	what string
	spec *corev1.PodSpec
	c    *corev1.Container
	cfg  collectorConfig
	env  environment
	svc  *corev1.Service
}

func agentWorkload(t *testing.T, b bundle) workload {
	ds := find[appsv1.DaemonSet](t, b, namespace, agentName)
	spec := &ds.Spec.Template.Spec
	c := podContainer(t, spec, containerName)
	cm := findConfigMap(t, b, namespace, agentName)
	return workload{
		what: "agent", spec: spec, c: c,
		cfg: parseCollectorConfig(t, "agent.yaml", []byte(cm.Data["agent.yaml"])),
		env: containerEnv(t, c),
		svc: find[corev1.Service](t, b, namespace, agentName),
	}
}

func gatewayWorkload(t *testing.T, b bundle) workload {
	spec := statefulPodSpec(find[appsv1.StatefulSet](t, b, namespace, gatewayName))
	c := podContainer(t, spec, containerName)
	cm := findConfigMap(t, b, namespace, gatewayName)
	return workload{
		what: "gateway", spec: spec, c: c,
		cfg: parseCollectorConfig(t, "gateway.yaml", []byte(cm.Data["gateway.yaml"])),
		env: containerEnv(t, c),
		svc: find[corev1.Service](t, b, namespace, gatewayName),
	}
}

// TestAgent checks the DaemonSet against config/agent.yaml and the Services around it.
func TestAgent(t *testing.T) {
	b := base(t)
	w := agentWorkload(t, b)
	ds := find[appsv1.DaemonSet](t, b, namespace, agentName)

	t.Run("selectors", func(t *testing.T) {
		labels := ds.Spec.Template.Labels
		if !selects(ds.Spec.Selector.MatchLabels, labels) {
			t.Error("DaemonSet selector does not match its pods")
		}
		if !selects(w.svc.Spec.Selector, labels) {
			t.Error("agent Service does not select the agent pods")
		}
		itp := w.svc.Spec.InternalTrafficPolicy
		if itp == nil || *itp != corev1.ServiceInternalTrafficPolicyLocal {
			t.Error("agent Service must be node-local (internalTrafficPolicy: Local) so Falco reaches the agent on its own node")
		}
	})

	t.Run("falco http ingest", func(t *testing.T) {
		ports := falcoHTTPPorts(t, w)
		if len(ports) == 0 {
			pending(t, "config/agent.yaml has no falco receiver `http` block; the Service's falco-http port targets %d",
				containerPort(t, w.c, intstr.FromString("falco-http")))
		}
		for _, p := range ports {
			checkServed(t, w, "falco receiver http", p, "falco-http")
		}
	})

	t.Run("prometheus exporter", func(t *testing.T) {
		p := prometheusPort(t, w)
		sp := checkServed(t, w, "prometheus exporter", p, "metrics")
		checkScrapeAnnotations(t, w.svc, sp)
	})

	t.Run("telemetry", func(t *testing.T) { checkTelemetry(t, w) })
	t.Run("health_check probes", func(t *testing.T) { checkProbes(t, w) })
	t.Run("queue directory", func(t *testing.T) { checkQueueDirs(t, w) })
	t.Run("env", func(t *testing.T) { checkEnv(t, w) })
	t.Run("security", func(t *testing.T) { checkPodSecurity(t, "agent", w.spec, false) })
	t.Run("image", func(t *testing.T) { checkImage(t, w.c) })

	t.Run("falco socket", func(t *testing.T) {
		hostRunFalco := false
		for _, v := range w.spec.Volumes {
			if v.HostPath != nil && v.HostPath.Path == "/run/falco" {
				hostRunFalco = true
			}
		}
		if !hostRunFalco {
			t.Error("no hostPath volume for /run/falco, where Falco <= 0.43 puts its gRPC socket")
		}
		socks := falcoSockets(t, w)
		if len(socks) == 0 {
			pending(t, "config/agent.yaml has no falco receiver `grpc` block on a unix socket")
		}
		for _, sock := range socks {
			m, v := mountFor(w.spec, w.c, sock)
			dir := dirOf(sock)
			switch {
			case m == nil || v == nil:
				t.Errorf("socket %s is on no volume", sock)
			case v.HostPath == nil || v.HostPath.Path != dir || m.MountPath != dir:
				t.Errorf("socket %s: want host path %s mounted at %s, have volume %s mounted at %s",
					sock, dir, dir, v.Name, m.MountPath)
			}
		}
	})

	t.Run("node name", func(t *testing.T) {
		if got := w.env["K8S_NODE_NAME"]; got != "downward-api:spec.nodeName" {
			t.Errorf("K8S_NODE_NAME should come from the downward API's spec.nodeName, is %q", got)
		}
		procs := w.cfg.components("processors", "falcolabel")
		if len(procs) == 0 {
			pending(t, "config/agent.yaml has no falcolabel processor")
		}
		for id, p := range procs {
			v, ok := lookupString(p, "k8s_node_name")
			if !ok || w.env.expand(v) != "downward-api:spec.nodeName" {
				t.Errorf("%s.k8s_node_name = %q does not resolve to the node name", id, v)
			}
		}
	})

	t.Run("gateway endpoint", func(t *testing.T) {
		gw := gatewayWorkload(t, b)
		grpcPort := otlpPorts(t, gw)["grpc"]
		if grpcPort == 0 {
			t.Fatal("gateway config has no OTLP gRPC receiver")
		}
		sp, ok := servicePortTo(t, gw.svc, gw.c, grpcPort)
		if !ok {
			t.Fatalf("gateway Service exposes no port to OTLP gRPC %d", grpcPort)
		}
		check := func(what, ep string) {
			ep = strings.TrimPrefix(ep, "dns:///")
			host, _, _ := strings.Cut(ep, ":")
			if !serviceHost(host, gw.svc.Name, gw.svc.Namespace) || port(t, what, ep) != sp.Port {
				t.Errorf("%s %q: want %s.%s.svc:%d", what, ep, gw.svc.Name, gw.svc.Namespace, sp.Port)
			}
		}
		if v, ok := w.env["GATEWAY_OTLP_ENDPOINT"]; ok {
			check("GATEWAY_OTLP_ENDPOINT", v)
		}
		exps := w.cfg.components("exporters", "otlp")
		for id, e := range w.cfg.components("exporters", "otlp_grpc") {
			exps[id] = e
		}
		if len(exps) == 0 {
			pending(t, "config/agent.yaml has no otlp exporter to the gateway")
		}
		for id, e := range exps {
			if ep, ok := lookupString(e, "endpoint"); ok {
				check(id+".endpoint", w.env.expand(ep))
			}
		}
	})

	t.Run("falco metrics", func(t *testing.T) {
		fm := find[corev1.Service](t, b, falcoNamespace, falcoMetrics)
		itp := fm.Spec.InternalTrafficPolicy
		if itp == nil || *itp != corev1.ServiceInternalTrafficPolicyLocal {
			t.Error("Falco metrics Service must be node-local: each agent scrapes the Falco of its own node")
		}
		if !selects(fm.Spec.Selector, falcoPodLabels) {
			t.Errorf("%s selects %v, not the Falco chart's pods %v", falcoMetrics, fm.Spec.Selector, falcoPodLabels)
		}
		target, ok := w.env["FALCO_METRICS_TARGET"]
		if !ok {
			t.Fatal("FALCO_METRICS_TARGET is not set: the config's default (localhost) is not Falco's pod")
		}
		host, _, _ := strings.Cut(target, ":")
		if !serviceHost(host, fm.Name, fm.Namespace) || len(fm.Spec.Ports) != 1 || port(t, "FALCO_METRICS_TARGET", target) != fm.Spec.Ports[0].Port {
			t.Errorf("FALCO_METRICS_TARGET %q does not name %s.%s.svc:<its port>", target, fm.Name, fm.Namespace)
		}
		if len(fm.Spec.Ports) == 1 && fm.Spec.Ports[0].TargetPort != intstr.FromInt32(falcoWebserverPort) {
			t.Errorf("%s targets %v, Falco's webserver listens on %d", falcoMetrics, fm.Spec.Ports[0].TargetPort, falcoWebserverPort)
		}
		// The falco receiver scrapes Falco's /metrics (falco_metrics), in a metrics pipeline.
		scrapes := false
		for _, r := range w.cfg.components("receivers", "falco") {
			ep, _ := lookup(r, "falco_metrics", "endpoint")
			if s, ok := ep.(string); ok && w.env.expand(s) == "http://"+target+"/metrics" {
				scrapes = true
			}
		}
		if !scrapes {
			t.Error("config/agent.yaml has no falco receiver scraping http://FALCO_METRICS_TARGET/metrics")
		}
	})

	t.Run("resources", func(t *testing.T) {
		checkResources(t, w, resource.MustParse("192Mi"))
	})

	t.Run("tolerations", func(t *testing.T) {
		// Falco's chart runs on control-plane nodes with these tolerations; the agent must too.
		for _, taint := range []corev1.Taint{
			{Key: "node-role.kubernetes.io/master", Effect: corev1.TaintEffectNoSchedule},
			{Key: "node-role.kubernetes.io/control-plane", Effect: corev1.TaintEffectNoSchedule},
		} {
			if !tolerates(w.spec.Tolerations, taint) {
				t.Errorf("agent does not tolerate %s:%s, which Falco's chart tolerates", taint.Key, taint.Effect)
			}
		}
	})
}

// falcoPodLabels are the Falco chart's selector labels for a release named "falco".
var falcoPodLabels = map[string]string{
	"app.kubernetes.io/name":     "falco",
	"app.kubernetes.io/instance": "falco",
}

// serviceHost accepts the in-cluster DNS names of a Service.
func serviceHost(host, name, ns string) bool {
	return host == name+"."+ns+".svc" || host == name+"."+ns+".svc.cluster.local"
}

// falcoHTTPPorts returns the ports of the falco receivers' HTTP ingest.
func falcoHTTPPorts(t *testing.T, w workload) []int32 {
	var ports []int32
	for id, r := range w.cfg.components("receivers", "falco") {
		if _, ok := r["http"]; !ok || !w.cfg.inService("receivers", id) {
			continue
		}
		ep, ok := lookupString(r, "http", "endpoint")
		if !ok {
			ep = "0.0.0.0:2801" // the receiver's default, falcosidekick's port
		}
		ports = append(ports, port(t, id+".http.endpoint", w.env.expand(ep)))
	}
	return ports
}

// falcoSockets returns the unix socket paths the falco receivers dial.
func falcoSockets(t *testing.T, w workload) []string {
	var socks []string
	for id, r := range w.cfg.components("receivers", "falco") {
		if _, ok := r["grpc"]; !ok || !w.cfg.inService("receivers", id) {
			continue
		}
		ep, ok := lookupString(r, "grpc", "endpoint")
		if !ok {
			ep = "unix:///run/falco/falco.sock"
		}
		if ep = w.env.expand(ep); strings.HasPrefix(ep, "unix://") {
			socks = append(socks, strings.TrimPrefix(ep, "unix://"))
		}
	}
	return socks
}

func prometheusPort(t *testing.T, w workload) int32 {
	var found []int32
	for id, e := range w.cfg.components("exporters", "prometheus") {
		if !w.cfg.inService("exporters", id) {
			continue
		}
		ep, ok := lookupString(e, "endpoint")
		if !ok {
			t.Fatalf("%s: no endpoint", id)
		}
		found = append(found, port(t, id+".endpoint", w.env.expand(ep)))
	}
	if len(found) != 1 {
		t.Fatalf("%s config: want one prometheus exporter in a pipeline, have %d", w.what, len(found))
	}
	return found[0]
}

// otlpPorts returns the OTLP receiver's gRPC and HTTP ports.
func otlpPorts(t *testing.T, w workload) map[string]int32 {
	ports := map[string]int32{}
	defaults := map[string]string{"grpc": "0.0.0.0:4317", "http": "0.0.0.0:4318"}
	for id, r := range w.cfg.components("receivers", "otlp") {
		if !w.cfg.inService("receivers", id) {
			continue
		}
		for proto, def := range defaults {
			if _, ok := lookup(r, "protocols", proto); !ok {
				continue
			}
			ep, ok := lookupString(r, "protocols", proto, "endpoint")
			if !ok {
				ep = def
			}
			ports[proto] = port(t, id+"."+proto, w.env.expand(ep))
		}
	}
	return ports
}

// checkServed checks that a port the config listens on is a named container port and is
// exposed by the workload's Service; it returns that Service port.
func checkServed(t *testing.T, w workload, what string, p int32, name string) corev1.ServicePort {
	t.Helper()
	if got := containerPort(t, w.c, intstr.FromString(name)); got != p {
		t.Errorf("%s listens on %d, container port %q is %d", what, p, name, got)
	}
	sp, ok := servicePortTo(t, w.svc, w.c, p)
	if !ok {
		t.Errorf("%s Service exposes no port to %s (%d)", w.what, what, p)
	}
	return sp
}

func checkScrapeAnnotations(t *testing.T, svc *corev1.Service, sp corev1.ServicePort) {
	t.Helper()
	a := svc.Annotations
	if a["prometheus.io/scrape"] != "true" || a["prometheus.io/path"] != "/metrics" {
		t.Errorf("Service %s: prometheus.io/scrape and /path annotations missing: %v", svc.Name, a)
	}
	// Prometheus' kubernetes_sd relabelling puts this port on each endpoint (pod) address.
	if want := (&sp.TargetPort).String(); a["prometheus.io/port"] == "" ||
		(a["prometheus.io/port"] != want && a["prometheus.io/port"] != itoa(sp.Port)) {
		t.Errorf("Service %s: prometheus.io/port %q, want the exporter's port %s", svc.Name, a["prometheus.io/port"], itoa(sp.Port))
	}
}

func itoa(n int32) string { return fmt.Sprint(n) }

func checkTelemetry(t *testing.T, w workload) {
	t.Helper()
	readers, _ := lookup(w.cfg.tree, "service", "telemetry", "metrics", "readers")
	list, _ := readers.([]any)
	n := 0
	for i := range list {
		if p, ok := lookupString(list[i], "pull", "exporter", "prometheus", "port"); ok {
			n++
			tp := port(t, "telemetry", "x:"+w.env.expand(p))
			if got := containerPort(t, w.c, intstr.FromString("telemetry")); got != tp {
				t.Errorf("internal telemetry on %d, container port telemetry is %d", tp, got)
			}
		}
	}
	if n == 0 {
		t.Errorf("%s config exposes no internal telemetry for Prometheus", w.what)
	}
}

func checkProbes(t *testing.T, w workload) {
	t.Helper()
	hcs := w.cfg.components("extensions", "health_check")
	if len(hcs) != 1 {
		t.Fatalf("%s config: want one health_check extension, have %d", w.what, len(hcs))
	}
	for id, hc := range hcs {
		if !w.cfg.inService("extensions", id) {
			t.Errorf("%s is not enabled in service.extensions", id)
		}
		ep, ok := lookupString(hc, "endpoint")
		if !ok {
			ep = "localhost:13133"
			t.Errorf("%s listens on localhost by default: the kubelet cannot probe it", id)
		}
		hp := port(t, id+".endpoint", w.env.expand(ep))
		path, ok := lookupString(hc, "path")
		if !ok {
			path = "/"
		}
		if got := containerPort(t, w.c, intstr.FromString("health")); got != hp {
			t.Errorf("health_check on %d, container port health is %d", hp, got)
		}
		for name, pr := range map[string]*corev1.Probe{"liveness": w.c.LivenessProbe, "readiness": w.c.ReadinessProbe} {
			if pr == nil || pr.HTTPGet == nil {
				t.Errorf("%s probe missing or not httpGet", name)
				continue
			}
			if got := containerPort(t, w.c, pr.HTTPGet.Port); got != hp || pr.HTTPGet.Path != path {
				t.Errorf("%s probe GETs :%d%s, health_check serves :%d%s", name, got, pr.HTTPGet.Path, hp, path)
			}
		}
	}
}

// checkQueueDirs checks that every file_storage and pebble_storage directory is on a writable pod
// volume (the root filesystem is read-only) that a non-root user can write: an emptyDir, an
// ephemeral or a persistent volume claim, or a host path that an init container hands over.
func checkQueueDirs(t *testing.T, w workload) {
	t.Helper()
	var dirs []string
	for _, typ := range []string{"file_storage", "pebble_storage"} {
		for id, fs := range w.cfg.components("extensions", typ) {
			d, ok := lookupString(fs, "directory")
			if !ok {
				t.Errorf("%s: no directory; the default is not on a volume", id)
				continue
			}
			dirs = append(dirs, w.env.expand(d))
		}
	}
	if len(dirs) == 0 {
		pending(t, "%s config has no file_storage or pebble_storage extension", w.what)
	}
	if d, ok := w.env["FILE_STORAGE_DIR"]; ok {
		dirs = append(dirs, d)
	}
	if len(dirs) == 0 {
		t.Fatalf("%s: no queue directory configured", w.what)
	}
	slices.Sort(dirs)
	budget := queueBudget(t, w)
	for _, d := range slices.Compact(dirs) {
		m, v := mountFor(w.spec, w.c, d)
		// An emptyDir over its sizeLimit gets the pod evicted: the disk queues' byte budgets,
		// with room for bbolt's overhead, must fit.
		if v != nil && v.EmptyDir != nil && v.EmptyDir.SizeLimit != nil && budget > 0 &&
			budget*5/4 > v.EmptyDir.SizeLimit.Value() {
			t.Errorf("queue volume %s holds %s, the queues may take %d bytes (+25%%)", v.Name, v.EmptyDir.SizeLimit.String(), budget)
		}
		switch {
		case m == nil || v == nil:
			t.Errorf("queue directory %s is on no volume (the root filesystem is read-only)", d)
		case m.ReadOnly:
			t.Errorf("queue directory %s is on read-only mount %s", d, m.Name)
		case v.HostPath != nil && chownedByInit(w.spec, v.Name):
		case v.EmptyDir == nil && v.Ephemeral == nil && v.PersistentVolumeClaim == nil:
			t.Errorf("queue directory %s is on volume %s, which a non-root user cannot be sure to write", d, v.Name)
		}
	}
}

// chownedByInit reports whether an init container mounts the volume and hands it over with chown
// (the kubelet creates a hostPath directory root-owned).
func chownedByInit(spec *corev1.PodSpec, volume string) bool {
	for _, c := range spec.InitContainers {
		mounted := slices.ContainsFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool { return m.Name == volume && !m.ReadOnly })
		if mounted && strings.Contains(strings.Join(append(c.Command, c.Args...), " "), "chown ") {
			return true
		}
	}
	return false
}

// queueBudget adds up the byte budgets of the falco receiver's spool and the exporters' disk
// queues (every exporter that has one, enabled in a pipeline or not: which ones run can be chosen
// by environment).
func queueBudget(t *testing.T, w workload) int64 {
	t.Helper()
	var total int64
	recvs, _ := w.cfg.tree["receivers"].(map[string]any)
	for id, r := range recvs {
		if st, _ := lookupString(r, "spool", "storage"); st == "" {
			continue
		}
		mb, _ := lookupString(r, "spool", "max_bytes")
		n, err := strconv.ParseInt(w.env.expand(mb), 10, 64)
		if err != nil {
			t.Errorf("%s.spool.max_bytes %q: %v", id, mb, err)
			continue
		}
		total += n
	}
	exps, _ := w.cfg.tree["exporters"].(map[string]any)
	for id, e := range exps {
		if st, _ := lookupString(e, "sending_queue", "storage"); st == "" {
			continue
		}
		if sizer, _ := lookupString(e, "sending_queue", "sizer"); sizer != "bytes" {
			pending(t, "%s: a disk queue not sized in bytes", id)
			continue
		}
		qs, _ := lookupString(e, "sending_queue", "queue_size")
		n, err := strconv.ParseInt(w.env.expand(qs), 10, 64)
		if err != nil {
			t.Errorf("%s.sending_queue.queue_size %q: %v", id, qs, err)
			continue
		}
		total += n
	}
	return total
}

// operatorSettings are what the configs read without a default on purpose and the manifests
// leave unset: the collector refuses to start until the operator sets them (config/gateway.yaml).
var operatorSettings = map[string]bool{"SIEM_OTLP_ENDPOINT": true}

// checkEnv checks that what the configuration reads from the environment is there.
func checkEnv(t *testing.T, w workload) {
	t.Helper()
	refs := w.cfg.envRefs()
	for name, def := range refs {
		if operatorSettings[name] {
			if _, set := w.env[name]; set {
				t.Errorf("the %s container sets %s: that is the operator's to set (a placeholder would ship alerts to it)", w.what, name)
			}
			continue
		}
		if def == nil && w.env[name] == "" {
			t.Errorf("config reads ${env:%s} without a default and the %s container does not set it", name, w.what)
		}
	}
	for _, e := range w.c.Env {
		if _, ok := refs[e.Name]; !ok && !strings.HasPrefix(e.Name, "GO") {
			pending(t, "the %s container sets %s, which its config does not read", w.what, e.Name)
		}
	}
}

func checkImage(t *testing.T, c *corev1.Container) {
	t.Helper()
	if want := imageRepo + ":" + distVersion(t); c.Image != want {
		t.Errorf("image %q, want %q (builder-config.yaml dist.version)", c.Image, want)
	}
}

func checkResources(t *testing.T, w workload, minMemLimit resource.Quantity) {
	t.Helper()
	r := w.c.Resources
	for _, n := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		req, okr := r.Requests[n]
		lim, okl := r.Limits[n]
		if !okr || !okl {
			t.Errorf("%s: %s request and limit must both be set", w.what, n)
			continue
		}
		if req.Cmp(lim) > 0 {
			t.Errorf("%s: %s request %s above limit %s", w.what, n, req.String(), lim.String())
		}
	}
	// Go sizes GOMAXPROCS from the CPU limit but never below 2: under a 1-CPU limit the second P
	// only spins and gets throttled (the agent measured ~30% more CPU per alert with it).
	if cpu := r.Limits[corev1.ResourceCPU]; cpu.MilliValue() < 2000 {
		if !setsGOMAXPROCSFromCPULimit(w.c) {
			t.Errorf("%s: CPU limit %s below 2 without GOMAXPROCS from resourceFieldRef limits.cpu", w.what, cpu.String())
		} else if got, want := w.env["GOMAXPROCS"], strconv.FormatInt((cpu.MilliValue()+999)/1000, 10); got != want {
			t.Errorf("%s: GOMAXPROCS %q, want %q (limits.cpu %s rounded up)", w.what, got, want, cpu.String())
		}
	}
	memLimit := r.Limits[corev1.ResourceMemory]
	if memLimit.Cmp(minMemLimit) < 0 {
		t.Errorf("%s: memory limit %s below %s", w.what, memLimit.String(), minMemLimit.String())
	}
	gml, ok := w.env["GOMEMLIMIT"]
	if !ok {
		t.Errorf("%s: GOMEMLIMIT unset: the Go heap would not know the container limit", w.what)
		return
	}
	q, err := resource.ParseQuantity(strings.TrimSuffix(gml, "B"))
	if err != nil {
		t.Fatalf("GOMEMLIMIT %q: %v", gml, err)
	}
	if q.Cmp(memLimit) >= 0 || q.Value() < memLimit.Value()*6/10 {
		t.Errorf("%s: GOMEMLIMIT %s should sit between 60%% and 100%% of the memory limit %s", w.what, gml, memLimit.String())
	}
}

func setsGOMAXPROCSFromCPULimit(c *corev1.Container) bool {
	for _, e := range c.Env {
		if e.Name == "GOMAXPROCS" {
			ref := e.ValueFrom
			return ref != nil && ref.ResourceFieldRef != nil && ref.ResourceFieldRef.Resource == "limits.cpu"
		}
	}
	return false
}

// TestGateway checks the gateway StatefulSet, Service, PodDisruptionBudget and
// HorizontalPodAutoscaler against config/gateway.yaml.
func TestGateway(t *testing.T) {
	b := base(t)
	w := gatewayWorkload(t, b)
	d := find[appsv1.StatefulSet](t, b, namespace, gatewayName)
	labels := d.Spec.Template.Labels

	t.Run("selectors", func(t *testing.T) {
		if !selects(d.Spec.Selector.MatchLabels, labels) {
			t.Error("StatefulSet selector does not match its pods")
		}
		if !selects(w.svc.Spec.Selector, labels) {
			t.Error("gateway Service does not select the gateway pods")
		}
	})

	t.Run("otlp", func(t *testing.T) {
		ports := otlpPorts(t, w)
		for proto, name := range map[string]string{"grpc": "otlp-grpc", "http": "otlp-http"} {
			p, ok := ports[proto]
			if !ok {
				t.Errorf("gateway config has no OTLP %s receiver", proto)
				continue
			}
			checkServed(t, w, "otlp "+proto, p, name)
		}
	})

	t.Run("prometheus exporter", func(t *testing.T) {
		if len(w.cfg.components("exporters", "prometheus")) == 0 {
			pending(t, "gateway config has no prometheus exporter")
			return
		}
		sp := checkServed(t, w, "prometheus exporter", prometheusPort(t, w), "metrics")
		checkScrapeAnnotations(t, w.svc, sp)
	})

	t.Run("telemetry", func(t *testing.T) { checkTelemetry(t, w) })
	t.Run("health_check probes", func(t *testing.T) { checkProbes(t, w) })
	t.Run("queue directory", func(t *testing.T) { checkQueueDirs(t, w) })
	t.Run("env", func(t *testing.T) { checkEnv(t, w) })
	t.Run("security", func(t *testing.T) { checkPodSecurity(t, "gateway", w.spec, false) })
	t.Run("image", func(t *testing.T) { checkImage(t, w.c) })
	t.Run("resources", func(t *testing.T) { checkResources(t, w, resource.MustParse("512Mi")) })

	t.Run("queues survive scale-down", func(t *testing.T) {
		dir := w.env["FILE_STORAGE_DIR"]
		m, v := mountFor(w.spec, w.c, dir)
		if m == nil || v == nil || v.PersistentVolumeClaim == nil {
			t.Fatalf("queue directory %s is not on a volumeClaimTemplate: the backlog would go with the pod", dir)
		}
		var claim *corev1.PersistentVolumeClaim
		for i := range d.Spec.VolumeClaimTemplates {
			if d.Spec.VolumeClaimTemplates[i].Name == v.Name {
				claim = &d.Spec.VolumeClaimTemplates[i]
			}
		}
		size := claim.Spec.Resources.Requests[corev1.ResourceStorage]
		if budget := queueBudget(t, w); size.Value() < budget*5/4 {
			t.Errorf("queue claim %s requests %s, the queues may take %d bytes (+25%%)", claim.Name, size.String(), budget)
		}
		if p := d.Spec.PersistentVolumeClaimRetentionPolicy; p != nil && p.WhenScaled != appsv1.RetainPersistentVolumeClaimRetentionPolicyType {
			t.Errorf("whenScaled %s deletes a scaled-down replica's queued alerts", p.WhenScaled)
		}
	})

	t.Run("agents move to new replicas", func(t *testing.T) {
		for id, r := range w.cfg.components("receivers", "otlp") {
			age, ok := lookupString(r, "protocols", "grpc", "keepalive", "server_parameters", "max_connection_age")
			if !ok {
				t.Errorf("%s: no grpc keepalive.server_parameters.max_connection_age: agents would keep their connection to the first replicas for good", id)
				continue
			}
			if d, err := time.ParseDuration(w.env.expand(age)); err != nil || d <= 0 || d > 10*time.Minute {
				t.Errorf("%s: max_connection_age %q: want a duration of at most 10m", id, age)
			}
		}
	})

	t.Run("autoscaling", func(t *testing.T) {
		hpa := find[autoscalingv2.HorizontalPodAutoscaler](t, b, namespace, gatewayName)
		ref := hpa.Spec.ScaleTargetRef
		if ref.APIVersion != "apps/v1" || ref.Kind != "StatefulSet" || ref.Name != d.Name {
			t.Errorf("HPA scales %v, not the gateway StatefulSet", ref)
		}
		if d.Spec.Replicas != nil {
			t.Error("StatefulSet sets replicas: every `kubectl apply` would undo the HPA's scaling")
		}
		// CPU is the gateway's load; its memory sits near GOMEMLIMIT whatever the load, so a
		// memory target would never let it scale down (gateway-hpa.yaml).
		var resources []corev1.ResourceName
		for _, m := range hpa.Spec.Metrics {
			if m.Resource != nil {
				resources = append(resources, m.Resource.Name)
			}
		}
		if !slices.Equal(resources, []corev1.ResourceName{corev1.ResourceCPU}) {
			t.Errorf("HPA scales on %v, want cpu only", resources)
		}
		min := int32(1)
		if hpa.Spec.MinReplicas != nil {
			min = *hpa.Spec.MinReplicas
		}
		if min < 2 || hpa.Spec.MaxReplicas <= min {
			t.Errorf("HPA replicas %d..%d: want at least 2 and room to grow", min, hpa.Spec.MaxReplicas)
		}
		for _, m := range hpa.Spec.Metrics {
			if m.Type != autoscalingv2.ResourceMetricSourceType || m.Resource == nil {
				continue
			}
			if _, ok := w.c.Resources.Requests[m.Resource.Name]; !ok {
				t.Errorf("HPA scales on %s utilization, which the container does not request", m.Resource.Name)
			}
		}
		pdb := find[policyv1.PodDisruptionBudget](t, b, namespace, gatewayName)
		if pdb.Spec.Selector == nil || !selects(pdb.Spec.Selector.MatchLabels, labels) {
			t.Error("PodDisruptionBudget does not select the gateway pods")
		}
		switch {
		case pdb.Spec.MaxUnavailable != nil:
			if pdb.Spec.MaxUnavailable.Type != intstr.Int || pdb.Spec.MaxUnavailable.IntVal < 1 {
				t.Errorf("PDB maxUnavailable %v blocks every drain", pdb.Spec.MaxUnavailable)
			}
		case pdb.Spec.MinAvailable != nil:
			if pdb.Spec.MinAvailable.Type != intstr.Int || pdb.Spec.MinAvailable.IntVal >= min {
				t.Errorf("PDB minAvailable %v blocks drains at %d replicas", pdb.Spec.MinAvailable, min)
			}
		default:
			t.Error("PDB sets neither maxUnavailable nor minAvailable")
		}
	})
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestFalcoGRPCOverlay checks that the Falco <= 0.43 overlay changes nothing but the agent's
// user, to UID 0 for Falco's root-only socket, and turning the receiver's gRPC transport on, and
// keeps every other restriction.
func TestFalcoGRPCOverlay(t *testing.T) {
	b := base(t)
	o := bundle(render(t, overlayDir))
	if len(o) != len(b) {
		t.Fatalf("overlay renders %d objects, base %d", len(o), len(b))
	}
	for i := range b {
		if b[i].id() != o[i].id() {
			t.Fatalf("overlay object %d is %s, base has %s", i, o[i].id(), b[i].id())
		}
		if b[i].meta.Kind == "DaemonSet" {
			continue
		}
		if !apiequality.Semantic.DeepEqual(b[i].obj, o[i].obj) {
			t.Errorf("overlay changes %s", b[i].id())
		}
	}
	ds := find[appsv1.DaemonSet](t, o, namespace, agentName)
	spec := &ds.Spec.Template.Spec
	checkPodSecurity(t, "agent (falco-grpc overlay)", spec, true)
	c := podContainer(t, spec, containerName)
	if uid, _ := effectiveUser(spec.SecurityContext, c.SecurityContext); uid == nil || *uid != 0 {
		t.Error("overlay agent does not run as UID 0: it could not connect to Falco's root-only socket")
	}
	if v := envValue(c.Env, "FALCO_GRPC_ENABLED"); v != "true" {
		t.Errorf("overlay agent has FALCO_GRPC_ENABLED=%q, want true", v)
	}
	if v := envValue(podContainer(t, &find[appsv1.DaemonSet](t, b, namespace, agentName).Spec.Template.Spec, containerName).Env, "FALCO_GRPC_ENABLED"); v != "false" {
		t.Errorf("base agent has FALCO_GRPC_ENABLED=%q, want false (Falco >= 0.44 has no gRPC output)", v)
	}
	// Apart from the security contexts and that switch, the DaemonSet is the base's.
	want := find[appsv1.DaemonSet](t, b, namespace, agentName).DeepCopy()
	want.Spec.Template.Spec.SecurityContext = spec.SecurityContext
	wantC := podContainer(t, &want.Spec.Template.Spec, containerName)
	wantC.SecurityContext = c.SecurityContext
	wantC.Env = c.Env
	if !apiequality.Semantic.DeepEqual(want, ds) {
		t.Error("overlay changes the agent DaemonSet beyond its security contexts and FALCO_GRPC_ENABLED")
	}
}

// envValue is the literal value of a container's environment variable ("" when absent).
func envValue(env []corev1.EnvVar, name string) string {
	for _, e := range env {
		if e.Name == name {
			return e.Value
		}
	}
	return ""
}
