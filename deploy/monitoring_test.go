package deploy

import (
	"path/filepath"
	"slices"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
)

// TestServiceMonitors checks the optional ServiceMonitors: one per tier, selecting its Service,
// scraping both the prometheus exporter (:9376) and the collector's telemetry (:8888), with
// honorLabels false (the rules rely on job and instance being the scraped pod's).
func TestServiceMonitors(t *testing.T) {
	objs, err := decodeManifests("servicemonitor.yaml", mustRead(t, filepath.Join(baseDir, "servicemonitor.yaml")))
	if err != nil {
		t.Fatal(err)
	}
	b := base(t)
	for _, w := range []workload{agentWorkload(t, b), gatewayWorkload(t, b)} {
		t.Run(w.what, func(t *testing.T) {
			var sm *monitoringv1.ServiceMonitor
			for _, o := range objs {
				if m, ok := o.obj.(*monitoringv1.ServiceMonitor); ok && selects(m.Spec.Selector.MatchLabels, w.svc.Labels) {
					if sm != nil {
						t.Fatalf("two ServiceMonitors select the %s Service: every series would be scraped twice", w.what)
					}
					sm = m
				}
			}
			if sm == nil {
				t.Fatalf("no ServiceMonitor selects the %s Service (labels %v)", w.what, w.svc.Labels)
			}
			if sm.Namespace != w.svc.Namespace && !slices.Contains(sm.Spec.NamespaceSelector.MatchNames, w.svc.Namespace) {
				t.Errorf("ServiceMonitor %s does not look in namespace %s", sm.Name, w.svc.Namespace)
			}
			exporter, _ := servicePortTo(t, w.svc, w.c, prometheusPort(t, w))
			telemetry, ok := servicePortTo(t, w.svc, w.c, containerPort(t, w.c, intstrName("telemetry")))
			if !ok {
				t.Fatalf("the %s Service exposes no telemetry port", w.what)
			}
			var ports []string
			for _, ep := range sm.Spec.Endpoints {
				ports = append(ports, ep.Port)
				if ep.Path != "/metrics" {
					t.Errorf("endpoint %s: path %q", ep.Port, ep.Path)
				}
				if ep.HonorLabels {
					t.Errorf("endpoint %s: honorLabels true gives the re-exported Falco metrics of every node the same job and instance", ep.Port)
				}
			}
			slices.Sort(ports)
			want := []string{exporter.Name, telemetry.Name}
			slices.Sort(want)
			if !slices.Equal(ports, want) {
				t.Errorf("ServiceMonitor %s scrapes ports %v, want %v (:9376 and :8888)", sm.Name, ports, want)
			}
		})
	}
}

// TestScrapeAnnotations checks annotation-based scraping as the common jobs do it: the Service's
// prometheus.io/port (kubernetes-service-endpoints) is the exporter, the pods' (kubernetes-pods)
// the telemetry, so each port is scraped exactly once.
func TestScrapeAnnotations(t *testing.T) {
	b := base(t)
	for _, c := range []struct {
		w     workload
		annot map[string]string
	}{
		{agentWorkload(t, b), findDaemonSet(t, b).Spec.Template.Annotations},
		{gatewayWorkload(t, b), findStatefulSet(t, b).Spec.Template.Annotations},
	} {
		if got, want := c.w.svc.Annotations["prometheus.io/port"], itoa(prometheusPort(t, c.w)); got != want {
			t.Errorf("%s Service prometheus.io/port %q, want the exporter %s", c.w.what, got, want)
		}
		if got, want := c.annot["prometheus.io/port"], itoa(containerPort(t, c.w.c, intstrName("telemetry"))); got != want || c.annot["prometheus.io/scrape"] != "true" {
			t.Errorf("%s pods: prometheus.io/port %q, want the telemetry port %s (and scrape true)", c.w.what, got, want)
		}
	}
}
