package deploy

import (
	"bytes"
	"net/url"
	"path/filepath"
	"slices"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

const mtlsOverlayDir = "overlays/falco-mtls"

// certificate is the part of cert-manager's Certificate (cert-manager.io/v1) the overlay uses.
type certificate struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"metadata"`
	Spec struct {
		SecretName string   `json:"secretName"`
		DNSNames   []string `json:"dnsNames"`
		Usages     []string `json:"usages"`
		IsCA       bool     `json:"isCA"`
		CommonName string   `json:"commonName"`
		Duration   string   `json:"duration"`
		PrivateKey struct {
			Algorithm string `json:"algorithm"`
			Size      int    `json:"size"`
		} `json:"privateKey"`
		IssuerRef struct{ Kind, Name string } `json:"issuerRef"`
	} `json:"spec"`
}

// TestFalcoMTLSOverlay checks deploy/overlays/falco-mtls against config/agent-falco-mtls.yaml,
// the cert-manager example and deploy/falco/values-mtls.yaml: the agent runs the mTLS overlay
// from its ConfigMap, with the certificate files where the overlay reads them, the agent's
// certificate names the host Falco posts to, and Falco mounts a client certificate of the same CA.
// (e2e/deploy_overlays_test.go starts the agent with the overlay and shows a client without a
// certificate refused.)
func TestFalcoMTLSOverlay(t *testing.T) {
	src := readRepoFile(t, "config", "agent-falco-mtls.yaml")
	if cp := mustRead(t, filepath.Join(mtlsOverlayDir, "config", "agent-falco-mtls.yaml")); !bytes.Equal(cp, src) {
		t.Fatal("overlays/falco-mtls/config/agent-falco-mtls.yaml differs from config/agent-falco-mtls.yaml: copy it")
	}
	o := bundle(render(t, mtlsOverlayDir))
	ds := find[appsv1.DaemonSet](t, o, namespace, agentName)
	spec := &ds.Spec.Template.Spec
	c := podContainer(t, spec, containerName)
	cm := findConfigMap(t, o, namespace, agentName)
	if cm.Data["agent-falco-mtls.yaml"] != string(src) || cm.Data["agent.yaml"] == "" {
		t.Fatal("the agent ConfigMap should hold agent.yaml and agent-falco-mtls.yaml")
	}
	if !slices.Contains(c.Args, "--config=/etc/otelcol-falco/agent-falco-mtls.yaml") || c.Args[0] != "--config=/etc/otelcol-falco/agent.yaml" {
		t.Errorf("agent args %v: want agent.yaml, then agent-falco-mtls.yaml", c.Args)
	}
	checkPodSecurity(t, "agent (falco-mtls overlay)", spec, false)

	// The files the overlay reads are on the Secret volume.
	cfg := parseCollectorConfig(t, "agent-falco-mtls.yaml", src)
	env := containerEnv(t, c)
	var secret string
	for _, key := range []string{"cert_file", "key_file", "client_ca_file"} {
		p, ok := lookupString(cfg.tree, "receivers", "falco", "http", "tls", key)
		if !ok {
			t.Fatalf("agent-falco-mtls.yaml sets no tls.%s", key)
		}
		m, v := mountFor(spec, c, env.expand(p))
		if m == nil || v == nil || v.Secret == nil {
			t.Fatalf("tls.%s %s is on no Secret volume", key, env.expand(p))
		}
		secret = v.Secret.SecretName
	}

	// cert-manager: the agent's certificate is that Secret, for the name in Falco's URL; Falco's
	// client certificate is the Secret values-mtls.yaml mounts; one CA issues both.
	certs := map[string]certificate{}
	for _, doc := range splitDocs(mustRead(t, filepath.Join(mtlsOverlayDir, "cert-manager.yaml"))) {
		var cert certificate
		if err := yaml.UnmarshalStrict(doc, &cert); err != nil {
			var loose struct{ Kind string }
			if yaml.Unmarshal(doc, &loose) == nil && loose.Kind == "ClusterIssuer" {
				continue
			}
			t.Fatalf("cert-manager.yaml: %v", err)
		}
		if cert.Kind == "Certificate" {
			certs[cert.Metadata.Namespace+"/"+cert.Spec.SecretName] = cert
		}
	}
	agentCert, ok := certs[namespace+"/"+secret]
	if !ok {
		t.Fatalf("cert-manager.yaml has no Certificate for Secret %s/%s", namespace, secret)
	}
	falcoValues := readValues(t, "falco/values-mtls.yaml")
	u, err := url.Parse(get(falcoValues, "falco.http_output.url").(string))
	if err != nil || u.Scheme != "https" {
		t.Fatalf("values-mtls.yaml http_output.url %v: want https", get(falcoValues, "falco.http_output.url"))
	}
	if !slices.Contains(agentCert.Spec.DNSNames, u.Hostname()) || !slices.Contains(agentCert.Spec.Usages, "server auth") {
		t.Errorf("the agent's certificate names %v (%v), Falco connects to %s", agentCert.Spec.DNSNames, agentCert.Spec.Usages, u.Hostname())
	}
	if get(falcoValues, "falco.http_output.mtls") != true {
		t.Error("values-mtls.yaml: http_output.mtls must be true")
	}
	var falcoSecret string
	vols, _ := get(falcoValues, "mounts.volumes").([]any)
	for _, v := range vols {
		var vol corev1.Volume
		b, _ := yaml.Marshal(v)
		if err := yaml.UnmarshalStrict(b, &vol); err != nil {
			t.Fatal(err)
		}
		if vol.Secret != nil {
			falcoSecret = vol.Secret.SecretName
		}
	}
	falcoCert, ok := certs[falcoNamespace+"/"+falcoSecret]
	if !ok {
		t.Fatalf("cert-manager.yaml has no Certificate for Falco's Secret %s/%s", falcoNamespace, falcoSecret)
	}
	if !slices.Contains(falcoCert.Spec.Usages, "client auth") {
		t.Errorf("Falco's certificate usages %v: want client auth", falcoCert.Spec.Usages)
	}
	if falcoCert.Spec.IssuerRef != agentCert.Spec.IssuerRef {
		t.Errorf("Falco's certificate is issued by %v, the agent's by %v: the agent would refuse Falco", falcoCert.Spec.IssuerRef, agentCert.Spec.IssuerRef)
	}
}
