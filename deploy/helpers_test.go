package deploy

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	yamlv2 "go.yaml.in/yaml/v2"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// Names and places the deployment is built around.
const (
	namespace      = "otelcol-falco"
	agentName      = "otelcol-falco-agent"
	gatewayName    = "otelcol-falco-gateway"
	falcoMetrics   = "falco-metrics-node-local"
	falcoNamespace = "falco"
	containerName  = "otelcol-falco"
	imageRepo      = "ghcr.io/otelcol-falco/otelcol-falco"
)

// repoPath returns a path in the repository from its root (deploy/ is one level down).
func repoPath(elem ...string) string {
	return filepath.Join(append([]string{".."}, elem...)...)
}

func readRepoFile(t *testing.T, elem ...string) []byte {
	t.Helper()
	b, err := os.ReadFile(repoPath(elem...))
	if err != nil {
		t.Fatalf("read %s: %v", filepath.Join(elem...), err)
	}
	return b
}

// splitDocs splits a multi-document YAML stream, dropping empty documents.
func splitDocs(b []byte) [][]byte {
	var docs [][]byte
	for _, d := range regexp.MustCompile(`(?m)^---\s*$`).Split(string(b), -1) {
		if strings.TrimSpace(stripComments(d)) != "" {
			docs = append(docs, []byte(d))
		}
	}
	return docs
}

func stripComments(s string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "#") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// strictYAML decodes one YAML document into v, refusing unknown and duplicate fields.
func strictYAML(doc []byte, v any) error {
	if err := checkNoDuplicateKeys(doc); err != nil {
		return err
	}
	return yaml.UnmarshalStrict(doc, v)
}

// checkNoDuplicateKeys rejects a mapping that names a key twice (the YAML-to-JSON step would
// otherwise keep one silently).
func checkNoDuplicateKeys(doc []byte) error {
	var v yamlv2.MapSlice
	return yamlv2.UnmarshalStrict(doc, &v)
}

// object is one decoded manifest: its typed form and where it came from.
type object struct {
	source string
	meta   metav1.TypeMeta
	name   string
	ns     string
	obj    any
}

func (o object) id() string { return o.meta.Kind + "/" + o.ns + "/" + o.name }

// newTyped returns an empty value of the k8s.io/api (or prometheus-operator) type for a kind.
func newTyped(tm metav1.TypeMeta) (any, error) {
	switch tm.APIVersion + " " + tm.Kind {
	case "v1 Namespace":
		return &corev1.Namespace{}, nil
	case "v1 ServiceAccount":
		return &corev1.ServiceAccount{}, nil
	case "v1 Service":
		return &corev1.Service{}, nil
	case "v1 ConfigMap":
		return &corev1.ConfigMap{}, nil
	case "apps/v1 DaemonSet":
		return &appsv1.DaemonSet{}, nil
	case "apps/v1 Deployment":
		return &appsv1.Deployment{}, nil
	case "apps/v1 StatefulSet":
		return &appsv1.StatefulSet{}, nil
	case "networking.k8s.io/v1 NetworkPolicy":
		return &networkingv1.NetworkPolicy{}, nil
	case "policy/v1 PodDisruptionBudget":
		return &policyv1.PodDisruptionBudget{}, nil
	case "autoscaling/v2 HorizontalPodAutoscaler":
		return &autoscalingv2.HorizontalPodAutoscaler{}, nil
	case "monitoring.coreos.com/v1 ServiceMonitor":
		return &monitoringv1.ServiceMonitor{}, nil
	}
	return nil, fmt.Errorf("no type known for apiVersion %q kind %q", tm.APIVersion, tm.Kind)
}

// decodeManifests strictly decodes every document of a YAML stream into its k8s.io/api type.
func decodeManifests(source string, b []byte) ([]object, error) {
	var objs []object
	var errs []error
	for i, doc := range splitDocs(b) {
		var tm metav1.TypeMeta
		if err := yaml.Unmarshal(doc, &tm); err != nil {
			errs = append(errs, fmt.Errorf("%s doc %d: %w", source, i, err))
			continue
		}
		typed, err := newTyped(tm)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s doc %d: %w", source, i, err))
			continue
		}
		if err := strictYAML(doc, typed); err != nil {
			errs = append(errs, fmt.Errorf("%s doc %d (%s): %w", source, i, tm.Kind, err))
			continue
		}
		om := typed.(metav1.Object)
		objs = append(objs, object{source: source, meta: tm, name: om.GetName(), ns: om.GetNamespace(), obj: typed})
	}
	return objs, errors.Join(errs...)
}

// render builds a kustomization the way `kubectl apply -k` does (load restrictor on).
func render(t *testing.T, dir string) []object {
	t.Helper()
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	rm, err := k.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	b, err := rm.AsYaml()
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	objs, err := decodeManifests("kustomize build "+dir, b)
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

// bundle is a rendered deployment with lookups by kind and name.
type bundle []object

func find[T any](t *testing.T, b bundle, ns, name string) *T {
	t.Helper()
	for _, o := range b {
		if v, ok := o.obj.(*T); ok && o.name == name && o.ns == ns {
			return v
		}
	}
	var zero T
	t.Fatalf("%T %s/%s not found", zero, ns, name)
	return nil
}

func findConfigMap(t *testing.T, b bundle, ns, prefix string) *corev1.ConfigMap {
	t.Helper()
	var found []*corev1.ConfigMap
	for _, o := range b {
		if cm, ok := o.obj.(*corev1.ConfigMap); ok && o.ns == ns && strings.HasPrefix(cm.Name, prefix+"-") {
			found = append(found, cm)
		}
	}
	if len(found) != 1 {
		t.Fatalf("want one generated ConfigMap %s-<hash> in %s, found %d", prefix, ns, len(found))
	}
	return found[0]
}

// statefulPodSpec is a StatefulSet's pod as the controller makes it: the template, with a
// PersistentVolumeClaim volume for each volumeClaimTemplate (claim <template>-<set>-0).
func statefulPodSpec(sts *appsv1.StatefulSet) *corev1.PodSpec {
	spec := sts.Spec.Template.Spec.DeepCopy()
	for _, vct := range sts.Spec.VolumeClaimTemplates {
		spec.Volumes = append(spec.Volumes, corev1.Volume{Name: vct.Name, VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: vct.Name + "-" + sts.Name + "-0"}}})
	}
	return spec
}

func podContainer(t *testing.T, spec *corev1.PodSpec, name string) *corev1.Container {
	t.Helper()
	for i := range spec.Containers {
		if spec.Containers[i].Name == name {
			return &spec.Containers[i]
		}
	}
	t.Fatalf("no container %q", name)
	return nil
}

// ---- collector configuration ----

// envRef matches the collector's ${env:NAME} and ${env:NAME:-default}.
var envRef = regexp.MustCompile(`\$\{env:([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}`)

// collectorConfig is a parsed otelcol configuration.
type collectorConfig struct {
	raw  string
	tree map[string]any
}

func parseCollectorConfig(t *testing.T, name string, b []byte) collectorConfig {
	t.Helper()
	var tree map[string]any
	if err := yaml.Unmarshal(b, &tree); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return collectorConfig{raw: string(b), tree: tree}
}

// envRefs lists the variables the configuration reads, with their defaults (nil: no default).
func (c collectorConfig) envRefs() map[string]*string {
	refs := map[string]*string{}
	for _, m := range envRef.FindAllStringSubmatchIndex(c.raw, -1) {
		name := c.raw[m[2]:m[3]]
		if m[4] >= 0 {
			d := c.raw[m[4]:m[5]]
			refs[name] = &d
		} else if _, ok := refs[name]; !ok {
			refs[name] = nil
		}
	}
	return refs
}

// components returns the configured components of a section ("receivers", ...) whose type
// (the part of the ID before "/") is typ.
func (c collectorConfig) components(section, typ string) map[string]map[string]any {
	out := map[string]map[string]any{}
	sec, _ := c.tree[section].(map[string]any)
	for id, v := range sec {
		if t, _, _ := strings.Cut(id, "/"); t == typ {
			m, _ := v.(map[string]any)
			if m == nil {
				m = map[string]any{}
			}
			out[id] = m
		}
	}
	return out
}

// inPipelines tells whether a component ID is used by a pipeline (or, for extensions, enabled).
func (c collectorConfig) inService(section, id string) bool {
	svc, _ := c.tree["service"].(map[string]any)
	if section == "extensions" {
		list, _ := svc["extensions"].([]any)
		return slices.Contains(list, any(id))
	}
	pipes, _ := svc["pipelines"].(map[string]any)
	for _, p := range pipes {
		pm, _ := p.(map[string]any)
		list, _ := pm[section].([]any)
		if slices.Contains(list, any(id)) {
			return true
		}
	}
	return false
}

// lookup walks a path of map keys and list indexes.
func lookup(v any, keys ...any) (any, bool) {
	for _, k := range keys {
		switch k := k.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil, false
			}
			if v, ok = m[k]; !ok {
				return nil, false
			}
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				return nil, false
			}
			v = l[k]
		}
	}
	return v, true
}

func lookupString(v any, keys ...any) (string, bool) {
	x, ok := lookup(v, keys...)
	if !ok {
		return "", false
	}
	switch x := x.(type) {
	case string:
		return x, true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	}
	return fmt.Sprint(x), true
}

// environment is what a container's configuration sees from ${env:...}.
type environment map[string]string

// containerEnv is the container's environment as the collector would see it: literal values,
// and stand-ins for the downward API.
func containerEnv(t *testing.T, c *corev1.Container) environment {
	t.Helper()
	env := environment{}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			env[e.Name] = e.Value
		case e.ValueFrom.FieldRef != nil:
			env[e.Name] = "downward-api:" + e.ValueFrom.FieldRef.FieldPath
		case e.ValueFrom.ResourceFieldRef != nil:
			env[e.Name] = resourceFieldValue(t, c, e.ValueFrom.ResourceFieldRef)
		default:
			t.Fatalf("env %s: only values, fieldRefs and resourceFieldRefs are expected", e.Name)
		}
	}
	return env
}

// resourceFieldValue is what the kubelet puts in a resourceFieldRef variable: the container's
// own request or limit divided by the divisor, rounded up. An unset limit would be the node's
// capacity, which no manifest here should rely on.
func resourceFieldValue(t *testing.T, c *corev1.Container, ref *corev1.ResourceFieldSelector) string {
	t.Helper()
	kind, name, _ := strings.Cut(ref.Resource, ".")
	list := c.Resources.Limits
	if kind == "requests" {
		list = c.Resources.Requests
	}
	q, ok := list[corev1.ResourceName(name)]
	if !ok {
		t.Fatalf("resourceFieldRef %s: the container %s sets no such value", ref.Resource, c.Name)
	}
	divisor := ref.Divisor
	if divisor.IsZero() {
		divisor = resource.MustParse("1")
	}
	return strconv.FormatInt((q.MilliValue()+divisor.MilliValue()-1)/divisor.MilliValue(), 10)
}

// expand resolves ${env:NAME:-default} the way the collector's env provider does: the default
// applies when the variable is unset or empty.
func (e environment) expand(s string) string {
	return envRef.ReplaceAllStringFunc(s, func(m string) string {
		sm := envRef.FindStringSubmatch(m)
		if v := e[sm[1]]; v != "" {
			return v
		}
		return sm[2]
	})
}

// port extracts the port of host:port.
func port(t *testing.T, what, endpoint string) int32 {
	t.Helper()
	_, p, err := net.SplitHostPort(endpoint)
	if err != nil {
		t.Fatalf("%s: %q is not host:port: %v", what, endpoint, err)
	}
	n, err := strconv.ParseInt(p, 10, 32)
	if err != nil {
		t.Fatalf("%s: %q: port %q: %v", what, endpoint, p, err)
	}
	return int32(n)
}

// ---- pods ----

// containerPort resolves a named or numeric port of a container.
func containerPort(t *testing.T, c *corev1.Container, p intstr.IntOrString) int32 {
	t.Helper()
	if p.Type == intstr.Int {
		return p.IntVal
	}
	for _, cp := range c.Ports {
		if cp.Name == p.StrVal {
			return cp.ContainerPort
		}
	}
	t.Fatalf("container %s has no port named %q", c.Name, p.StrVal)
	return 0
}

func hasContainerPort(c *corev1.Container, n int32) bool {
	for _, cp := range c.Ports {
		if cp.ContainerPort == n {
			return true
		}
	}
	return false
}

// servicePortTo returns the Service port whose target is container port n.
func servicePortTo(t *testing.T, svc *corev1.Service, c *corev1.Container, n int32) (corev1.ServicePort, bool) {
	t.Helper()
	for _, sp := range svc.Spec.Ports {
		target := sp.TargetPort
		if target.Type == intstr.Int && target.IntVal == 0 {
			target = intstr.FromInt32(sp.Port)
		}
		if containerPort(t, c, target) == n {
			return sp, true
		}
	}
	return corev1.ServicePort{}, false
}

// mountFor returns the volume mount (and its volume) that holds a path in the container.
func mountFor(spec *corev1.PodSpec, c *corev1.Container, p string) (*corev1.VolumeMount, *corev1.Volume) {
	var best *corev1.VolumeMount
	for i := range c.VolumeMounts {
		m := &c.VolumeMounts[i]
		rel, err := filepath.Rel(m.MountPath, p)
		if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
			continue
		}
		if best == nil || len(m.MountPath) > len(best.MountPath) {
			best = m
		}
	}
	if best == nil {
		return nil, nil
	}
	for i := range spec.Volumes {
		if spec.Volumes[i].Name == best.Name {
			return best, &spec.Volumes[i]
		}
	}
	return best, nil
}

// checkPodSecurity holds every container of a pod to the restricted profile: non-root, no
// privilege escalation, no capabilities, read-only root filesystem. allowRootUID lets the gRPC
// overlay run as UID 0 (and nothing else) for Falco's root-only socket.
func checkPodSecurity(t *testing.T, what string, spec *corev1.PodSpec, allowRootUID bool) {
	t.Helper()
	if spec.HostNetwork || spec.HostPID || spec.HostIPC {
		t.Errorf("%s: host network/PID/IPC namespaces are not needed", what)
	}
	if spec.SecurityContext == nil || spec.SecurityContext.SeccompProfile == nil ||
		spec.SecurityContext.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("%s: pod seccompProfile should be RuntimeDefault", what)
	}
	all := append(slices.Clone(spec.InitContainers), spec.Containers...)
	for _, c := range all {
		cw := what + " container " + c.Name
		if queueOwnerInit(spec, c) {
			continue
		}
		sc := c.SecurityContext
		if sc == nil {
			t.Errorf("%s: no securityContext", cw)
			continue
		}
		uid, nonRoot := effectiveUser(spec.SecurityContext, sc)
		switch {
		case uid == nil:
			t.Errorf("%s: runAsUser is unset: the image's user decides", cw)
		case *uid == 0 && !allowRootUID:
			t.Errorf("%s: runs as root (UID 0)", cw)
		case *uid != 0 && !nonRoot:
			t.Errorf("%s: runAsNonRoot should be true", cw)
		case *uid == 0 && nonRoot:
			t.Errorf("%s: UID 0 with runAsNonRoot would not start", cw)
		}
		if sc.Privileged != nil && *sc.Privileged {
			t.Errorf("%s: privileged", cw)
		}
		if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			t.Errorf("%s: allowPrivilegeEscalation should be false", cw)
		}
		if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
			t.Errorf("%s: readOnlyRootFilesystem should be true", cw)
		}
		if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") || len(sc.Capabilities.Add) > 0 {
			t.Errorf("%s: capabilities should drop ALL and add none", cw)
		}
		// Every writable path is a volume, and host paths are mounted read-only.
		for _, m := range c.VolumeMounts {
			for _, v := range spec.Volumes {
				if v.Name == m.Name && v.HostPath != nil && !m.ReadOnly && !chownedByInit(spec, v.Name) {
					t.Errorf("%s: host path %s mounted writable", cw, v.HostPath.Path)
				}
			}
		}
	}
}

// queueOwnerInit reports whether c is the one exception to the restricted profile: an init
// container that only hands host-path directories (the agent's queue, which must outlive the pod)
// to the pod's user. It may run as root with CHOWN and FOWNER, nothing else, and mount nothing
// but host paths.
func queueOwnerInit(spec *corev1.PodSpec, c corev1.Container) bool {
	if !slices.ContainsFunc(spec.InitContainers, func(ic corev1.Container) bool { return ic.Name == c.Name }) {
		return false
	}
	sc := c.SecurityContext
	if sc == nil || sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") ||
		sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation || (sc.Privileged != nil && *sc.Privileged) {
		return false
	}
	for _, cap := range sc.Capabilities.Add {
		if cap != "CHOWN" && cap != "FOWNER" {
			return false
		}
	}
	if len(c.VolumeMounts) == 0 {
		return false
	}
	for _, m := range c.VolumeMounts {
		if !chownedByInit(spec, m.Name) {
			return false
		}
	}
	return true
}

func effectiveUser(pod *corev1.PodSecurityContext, c *corev1.SecurityContext) (*int64, bool) {
	var uid *int64
	nonRoot := false
	if pod != nil {
		uid = pod.RunAsUser
		if pod.RunAsNonRoot != nil {
			nonRoot = *pod.RunAsNonRoot
		}
	}
	if c != nil {
		if c.RunAsUser != nil {
			uid = c.RunAsUser
		}
		if c.RunAsNonRoot != nil {
			nonRoot = *c.RunAsNonRoot
		}
	}
	return uid, nonRoot
}

// selects tells whether a label selector (as a map) matches labels.
func selects(selector, labels map[string]string) bool {
	if len(selector) == 0 {
		return false
	}
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// tolerates applies Kubernetes' toleration matching to one taint.
func tolerates(tols []corev1.Toleration, taint corev1.Taint) bool {
	for _, tol := range tols {
		if tol.Effect != "" && tol.Effect != taint.Effect {
			continue
		}
		switch tol.Operator {
		case corev1.TolerationOpExists:
			if tol.Key == "" || tol.Key == taint.Key {
				return true
			}
		case corev1.TolerationOpEqual, "":
			if tol.Key == taint.Key && tol.Value == taint.Value {
				return true
			}
		}
	}
	return false
}

// dirOf is path.Dir for unix socket paths.
func dirOf(p string) string { return path.Dir(p) }

func intstrName(name string) intstr.IntOrString { return intstr.FromString(name) }

func findDaemonSet(t *testing.T, b bundle) *appsv1.DaemonSet {
	return find[appsv1.DaemonSet](t, b, namespace, agentName)
}

func findStatefulSet(t *testing.T, b bundle) *appsv1.StatefulSet {
	return find[appsv1.StatefulSet](t, b, namespace, gatewayName)
}
