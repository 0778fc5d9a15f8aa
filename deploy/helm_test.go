package deploy

import (
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"
)

// otelChartVersion is the open-telemetry/opentelemetry-collector Helm chart version deploy/helm
// is written against; otelChartKeys are the keys of that version's values.schema.json (which
// sets additionalProperties: false at the top and in most objects), plus the keys its templates
// read where the schema leaves an object open (podDisruptionBudget, autoscaling). "*" stands for
// one key of the user's choosing (ports), "**" for a free-form subtree.
const otelChartVersion = "0.130.1"

var otelChartKeys = []string{
	"enabled", "global.**", "nameOverride", "fullnameOverride", "mode", "namespaceOverride",
	"presets.logsCollection.enabled", "presets.logsCollection.includeCollectorLogs",
	"presets.logsCollection.storeCheckpoints", "presets.logsCollection.maxRecombineLogSize",
	"presets.hostMetrics.enabled", "presets.kubeletMetrics.enabled",
	"presets.kubernetesAttributes.enabled", "presets.kubernetesAttributes.extractAllPodLabels",
	"presets.kubernetesAttributes.extractAllPodAnnotations",
	"presets.kubernetesEvents.enabled", "presets.clusterMetrics.enabled",
	"configMap.create", "configMap.existingName", "configMap.existingPath",
	"alternateConfig.**", "config.**",
	"image.registry", "image.repository", "image.tag", "image.digest", "image.pullPolicy",
	"imagePullSecrets", "command.name", "command.extraArgs",
	"serviceAccount.create", "serviceAccount.annotations.**", "serviceAccount.name",
	"serviceAccount.automountServiceAccountToken",
	"clusterRole.create", "clusterRole.annotations.**", "clusterRole.name", "clusterRole.rules",
	"clusterRole.clusterRoleBinding.annotations.**", "clusterRole.clusterRoleBinding.name",
	"podSecurityContext.**", "securityContext.**", "nodeSelector.**", "tolerations", "affinity.**",
	"topologySpreadConstraints", "priorityClassName", "extraContainers", "initContainers",
	"extraEnvs", "extraEnvsFrom", "extraVolumes", "extraVolumeMounts", "extraManifests",
	"ports.*.enabled", "ports.*.containerPort", "ports.*.servicePort", "ports.*.hostPort",
	"ports.*.nodePort", "ports.*.protocol", "ports.*.appProtocol",
	"resources.limits.cpu", "resources.limits.memory", "resources.limits.ephemeral-storage",
	"resources.requests.cpu", "resources.requests.memory", "resources.requests.ephemeral-storage",
	"lifecycleHooks.**",
	"livenessProbe.initialDelaySeconds", "livenessProbe.periodSeconds", "livenessProbe.timeoutSeconds",
	"livenessProbe.failureThreshold", "livenessProbe.terminationGracePeriodSeconds",
	"livenessProbe.httpGet.port", "livenessProbe.httpGet.path",
	"readinessProbe.initialDelaySeconds", "readinessProbe.periodSeconds", "readinessProbe.timeoutSeconds",
	"readinessProbe.successThreshold", "readinessProbe.failureThreshold",
	"readinessProbe.httpGet.port", "readinessProbe.httpGet.path",
	"startupProbe.initialDelaySeconds", "startupProbe.periodSeconds", "startupProbe.timeoutSeconds",
	"startupProbe.failureThreshold", "startupProbe.terminationGracePeriodSeconds",
	"startupProbe.httpGet.port", "startupProbe.httpGet.path",
	"podAnnotations.**", "podLabels.**", "additionalLabels.**", "hostNetwork", "hostAliases",
	"dnsPolicy", "dnsConfig.**", "schedulerName", "replicaCount", "revisionHistoryLimit", "annotations.**",
	"service.enabled", "service.trafficDistribution", "service.type", "service.clusterIP",
	"service.loadBalancerIP", "service.loadBalancerSourceRanges", "service.annotations.**",
	"service.internalTrafficPolicy", "service.externalTrafficPolicy",
	"ingress.enabled", "ingress.ingressClassName", "ingress.annotations.**", "ingress.hosts",
	"ingress.tls", "ingress.additionalIngresses",
	"podMonitor.enabled", "podMonitor.metricsEndpoints", "podMonitor.extraLabels.**",
	"serviceMonitor.enabled", "serviceMonitor.metricsEndpoints", "serviceMonitor.extraLabels.**",
	"serviceMonitor.relabelings", "serviceMonitor.metricRelabelings",
	"podDisruptionBudget.enabled", "podDisruptionBudget.minAvailable", "podDisruptionBudget.maxUnavailable",
	"autoscaling.enabled", "autoscaling.minReplicas", "autoscaling.maxReplicas", "autoscaling.behavior.**",
	"autoscaling.targetCPUUtilizationPercentage", "autoscaling.targetMemoryUtilizationPercentage",
	"autoscaling.additionalMetrics",
	"rollout.rollingUpdate.maxSurge", "rollout.rollingUpdate.maxUnavailable", "rollout.strategy",
	"prometheusRule.enabled", "prometheusRule.groups", "prometheusRule.defaultRules.enabled",
	"prometheusRule.extraLabels.**",
	"statefulset.volumeClaimTemplates", "statefulset.podManagementPolicy",
	"networkPolicy.enabled", "networkPolicy.annotations.**", "networkPolicy.allowIngressFrom",
	"networkPolicy.extraIngressRules", "networkPolicy.egressRules",
	"internalTelemetryViaOTLP.**", "useGOMEMLIMIT", "shareProcessNamespace",
}

// keyPaths lists the leaf key paths of a values tree (a list or an empty map is a leaf).
func keyPaths(prefix []string, v any) [][]string {
	m, ok := v.(map[string]any)
	if !ok || len(m) == 0 {
		return [][]string{prefix}
	}
	var out [][]string
	for _, k := range keys(m) {
		out = append(out, keyPaths(append(slices.Clone(prefix), k), m[k])...)
	}
	return out
}

func matchKey(pattern string, path []string) bool {
	pat := strings.Split(pattern, ".")
	for i, p := range pat {
		if p == "**" {
			return true
		}
		if i >= len(path) || (p != "*" && p != path[i]) {
			return false
		}
	}
	return len(pat) == len(path)
}

// chartValues is one values file for the OpenTelemetry Collector chart, with the parts that are
// Kubernetes objects decoded strictly into their k8s.io/api types.
type chartValues struct {
	raw              map[string]any
	Mode             string                           `json:"mode"`
	FullnameOverride string                           `json:"fullnameOverride"`
	NameOverride     string                           `json:"nameOverride"`
	PodLabels        map[string]string                `json:"podLabels"`
	NetworkPolicy    struct{ Enabled bool }           `json:"networkPolicy"`
	UseGOMEMLIMIT    bool                             `json:"useGOMEMLIMIT"`
	Image            struct{ Repository, Tag string } `json:"image"`
	Command          struct{ Name string }            `json:"command"`
	ConfigMap        struct {
		Create       bool   `json:"create"`
		ExistingName string `json:"existingName"`
	} `json:"configMap"`
	Ports map[string]struct {
		Enabled       bool  `json:"enabled"`
		ContainerPort int32 `json:"containerPort"`
		ServicePort   int32 `json:"servicePort"`
	} `json:"ports"`
	Service struct {
		Enabled               bool              `json:"enabled"`
		InternalTrafficPolicy string            `json:"internalTrafficPolicy"`
		Annotations           map[string]string `json:"annotations"`
	} `json:"service"`
	LivenessProbe struct {
		HTTPGet struct {
			Port int32
			Path string
		}
	} `json:"livenessProbe"`
	ReadinessProbe struct {
		HTTPGet struct {
			Port int32
			Path string
		}
	} `json:"readinessProbe"`
	ExtraEnvs                 []corev1.EnvVar                   `json:"extraEnvs"`
	ExtraVolumes              []corev1.Volume                   `json:"extraVolumes"`
	ExtraVolumeMounts         []corev1.VolumeMount              `json:"extraVolumeMounts"`
	InitContainers            []corev1.Container                `json:"initContainers"`
	PodSecurityContext        *corev1.PodSecurityContext        `json:"podSecurityContext"`
	SecurityContext           *corev1.SecurityContext           `json:"securityContext"`
	Resources                 corev1.ResourceRequirements       `json:"resources"`
	Tolerations               []corev1.Toleration               `json:"tolerations"`
	TopologySpreadConstraints []corev1.TopologySpreadConstraint `json:"topologySpreadConstraints"`
	Autoscaling               struct {
		Enabled                           bool  `json:"enabled"`
		MinReplicas                       int32 `json:"minReplicas"`
		MaxReplicas                       int32 `json:"maxReplicas"`
		TargetMemoryUtilizationPercentage int32 `json:"targetMemoryUtilizationPercentage"`
	} `json:"autoscaling"`
	ExtraManifests []map[string]any `json:"extraManifests"`
	Statefulset    struct {
		VolumeClaimTemplates []corev1.PersistentVolumeClaim `json:"volumeClaimTemplates"`
	} `json:"statefulset"`
	PodDisruptionBudget struct {
		Enabled        bool                `json:"enabled"`
		MaxUnavailable *intstr.IntOrString `json:"maxUnavailable"`
		MinAvailable   *intstr.IntOrString `json:"minAvailable"`
	} `json:"podDisruptionBudget"`
}

func readChartValues(t *testing.T, p string) chartValues {
	t.Helper()
	var v chartValues
	v.raw = readValues(t, p)
	// Only the Kubernetes-object parts are held to their types; the rest is held to the key list.
	var objs struct {
		ExtraEnvs                 []corev1.EnvVar                   `json:"extraEnvs"`
		ExtraVolumes              []corev1.Volume                   `json:"extraVolumes"`
		ExtraVolumeMounts         []corev1.VolumeMount              `json:"extraVolumeMounts"`
		InitContainers            []corev1.Container                `json:"initContainers"`
		PodSecurityContext        *corev1.PodSecurityContext        `json:"podSecurityContext"`
		SecurityContext           *corev1.SecurityContext           `json:"securityContext"`
		Resources                 corev1.ResourceRequirements       `json:"resources"`
		Tolerations               []corev1.Toleration               `json:"tolerations"`
		TopologySpreadConstraints []corev1.TopologySpreadConstraint `json:"topologySpreadConstraints"`
	}
	sub := map[string]any{}
	for _, k := range []string{"extraEnvs", "extraVolumes", "extraVolumeMounts", "initContainers", "podSecurityContext",
		"securityContext", "resources", "tolerations", "topologySpreadConstraints"} {
		if x, ok := v.raw[k]; ok {
			sub[k] = x
		}
	}
	b, err := yaml.Marshal(sub)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.UnmarshalStrict(b, &objs); err != nil {
		t.Fatalf("%s: %v", p, err)
	}
	if err := yaml.Unmarshal(mustRead(t, p), &v); err != nil {
		t.Fatalf("%s: %v", p, err)
	}
	return v
}

// TestHelmValues checks deploy/helm against the chart's values schema at otelChartVersion and
// against the kustomize deployment, which the tests above hold to config/*.yaml: same image,
// ports, probes, environment, volumes and security.
func TestHelmValues(t *testing.T) {
	b := base(t)
	for _, c := range []struct {
		file, mode string
		w          workload
		tmpl       *corev1.PodTemplateSpec
	}{
		{"helm/agent-values.yaml", "daemonset", agentWorkload(t, b), &find[appsv1.DaemonSet](t, b, namespace, agentName).Spec.Template},
		{"helm/gateway-values.yaml", "statefulset", gatewayWorkload(t, b), &find[appsv1.StatefulSet](t, b, namespace, gatewayName).Spec.Template},
	} {
		t.Run(c.file, func(t *testing.T) {
			v := readChartValues(t, c.file)

			for _, p := range keyPaths(nil, v.raw) {
				if !slices.ContainsFunc(otelChartKeys, func(k string) bool { return matchKey(k, p) }) {
					t.Errorf("%s is not a key of opentelemetry-collector chart %s", strings.Join(p, "."), otelChartVersion)
				}
			}
			if v.Mode != c.mode {
				t.Errorf("mode %q, want %q", v.Mode, c.mode)
			}
			for name := range v.Ports {
				if _, ok := get(v.raw, "ports."+name+".enabled").(bool); !ok {
					t.Errorf("ports.%s: the chart's schema requires a boolean `enabled`", name)
				}
			}

			// Same image and binary as the manifests and the Dockerfile.
			if got := v.Image.Repository + ":" + v.Image.Tag; got != c.w.c.Image {
				t.Errorf("image %s, manifests run %s", got, c.w.c.Image)
			}
			if "/"+v.Command.Name != dockerEntrypoint(t) {
				t.Errorf("command.name %q: the chart runs /%s, the image's binary is %s", v.Command.Name, v.Command.Name, dockerEntrypoint(t))
			}
			// The Service name is what Falco's http_output and the agents' GATEWAY_OTLP_ENDPOINT use.
			if v.FullnameOverride != c.w.svc.Name {
				t.Errorf("fullnameOverride %q: Falco and the agents address the Service as %q", v.FullnameOverride, c.w.svc.Name)
			}
			// The pods carry the manifests' labels (the chart's app.kubernetes.io/name is
			// nameOverride), so the ServiceMonitors and NetworkPolicies select them as well.
			podLabels := map[string]string{"app.kubernetes.io/name": v.NameOverride}
			for k, val := range v.PodLabels {
				podLabels[k] = val
			}
			for k, val := range c.tmpl.Labels {
				if podLabels[k] != val {
					t.Errorf("chart pods have %s=%q, the manifests' pods %q", k, podLabels[k], val)
				}
			}
			if !v.NetworkPolicy.Enabled {
				t.Error("networkPolicy.enabled should be true, as the manifests' NetworkPolicies")
			}

			// config/*.yaml itself, mounted from a ConfigMap made from it, not a copy in values.
			if v.ConfigMap.Create || v.ConfigMap.ExistingName == "" {
				t.Error("configMap: want create: false and existingName (a ConfigMap made from config/*.yaml)")
			}
			if v.raw["config"] != nil || v.raw["alternateConfig"] != nil {
				t.Error("values carry a collector config: it would drift from config/*.yaml")
			}

			// Ports: every enabled port is one of the workload's container ports, each with its
			// Service port, and none of the chart's defaults (jaeger, zipkin) is left on.
			enabled := map[int32]bool{}
			for name, p := range v.Ports {
				if !p.Enabled {
					continue
				}
				if !hasContainerPort(c.w.c, p.ContainerPort) {
					t.Errorf("ports.%s: %d is not a port of the %s", name, p.ContainerPort, c.w.what)
				}
				if sp, ok := servicePortTo(t, c.w.svc, c.w.c, p.ContainerPort); ok && sp.Port != p.ServicePort {
					t.Errorf("ports.%s: service port %d, manifests use %d", name, p.ServicePort, sp.Port)
				}
				enabled[p.ContainerPort] = true
			}
			for _, sp := range c.w.svc.Spec.Ports {
				if n := containerPort(t, c.w.c, sp.TargetPort); !enabled[n] {
					t.Errorf("port %d (%s) of the %s Service is not enabled in ports", n, sp.Name, c.w.what)
				}
			}
			if !v.Service.Enabled {
				t.Error("service.enabled must be true (the chart makes no Service for a daemonset otherwise)")
			}
			if want := c.w.svc.Spec.InternalTrafficPolicy; want != nil && v.Service.InternalTrafficPolicy != string(*want) {
				t.Errorf("service.internalTrafficPolicy %q, manifests use %q", v.Service.InternalTrafficPolicy, *want)
			}
			for k, val := range c.w.svc.Annotations {
				if v.Service.Annotations[k] != val {
					t.Errorf("service.annotations[%s] = %q, manifests use %q", k, v.Service.Annotations[k], val)
				}
			}

			// Probes on the health_check port.
			hp := containerPort(t, c.w.c, c.w.c.LivenessProbe.HTTPGet.Port)
			for name, pr := range map[string]struct {
				Port int32
				Path string
			}{
				"livenessProbe": v.LivenessProbe.HTTPGet, "readinessProbe": v.ReadinessProbe.HTTPGet} {
				if pr.Port != hp || pr.Path != c.w.c.LivenessProbe.HTTPGet.Path {
					t.Errorf("%s GETs :%d%s, health_check serves :%d%s", name, pr.Port, pr.Path, hp, c.w.c.LivenessProbe.HTTPGet.Path)
				}
			}

			// Environment: the manifests' (which the config checks hold), GOMEMLIMIT from the chart.
			if !v.UseGOMEMLIMIT {
				t.Error("useGOMEMLIMIT should be true")
			}
			var want []corev1.EnvVar
			for _, e := range c.w.c.Env {
				if e.Name != "GOMEMLIMIT" {
					want = append(want, e)
				}
			}
			if !apiequality.Semantic.DeepEqual(want, v.ExtraEnvs) {
				t.Errorf("extraEnvs differ from the manifests' env:\n got %v\nwant %v", v.ExtraEnvs, want)
			}

			// Volumes: the manifests' but the config map, which the chart mounts itself.
			var vols []corev1.Volume
			for _, vol := range c.tmpl.Spec.Volumes {
				if vol.ConfigMap == nil {
					vols = append(vols, vol)
				}
			}
			if !apiequality.Semantic.DeepEqual(vols, v.ExtraVolumes) {
				t.Errorf("extraVolumes differ from the manifests':\n got %v\nwant %v", v.ExtraVolumes, vols)
			}
			var mounts []corev1.VolumeMount
			for _, m := range c.w.c.VolumeMounts {
				if m.Name != "config" {
					mounts = append(mounts, m)
				}
			}
			if !apiequality.Semantic.DeepEqual(mounts, v.ExtraVolumeMounts) {
				t.Errorf("extraVolumeMounts differ from the manifests':\n got %v\nwant %v", v.ExtraVolumeMounts, mounts)
			}

			// Security, resources and scheduling as in the manifests.
			spec := &corev1.PodSpec{
				SecurityContext: v.PodSecurityContext,
				Volumes:         v.ExtraVolumes,
				InitContainers:  v.InitContainers,
				Containers:      []corev1.Container{{Name: containerName, SecurityContext: v.SecurityContext, VolumeMounts: v.ExtraVolumeMounts}},
			}
			checkPodSecurity(t, c.file, spec, false)
			if !apiequality.Semantic.DeepEqual(v.Resources, c.w.c.Resources) {
				t.Errorf("resources %v, manifests use %v", v.Resources, c.w.c.Resources)
			}
			if !apiequality.Semantic.DeepEqual(v.Tolerations, c.tmpl.Spec.Tolerations) {
				t.Errorf("tolerations %v, manifests use %v", v.Tolerations, c.tmpl.Spec.Tolerations)
			}
			if c.mode == "statefulset" {
				sts := find[appsv1.StatefulSet](t, b, namespace, gatewayName)
				if !apiequality.Semantic.DeepEqual(v.Statefulset.VolumeClaimTemplates, sts.Spec.VolumeClaimTemplates) {
					t.Errorf("statefulset.volumeClaimTemplates differ from the manifests':\n got %v\nwant %v", v.Statefulset.VolumeClaimTemplates, sts.Spec.VolumeClaimTemplates)
				}
				if v.Autoscaling.TargetMemoryUtilizationPercentage != 0 {
					t.Error("autoscaling on memory: the gateway's heap sits near GOMEMLIMIT at any load, it would never scale down")
				}
				if !v.Autoscaling.Enabled || v.Autoscaling.MinReplicas < 2 || v.Autoscaling.MaxReplicas <= v.Autoscaling.MinReplicas {
					t.Error("autoscaling: want enabled, minReplicas >= 2 and room to grow")
				}
				// Chart 0.130.1 renders podDisruptionBudget in deployment mode only
				// (templates/pdb.yaml): the manifests' PDB comes as an extra manifest.
				var pdbs []*policyv1.PodDisruptionBudget
				for _, m := range v.ExtraManifests {
					if m["kind"] != "PodDisruptionBudget" {
						continue
					}
					b, _ := yaml.Marshal(m)
					pdb := &policyv1.PodDisruptionBudget{}
					if err := strictYAML(b, pdb); err != nil {
						t.Fatalf("extraManifests PodDisruptionBudget: %v", err)
					}
					pdbs = append(pdbs, pdb)
				}
				want := find[policyv1.PodDisruptionBudget](t, b, namespace, gatewayName)
				if len(pdbs) != 1 || !apiequality.Semantic.DeepEqual(pdbs[0].Spec, want.Spec) {
					t.Errorf("want the manifests' PodDisruptionBudget (spec %v) in extraManifests, have %d", want.Spec, len(pdbs))
				}
			}
		})
	}
	t.Logf("written against opentelemetry-collector chart %s", otelChartVersion)
}
