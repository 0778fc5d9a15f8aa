// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/otelcol-falco/otelcol-falco/internal/testbed"
)

// falcoAlertJSON is one alert as Falco 0.44 posts it with json_output: true.
const falcoAlertJSON = `{"hostname":"node-1","output":"2026-07-31T12:53:20.123456789+0000: Notice A shell was spawned in a container with an attached terminal | evt_type=execve user=root process=bash container_name=web","output_fields":{"container.name":"web","evt.type":"execve","proc.name":"bash","user.name":"root"},"priority":"Notice","rule":"Terminal shell in container","source":"syscall","tags":["T1059","container","maturity_stable","mitre_execution","shell"],"time":"2026-07-31T12:53:20.123456789Z"}`

// startShippedAgent starts config/agent.yaml plus the given overlays from config/, with every
// address on loopback and no Falco, and returns its http_output address (host:port).
func startShippedAgent(t *testing.T, extraEnv map[string]string, overlays ...string) (string, *testbed.Collector) {
	t.Helper()
	root := testbed.RepoRoot()
	configs := []string{filepath.Join(root, "config", "agent.yaml")}
	for _, o := range overlays {
		configs = append(configs, filepath.Join(root, "config", o))
	}
	httpAddr := testbed.FreeAddr(t)
	env := map[string]string{
		"FILE_STORAGE_DIR":      t.TempDir(),
		"FALCO_HTTP_ENDPOINT":   httpAddr,
		"PROMETHEUS_ENDPOINT":   testbed.FreeAddr(t),
		"FALCO_METRICS_TARGET":  testbed.FreeAddr(t), // no Falco /metrics here
		"GATEWAY_OTLP_ENDPOINT": testbed.FreeAddr(t),
		"K8S_NODE_NAME":         "e2e-node",
	}
	for k, v := range extraEnv {
		env[k] = v
	}
	return httpAddr, testbed.StartCollector(t, testbed.CollectorOptions{Configs: configs, Env: env})
}

func postAlert(t *testing.T, client *http.Client, url, token string) (int, error) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(falcoAlertJSON))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// serviceExtensions is the service.extensions list of a shipped config file.
func serviceExtensions(t *testing.T, file string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testbed.RepoRoot(), "config", file))
	require.NoError(t, err)
	var cfg struct {
		Service struct {
			Extensions []string `yaml:"extensions"`
		} `yaml:"service"`
	}
	require.NoError(t, yaml.Unmarshal(b, &cfg), file)
	return cfg.Service.Extensions
}

// TestBearerTokenOverlay starts the agent with config/agent-bearer-token.yaml: the overlay keeps
// every extension of agent.yaml (a --config replaces lists), a request without the token gets
// 401, a wrong token 401, and the token 200.
func TestBearerTokenOverlay(t *testing.T) {
	overlay := serviceExtensions(t, "agent-bearer-token.yaml")
	for _, ext := range serviceExtensions(t, "agent.yaml") {
		require.Contains(t, overlay, ext, "agent-bearer-token.yaml's service.extensions replaces agent.yaml's: it must keep %s", ext)
	}
	const token = "e2e-0123456789abcdef"
	tokenFile := filepath.Join(t.TempDir(), "token")
	require.NoError(t, os.WriteFile(tokenFile, []byte(token), 0o600))
	addr, _ := startShippedAgent(t, map[string]string{"FALCO_HTTP_TOKEN_FILE": tokenFile}, "agent-bearer-token.yaml")

	client := &http.Client{Timeout: 10 * time.Second}
	for _, c := range []struct {
		name, token string
		want        int
	}{
		{"no token", "", http.StatusUnauthorized},
		{"wrong token", "guess", http.StatusUnauthorized},
		{"token", token, http.StatusOK},
	} {
		code, err := postAlert(t, client, "http://"+addr+"/", c.token)
		require.NoError(t, err, c.name)
		require.Equal(t, c.want, code, c.name)
	}
}

// TestFalcoMTLSOverlay starts the agent with config/agent-falco-mtls.yaml and certificates made
// here: Falco's way of authenticating (mtls: true, client_cert, client_key, ca_cert). A client
// certificate of the CA is accepted (200), no certificate and a certificate of another CA are
// refused in the handshake.
func TestFalcoMTLSOverlay(t *testing.T) {
	pki := writeTestPKI(t)
	other := writeTestPKI(t) // a second CA, which the agent does not trust
	addr, _ := startShippedAgent(t, map[string]string{
		"FALCO_HTTP_TLS_CERT_FILE":      pki.serverCert,
		"FALCO_HTTP_TLS_KEY_FILE":       pki.serverKey,
		"FALCO_HTTP_TLS_CLIENT_CA_FILE": pki.ca,
	}, "agent-falco-mtls.yaml")

	caPEM, err := os.ReadFile(pki.ca)
	require.NoError(t, err)
	roots := x509.NewCertPool()
	require.True(t, roots.AppendCertsFromPEM(caPEM))
	client := func(certFile, keyFile string) *http.Client {
		cfg := &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
		if certFile != "" {
			cert, err := tls.LoadX509KeyPair(certFile, keyFile)
			require.NoError(t, err)
			cfg.Certificates = []tls.Certificate{cert}
		}
		return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg}}
	}
	url := "https://" + addr + "/"

	code, err := postAlert(t, client(pki.clientCert, pki.clientKey), url, "")
	require.NoError(t, err, "a client certificate signed by the CA must be accepted")
	require.Equal(t, http.StatusOK, code)

	for name, c := range map[string]*http.Client{
		"no client certificate":             client("", ""),
		"a certificate of an untrusted CA":  client(other.clientCert, other.clientKey),
		"plain HTTP on the TLS-only ingest": {Timeout: 10 * time.Second},
	} {
		plainURL := url
		if name == "plain HTTP on the TLS-only ingest" {
			plainURL = "http://" + addr + "/"
		}
		code, err := postAlert(t, c, plainURL, "")
		if err == nil && code < 300 {
			t.Errorf("%s: accepted (HTTP %d)", name, code)
		}
		t.Logf("%s: refused (%v)", name, describeRefusal(code, err))
	}
}

func describeRefusal(code int, err error) string {
	if err != nil {
		return err.Error()
	}
	return fmt.Sprintf("HTTP %d", code)
}

// TestOverlaysAreTested keeps this file in step with config/: every agent overlay there is
// started by a test here (the gateway's TLS overlay is started by TestSIEMGatewayTLS).
func TestOverlaysAreTested(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(testbed.RepoRoot(), "config", "*.yaml"))
	require.NoError(t, err)
	src, err := os.ReadFile("deploy_overlays_test.go")
	require.NoError(t, err)
	siem, err := os.ReadFile("siem_test.go")
	require.NoError(t, err)
	for _, f := range files {
		name := filepath.Base(f)
		if slices.Contains([]string{"agent.yaml", "gateway.yaml"}, name) {
			continue
		}
		if !strings.Contains(string(src), `"`+name+`")`) && !strings.Contains(string(siem), `"`+name+`")`) {
			t.Errorf("config/%s is documented but no e2e test starts the collector with it", name)
		}
	}
}
