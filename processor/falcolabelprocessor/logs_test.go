// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package falcolabelprocessor

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
)

// podAlert is alertFields() for pod i of namespace ns.
func podAlert(ns string, i int) map[string]any {
	pod := fmt.Sprintf("app-%d", i)
	id := fmt.Sprintf("%012x", 0xc0ffee000+i)
	return with(alertFields(), map[string]any{
		"k8s.ns.name": ns, "k8smeta.ns.name": ns,
		"k8s.pod.name": pod, "k8smeta.pod.name": pod,
		"k8s.pod.uid": "uid-" + pod, "k8smeta.pod.uid": "uid-" + pod,
		"container.id": id, "container.full_id": id + "0000",
		"container.name": "app",
	})
}

// interleavedAlerts returns n alerts spread round-robin over pods.
func interleavedAlerts(n, pods int) []map[string]any {
	shapes := make([]map[string]any, pods)
	for i := range shapes {
		shapes[i] = podAlert("ns", i)
	}
	alerts := make([]map[string]any, n)
	for i := range alerts {
		alerts[i] = shapes[i%pods]
	}
	return alerts
}

func TestLogsSplitByPod(t *testing.T) {
	ld := newAlertLogs(t, "node-1", interleavedAlerts(1000, 50)...)
	out := processLogs(t, &Config{}, ld)

	require.Equal(t, 50, out.ResourceLogs().Len())
	assert.Equal(t, 1000, out.LogRecordCount())
	pods := map[string]int{}
	for _, rl := range out.ResourceLogs().All() {
		res := rl.Resource().Attributes()
		pod, ok := res.Get("k8s.pod.name")
		require.True(t, ok)
		host, _ := res.Get("host.name")
		assert.Equal(t, "node-1", host.Str())
		require.Equal(t, 1, rl.ScopeLogs().Len())
		assert.Equal(t, receiverScope, rl.ScopeLogs().At(0).Scope().Name())
		for _, lr := range rl.ScopeLogs().At(0).LogRecords().All() {
			_, leaked := lr.Attributes().Get("k8s.pod.name")
			assert.False(t, leaked, "identity stays on the record")
			uid, _ := res.Get("k8s.pod.uid")
			assert.Equal(t, "uid-"+pod.Str(), uid.Str())
		}
		pods[pod.Str()] += rl.ScopeLogs().At(0).LogRecords().Len()
	}
	assert.Len(t, pods, 50)
	for pod, n := range pods {
		assert.Equal(t, 20, n, pod)
	}
}

func TestLogsRegrouping(t *testing.T) {
	tests := []struct {
		name  string
		build func(t *testing.T) plog.Logs
		// want maps "host.name/k8s.pod.name" (empty pod for host resources) to record counts,
		// one entry per output resource.
		want map[string]int
	}{
		{
			name: "one workload per resource is kept as is",
			build: func(t *testing.T) plog.Logs {
				ld := newAlertLogs(t, "node-1", podAlert("ns", 1), podAlert("ns", 1))
				appendAlertResource(t, ld, "node-1", podAlert("ns", 2))
				return ld
			},
			want: map[string]int{"node-1/app-1": 2, "node-1/app-2": 1},
		},
		{
			name: "equal resources merge by workload",
			build: func(t *testing.T) plog.Logs {
				ld := newAlertLogs(t, "node-1", podAlert("ns", 1), podAlert("ns", 2))
				appendAlertResource(t, ld, "node-1", podAlert("ns", 2), podAlert("ns", 1), podAlert("ns", 1))
				return ld
			},
			want: map[string]int{"node-1/app-1": 3, "node-1/app-2": 2},
		},
		{
			name: "whole resource moves to an earlier one",
			build: func(t *testing.T) plog.Logs {
				ld := newAlertLogs(t, "node-1", podAlert("ns", 1))
				appendAlertResource(t, ld, "node-1", podAlert("ns", 1), podAlert("ns", 1))
				return ld
			},
			want: map[string]int{"node-1/app-1": 3},
		},
		{
			name: "different hosts never merge",
			build: func(t *testing.T) plog.Logs {
				ld := newAlertLogs(t, "node-1", podAlert("ns", 1))
				appendAlertResource(t, ld, "node-2", podAlert("ns", 1))
				return ld
			},
			want: map[string]int{"node-1/app-1": 1, "node-2/app-1": 1},
		},
		{
			name: "same pod name in two namespaces are two workloads",
			build: func(t *testing.T) plog.Logs {
				return newAlertLogs(t, "node-1", podAlert("a", 1), podAlert("b", 1))
			},
			want: map[string]int{"node-1/app-1": 2}, // counted by pod name: two resources
		},
		{
			name: "host alerts form a host resource",
			build: func(t *testing.T) plog.Logs {
				host := with(without(alertFields(), "k8s.", "k8smeta."), map[string]any{"container.id": "host", "container.full_id": "host", "container.name": "host"})
				return newAlertLogs(t, "node-1", podAlert("ns", 1), host, host, podAlert("ns", 2))
			},
			want: map[string]int{"node-1/app-1": 1, "node-1/": 2, "node-1/app-2": 1},
		},
		{
			name: "empty resource is kept",
			build: func(t *testing.T) plog.Logs {
				ld := newAlertLogs(t, "node-1")
				appendAlertResource(t, ld, "node-1", podAlert("ns", 1))
				return ld
			},
			want: map[string]int{"node-1/": 0, "node-1/app-1": 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ld := tt.build(t)
			in := ld.LogRecordCount()
			out := processLogs(t, &Config{}, ld)
			assert.Equal(t, in, out.LogRecordCount())

			got := map[string]int{}
			resources := 0
			for _, rl := range out.ResourceLogs().All() {
				resources++
				host, _ := rl.Resource().Attributes().Get("host.name")
				pod, _ := rl.Resource().Attributes().Get("k8s.pod.name")
				n := 0
				for _, sl := range rl.ScopeLogs().All() {
					n += sl.LogRecords().Len()
				}
				got[host.Str()+"/"+pod.Str()] += n
			}
			assert.Equal(t, tt.want, got)
			if tt.name == "same pod name in two namespaces are two workloads" {
				assert.Equal(t, 2, resources)
			} else {
				assert.Len(t, tt.want, resources)
			}
		})
	}
}

func TestLogsKeepScopes(t *testing.T) {
	ld := newAlertLogs(t, "node-1", podAlert("ns", 1), podAlert("ns", 2))
	other := ld.ResourceLogs().At(0).ScopeLogs().AppendEmpty()
	other.Scope().SetName("other")
	other.Scope().SetVersion("v1")
	other.SetSchemaUrl("https://opentelemetry.io/schemas/1.30.0")
	putSorted(t, other.LogRecords().AppendEmpty().Attributes(), podAlert("ns", 2))
	putSorted(t, other.LogRecords().AppendEmpty().Attributes(), podAlert("ns", 3))

	out := processLogs(t, &Config{}, ld)
	assert.Equal(t, 4, out.LogRecordCount())
	scopes := map[string]int{}
	for _, rl := range out.ResourceLogs().All() {
		pod, _ := rl.Resource().Attributes().Get("k8s.pod.name")
		for _, sl := range rl.ScopeLogs().All() {
			require.Positive(t, sl.LogRecords().Len())
			scopes[pod.Str()+"/"+sl.Scope().Name()+"@"+sl.Scope().Version()+"|"+sl.SchemaUrl()] += sl.LogRecords().Len()
		}
	}
	assert.Equal(t, map[string]int{
		"app-1/" + receiverScope + "@|":                          1,
		"app-2/" + receiverScope + "@|":                          1,
		"app-2/other@v1|https://opentelemetry.io/schemas/1.30.0": 1,
		"app-3/other@v1|https://opentelemetry.io/schemas/1.30.0": 1,
	}, scopes)
}

// TestLogsIdempotent checks that a second pass changes nothing, so a pipeline may run the
// processor twice (e.g. on an agent and a gateway).
func TestLogsIdempotent(t *testing.T) {
	for _, keep := range []bool{false, true} {
		t.Run(fmt.Sprint("keep_original=", keep), func(t *testing.T) {
			cfg := &Config{KeepOriginal: keep, K8sNodeName: "worker-1"}
			once := processLogs(t, cfg, newAlertLogs(t, "node-1", interleavedAlerts(100, 7)...))
			twice := plog.NewLogs()
			once.CopyTo(twice)
			twice = processLogs(t, cfg, twice)
			assert.Equal(t, once, twice)
		})
	}
}
