// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package falcolabelprocessor

import (
	"context"
	"fmt"
	"maps"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

const receiverScope = "github.com/otelcol-falco/otelcol-falco/receiver/falcoreceiver"

// alertFields returns the attributes the falco receiver writes for a "Terminal shell in
// container" alert, with the container plugin's and k8smeta's fields, as Falco 0.40 sends them.
func alertFields() map[string]any {
	return map[string]any{
		"falco.rule":                 "Terminal shell in container",
		"falco.priority":             "notice",
		"falco.source":               "syscall",
		"falco.tags":                 []any{"T1059", "container", "mitre_execution", "shell"},
		"evt.time":                   int64(1732600000123456789),
		"evt.type":                   "execve",
		"evt.arg.flags":              "EXE_WRITABLE|EXE_LOWER_LAYER",
		"proc.exepath":               "/usr/bin/bash",
		"proc.name":                  "bash",
		"proc.pname":                 "runc",
		"proc.pid":                   int64(4242),
		"proc.cmdline":               "bash -il",
		"proc.pcmdline":              "runc init",
		"proc.tty":                   int64(34816),
		"proc.aname[2]":              "containerd-shim",
		"proc.aname[3]":              "<NA>",
		"user.name":                  "root",
		"user.uid":                   int64(0),
		"user.loginuid":              int64(-1),
		"group.gid":                  int64(0),
		"group.name":                 "root",
		"container.id":               "3ad7b26ded6d",
		"container.full_id":          "3ad7b26ded6d8e7b23da7d48fe889434573036c27ae5a74837233de441c3601e",
		"container.name":             "nginx",
		"container.image.repository": "docker.io/library/nginx",
		"container.image.tag":        "1.27",
		"container.type":             "containerd",
		"k8s.ns.name":                "web",
		"k8s.pod.name":               "nginx-7c5ddbdf54-x2x9q",
		"k8s.pod.uid":                "f1c6a2f0-3f8e-4c8e-9d0e-2b7f5c0c9a11",
		"k8smeta.ns.name":            "web",
		"k8smeta.pod.name":           "nginx-7c5ddbdf54-x2x9q",
		"k8smeta.pod.uid":            "f1c6a2f0-3f8e-4c8e-9d0e-2b7f5c0c9a11",
		"k8smeta.deployment.name":    "nginx",
	}
}

// with returns a copy of fields with changes applied; a nil value deletes the key.
func with(fields map[string]any, changes map[string]any) map[string]any {
	out := maps.Clone(fields)
	for k, v := range changes {
		if v == nil {
			delete(out, k)
		} else {
			out[k] = v
		}
	}
	return out
}

// without returns a copy of fields without the keys that have one of the prefixes.
func without(fields map[string]any, prefixes ...string) map[string]any {
	out := maps.Clone(fields)
	for k := range out {
		for _, p := range prefixes {
			if strings.HasPrefix(k, p) {
				delete(out, k)
			}
		}
	}
	return out
}

// putSorted writes raw into m in key order, as the receiver writes a stable order.
func putSorted(t testing.TB, m pcommon.Map, raw map[string]any) {
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		require.NoError(t, m.PutEmpty(k).FromRaw(raw[k]))
	}
}

// newAlertLogs builds one ResourceLogs of a Falco host, as the falco receiver does.
func newAlertLogs(t testing.TB, hostname string, alerts ...map[string]any) plog.Logs {
	ld := plog.NewLogs()
	appendAlertResource(t, ld, hostname, alerts...)
	return ld
}

func appendAlertResource(t testing.TB, ld plog.Logs, hostname string, alerts ...map[string]any) plog.ResourceLogs {
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "falco")
	if hostname != "" {
		rl.Resource().Attributes().PutStr("host.name", hostname)
	}
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName(receiverScope)
	for _, a := range alerts {
		lr := sl.LogRecords().AppendEmpty()
		lr.SetEventName("falco.alert")
		lr.SetSeverityNumber(plog.SeverityNumberInfo2)
		lr.Body().SetStr(fmt.Sprint(a["falco.rule"]))
		putSorted(t, lr.Attributes(), a)
	}
	return rl
}

// series is one falco.events data point as the receiver emits it.
type series struct {
	attrs map[string]any
	start pcommon.Timestamp
	value int64
}

func newEventsMetrics(t testing.TB, hostname string, ts pcommon.Timestamp, points ...series) pmetric.Metrics {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("service.name", "falco")
	if hostname != "" {
		rm.Resource().Attributes().PutStr("host.name", hostname)
	}
	sm := rm.ScopeMetrics().AppendEmpty()
	sm.Scope().SetName(receiverScope)
	m := sm.Metrics().AppendEmpty()
	m.SetName("falco.events")
	m.SetUnit("{event}")
	sum := m.SetEmptySum()
	sum.SetIsMonotonic(true)
	sum.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
	for _, s := range points {
		dp := sum.DataPoints().AppendEmpty()
		putSorted(t, dp.Attributes(), s.attrs)
		dp.SetStartTimestamp(s.start)
		dp.SetTimestamp(ts)
		dp.SetIntValue(s.value)
	}
	return md
}

// eventPointAttrs are a falco.events point's attributes for an alert shape, per the receiver's
// default metric attributes.
func eventPointAttrs(fields map[string]any) map[string]any {
	out := map[string]any{}
	for _, k := range []string{
		"falco.rule", "falco.priority", "falco.source", "evt.type",
		"k8s.ns.name", "k8s.pod.name", "k8smeta.ns.name", "k8smeta.pod.name", "container.id", "container.name",
	} {
		if v, ok := fields[k]; ok {
			out[k] = v
		}
	}
	out["falco.tags"] = "T1059,container,mitre_execution,shell"
	return out
}

func newTestProcessor(t testing.TB, cfg *Config) *labelProcessor {
	require.NoError(t, cfg.Validate())
	return newLabelProcessor(cfg)
}

func processLogs(t testing.TB, cfg *Config, ld plog.Logs) plog.Logs {
	out, err := newTestProcessor(t, cfg).processLogs(context.Background(), ld)
	require.NoError(t, err)
	return out
}

func processMetrics(t testing.TB, cfg *Config, md pmetric.Metrics) pmetric.Metrics {
	out, err := newTestProcessor(t, cfg).processMetrics(context.Background(), md)
	require.NoError(t, err)
	return out
}

// seriesKey identifies an output series as Prometheus would: resource plus point attributes.
func seriesKey(res, point pcommon.Map) string {
	var parts []string
	for k, v := range res.All() {
		parts = append(parts, "r:"+k+"="+v.AsString())
	}
	for k, v := range point.All() {
		parts = append(parts, "p:"+k+"="+v.AsString())
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

// flattenSums returns every Sum point of md by series key, failing on duplicate series.
func flattenSums(t testing.TB, md pmetric.Metrics) map[string]pmetric.NumberDataPoint {
	out := map[string]pmetric.NumberDataPoint{}
	for _, rm := range md.ResourceMetrics().All() {
		for _, sm := range rm.ScopeMetrics().All() {
			for _, m := range sm.Metrics().All() {
				require.Equal(t, pmetric.MetricTypeSum, m.Type())
				for _, dp := range m.Sum().DataPoints().All() {
					key := m.Name() + "|" + seriesKey(rm.Resource().Attributes(), dp.Attributes())
					_, dup := out[key]
					require.False(t, dup, "duplicate series %s", key)
					out[key] = dp
				}
			}
		}
	}
	return out
}
