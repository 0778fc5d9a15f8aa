package deploy

import (
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// peer is a pod that opens a connection: its namespace and labels.
type peer struct {
	name, ns string
	labels   map[string]string
}

// admits evaluates the NetworkPolicies of a namespace as Kubernetes does for ingress: a pod no
// policy selects admits everything; a selected pod admits what one of its rules allows.
func admits(t *testing.T, policies []*networkingv1.NetworkPolicy, dst workload, dstLabels map[string]string, src peer, port int32) bool {
	t.Helper()
	selected := false
	for _, np := range policies {
		if np.Namespace != namespace || !matchSelector(t, &np.Spec.PodSelector, dstLabels) {
			continue
		}
		selected = true
		for _, rule := range np.Spec.Ingress {
			if ruleAdmits(t, rule, dst, src, port) {
				return true
			}
		}
	}
	return !selected
}

func ruleAdmits(t *testing.T, rule networkingv1.NetworkPolicyIngressRule, dst workload, src peer, port int32) bool {
	portOK := len(rule.Ports) == 0
	for _, p := range rule.Ports {
		if p.Port == nil || containerPort(t, dst.c, *p.Port) == port {
			portOK = true
		}
	}
	if !portOK {
		return false
	}
	if len(rule.From) == 0 {
		return true // from anywhere
	}
	nsLabels := map[string]string{"kubernetes.io/metadata.name": src.ns}
	for _, from := range rule.From {
		switch {
		case from.IPBlock != nil:
			continue
		case from.NamespaceSelector == nil: // pods of the policy's own namespace
			if src.ns == namespace && matchSelector(t, from.PodSelector, src.labels) {
				return true
			}
		case matchSelector(t, from.NamespaceSelector, nsLabels) &&
			(from.PodSelector == nil || matchSelector(t, from.PodSelector, src.labels)):
			return true
		}
	}
	return false
}

func matchSelector(t *testing.T, s *metav1.LabelSelector, l map[string]string) bool {
	t.Helper()
	sel, err := metav1.LabelSelectorAsSelector(s)
	if err != nil {
		t.Fatal(err)
	}
	return sel.Matches(labels.Set(l))
}

// TestNetworkPolicies holds the base's NetworkPolicies to the rules: :2801 only from
// Falco's pods, the gateway's OTLP only from the agents, metrics ports only from the monitoring
// namespace; each checked by evaluating the policies for the pods that should and should not get
// through.
func TestNetworkPolicies(t *testing.T) {
	b := base(t)
	var policies []*networkingv1.NetworkPolicy
	for _, o := range b {
		if np, ok := o.obj.(*networkingv1.NetworkPolicy); ok {
			policies = append(policies, np)
		}
	}
	agent, gateway := agentWorkload(t, b), gatewayWorkload(t, b)
	agentPod := findDaemonSet(t, b).Spec.Template.Labels
	gatewayPod := findStatefulSet(t, b).Spec.Template.Labels

	falco := peer{"Falco", falcoNamespace, falcoPodLabels}
	agentPeer := peer{"an agent", namespace, agentPod}
	monitoring := peer{"Prometheus", "monitoring", map[string]string{"app.kubernetes.io/name": "prometheus"}}
	stranger := peer{"a pod in default", "default", map[string]string{"app": "web"}}
	neighbour := peer{"another pod in otelcol-falco", namespace, map[string]string{"app": "debug"}}
	// A forger that copies Falco's labels in its own namespace is still refused.
	impostor := peer{"a pod labelled like Falco in default", "default", falcoPodLabels}

	ingest := falcoHTTPPorts(t, agent)[0]
	metricsPorts := func(w workload) []int32 {
		return []int32{prometheusPort(t, w), containerPort(t, w.c, intstrName("telemetry"))}
	}
	otlp := otlpPorts(t, gateway)

	type check struct {
		src   peer
		dst   workload
		pod   map[string]string
		ports []int32
		want  bool
	}
	checks := []check{
		{falco, agent, agentPod, []int32{ingest}, true},
		{stranger, agent, agentPod, []int32{ingest}, false},
		{impostor, agent, agentPod, []int32{ingest}, false},
		{neighbour, agent, agentPod, []int32{ingest}, false},
		{monitoring, agent, agentPod, []int32{ingest}, false},
		{monitoring, agent, agentPod, metricsPorts(agent), true},
		{stranger, agent, agentPod, metricsPorts(agent), false},
		{agentPeer, gateway, gatewayPod, []int32{otlp["grpc"], otlp["http"]}, true},
		{falco, gateway, gatewayPod, []int32{otlp["grpc"], otlp["http"]}, false},
		{stranger, gateway, gatewayPod, []int32{otlp["grpc"], otlp["http"]}, false},
		{neighbour, gateway, gatewayPod, []int32{otlp["grpc"], otlp["http"]}, false},
		{monitoring, gateway, gatewayPod, metricsPorts(gateway), true},
		{stranger, gateway, gatewayPod, metricsPorts(gateway), false},
	}
	for _, c := range checks {
		for _, p := range c.ports {
			if got := admits(t, policies, c.dst, c.pod, c.src, p); got != c.want {
				verb := map[bool]string{true: "admits", false: "refuses"}
				t.Errorf("%s :%d %s %s (namespace %s), want it to be %s", c.dst.what, p, verb[got], c.src.name, c.src.ns, map[bool]string{true: "admitted", false: "refused"}[c.want])
			}
		}
	}
	// The policies must leave the ingress of every listening port decided: a port no rule names
	// would be refused to everyone (the kubelet's probes come from the node and pass anyway).
	for _, d := range []struct {
		w   workload
		pod map[string]string
	}{{agent, agentPod}, {gateway, gatewayPod}} {
		for _, cp := range d.w.c.Ports {
			if cp.Name == "health" {
				continue
			}
			open := false
			for _, src := range []peer{falco, agentPeer, monitoring} {
				open = open || admits(t, policies, d.w, d.pod, src, cp.ContainerPort)
			}
			if !open {
				t.Errorf("%s port %s (%d) is open to nobody", d.w.what, cp.Name, cp.ContainerPort)
			}
		}
	}
}
