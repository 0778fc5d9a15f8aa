// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-falco/otelcol-falco/internal/testbed"
)

// ndjsonAgent is the shipped agent taking Falco's http_output only (gRPC off, as for Falco >= 0.44,
// and no Falco /metrics to scrape), logs to a sink, with the given overlays from e2e/testdata.
type ndjsonAgent struct {
	env  agentEnv
	url  string
	col  *testbed.Collector
	sink *testbed.Sink
}

func startNDJSONAgent(t testing.TB, extraEnv map[string]string, overlays ...string) *ndjsonAgent {
	t.Helper()
	httpAddr := testbed.FreeAddr(t)
	a := &ndjsonAgent{url: "http://" + httpAddr + "/", sink: testbed.StartSink(t, false)}
	a.env = agentEnv{Socket: filepath.Join(t.TempDir(), "no-falco.sock"), Prometheus: testbed.FreeAddr(t), Sink: a.sink}
	env := map[string]string{
		"FILE_STORAGE_DIR":       t.TempDir(),
		"PROMETHEUS_ENDPOINT":    a.env.Prometheus,
		"SINK_ENDPOINT":          a.sink.Endpoint(),
		"FALCO_HTTP_ENDPOINT":    httpAddr,
		"FALCO_GRPC_ENABLED":     "false",
		"FALCO_GRPC_ENDPOINT":    "unix://" + a.env.Socket,
		"FALCO_METRICS_ENABLED":  "false",
		"FALCO_METRICS_INTERVAL": "1s",
	}
	for k, v := range extraEnv {
		env[k] = v
	}
	configs := agentConfigs()
	for _, o := range overlays {
		configs = append(configs, filepath.Join(testbed.RepoRoot(), "e2e", "testdata", o))
	}
	a.col = testbed.StartCollector(t, testbed.CollectorOptions{Configs: configs, Env: env})
	return a
}

// post sends one NDJSON body and requires Falco's idea of success.
func (a *ndjsonAgent) post(t testing.TB, body []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.url, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-ndjson")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusOK, resp.StatusCode)
}

// Falco's three ways of naming a pod: the container plugin's fields, the k8smeta plugin's, or both.
var podSpellings = []string{"container plugin", "k8smeta", "both"}

// falcoJSONAlert renders one alert as Falco's json_output does, with the pod's identity in one
// of podSpellings.
func falcoJSONAlert(t testing.TB, host, rule, pod, spelling string, at time.Time) []byte {
	t.Helper()
	fields := map[string]any{
		"evt.type": "execve", "proc.name": "bash", "proc.cmdline": "bash -il", "proc.pid": 4242,
		"user.name": "root", "user.uid": 0,
		"container.id": "3ad7b26ded6d", "container.name": "app", "container.image.repository": "docker.io/library/nginx",
	}
	plugin := map[string]any{"k8s.ns.name": "shop", "k8s.pod.name": pod}
	meta := map[string]any{"k8smeta.ns.name": "shop", "k8smeta.pod.name": pod, "k8smeta.pod.uid": "uid-" + pod}
	switch spelling {
	case "container plugin":
		meta = map[string]any{"k8smeta.ns.name": nil, "k8smeta.pod.name": nil}
	case "k8smeta":
		plugin = map[string]any{"k8s.ns.name": nil, "k8s.pod.name": nil}
	}
	for _, m := range []map[string]any{plugin, meta} {
		for k, v := range m {
			fields[k] = v
		}
	}
	b, err := json.Marshal(map[string]any{
		"hostname": host, "output": at.Format("15:04:05.000000000") + ": Notice " + rule, "priority": "Notice",
		"rule": rule, "source": "syscall", "tags": []string{"T1059", "container", "mitre_execution"},
		"time": at.Format(time.RFC3339Nano), "output_fields": fields,
	})
	require.NoError(t, err)
	return append(b, '\n')
}

// TestOneSeriesPerPodWhateverTheSpellingBehindBatch7 is issue 15's scenario: a batch processor
// that cuts falco.events into batches of 7 points runs before falcolabel, and each of 50 pods
// alerts under Falco's three spellings of its identity. Prometheus must count exactly what was
// sent, per pod, in one series per pod and rule, and no series may ever go down.
func TestOneSeriesPerPodWhateverTheSpellingBehindBatch7(t *testing.T) {
	a := startNDJSONAgent(t, nil, "metrics-batch7.yaml")
	prom := testbed.StartPrometheus(t, []testbed.ScrapeTarget{{Job: "otelcol-falco", Addr: a.env.Prometheus}})

	const pods, rules, rounds = 50, 5, 4
	at := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	sent := 0
	for round := range rounds {
		var body []byte
		for pod := range pods {
			for rule := range rules {
				for _, spelling := range podSpellings {
					at = at.Add(time.Millisecond)
					body = append(body, falcoJSONAlert(t, "node-1", fmt.Sprintf("Rule %d", rule), fmt.Sprintf("web-%02d", pod), spelling, at)...)
					sent++
				}
			}
		}
		a.post(t, body)
		// Let Prometheus see this round before the next: a series that jumped back and forth
		// between batches would show as a reset.
		var sum float64
		require.True(t, testbed.WaitFor(60*time.Second, func() bool {
			sum, _ = prom.QueryScalar(`sum(falco_events_total)`)
			return sum == float64(sent)
		}), "round %d: sum(falco_events_total) = %v, want %d", round, sum, sent)
	}
	require.Equal(t, pods*rules*len(podSpellings)*rounds, sent)

	perPod, err := prom.Query(`sum by (k8s_pod_name, k8s_namespace_name) (falco_events_total)`)
	require.NoError(t, err)
	require.Len(t, perPod, pods)
	for _, s := range perPod {
		assert.Equal(t, "shop", s.Metric["k8s_namespace_name"], s.Metric)
		assert.Equal(t, float64(rules*len(podSpellings)*rounds), s.Value, "pod %s", s.Metric["k8s_pod_name"])
	}
	series, err := prom.QueryScalar(`count(falco_events_total)`)
	require.NoError(t, err)
	assert.Equal(t, float64(pods*rules), series, "one series per pod and rule")
	falcoNamed, err := prom.Query(`falco_events_total{k8smeta_pod_name!=""} or falco_events_total{k8s_ns_name!=""}`)
	require.NoError(t, err)
	assert.Empty(t, falcoNamed, "no Falco spelling left as a label")
	resets, err := prom.QueryScalar(`sum(resets(falco_events_total[10m]))`)
	require.NoError(t, err)
	assert.Zero(t, resets, "a series went down between scrapes")
	require.True(t, testbed.WaitFor(60*time.Second, func() bool { return a.sink.Count() >= int64(sent) }),
		"sink got %d of %d log records", a.sink.Count(), sent)
}
