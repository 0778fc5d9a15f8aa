// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package falcolabelprocessor

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const fullID = "3ad7b26ded6d8e7b23da7d48fe889434573036c27ae5a74837233de441c3601e"

// Expected attributes for alertFields() with the default configuration.
func wantResource() map[string]any {
	return map[string]any{
		"service.name":           "falco",
		"host.name":              "node-1",
		"k8s.namespace.name":     "web",
		"k8s.pod.name":           "nginx-7c5ddbdf54-x2x9q",
		"k8s.pod.uid":            "f1c6a2f0-3f8e-4c8e-9d0e-2b7f5c0c9a11",
		"k8s.deployment.name":    "nginx",
		"container.id":           fullID,
		"container.name":         "nginx",
		"container.image.name":   "docker.io/library/nginx",
		"container.image.tags":   []any{"1.27"},
		"container.runtime.name": "containerd",
	}
}

func wantRecord() map[string]any {
	return map[string]any{
		"falco.rule":              "Terminal shell in container",
		"falco.priority":          "notice",
		"falco.source":            "syscall",
		"falco.tags":              []any{"T1059", "container", "mitre_execution", "shell"},
		"evt.time":                int64(1732600000123456789),
		"evt.type":                "execve",
		"evt.arg.flags":           "EXE_WRITABLE|EXE_LOWER_LAYER",
		"proc.pname":              "runc",
		"proc.pcmdline":           "runc init",
		"proc.tty":                int64(34816),
		"proc.aname[2]":           "containerd-shim",
		"proc.aname[3]":           "<NA>",
		"user.loginuid":           int64(-1),
		"group.gid":               int64(0),
		"group.name":              "root",
		"process.executable.path": "/usr/bin/bash",
		"process.executable.name": "bash",
		"process.pid":             int64(4242),
		"process.command_line":    "bash -il",
		"user.name":               "root",
		"user.id":                 "0",
	}
}

func TestLabelAlertShapes(t *testing.T) {
	containerPluginOnly := without(alertFields(), "k8smeta.")
	k8smetaOnly := without(alertFields(), "container.", "k8s.")
	hostAlert := with(without(alertFields(), "k8s.", "k8smeta."), map[string]any{
		"container.id": "host", "container.full_id": "host", "container.name": "host",
		"container.image.repository": "", "container.image.tag": "", "container.type": "<NA>",
	})

	tests := []struct {
		name         string
		cfg          Config
		resource     map[string]any // pre-existing resource attributes besides service.name/host.name
		fields       map[string]any
		wantResource map[string]any
		wantRecord   map[string]any
	}{
		{
			name:         "both plugins",
			fields:       alertFields(),
			wantResource: wantResource(),
			wantRecord:   wantRecord(),
		},
		{
			name:         "container plugin only",
			fields:       containerPluginOnly,
			wantResource: with(wantResource(), map[string]any{"k8s.deployment.name": nil}),
			wantRecord:   wantRecord(),
		},
		{
			name:   "k8smeta only",
			fields: k8smetaOnly,
			wantResource: map[string]any{
				"service.name":        "falco",
				"host.name":           "node-1",
				"k8s.namespace.name":  "web",
				"k8s.pod.name":        "nginx-7c5ddbdf54-x2x9q",
				"k8s.pod.uid":         "f1c6a2f0-3f8e-4c8e-9d0e-2b7f5c0c9a11",
				"k8s.deployment.name": "nginx",
			},
			wantRecord: wantRecord(),
		},
		{
			name: "k8smeta wins only where the container plugin has no value",
			fields: with(alertFields(), map[string]any{
				"k8s.ns.name": "<NA>", "k8smeta.ns.name": "web-meta",
				"k8s.pod.name": "pod-from-container-plugin", "k8smeta.pod.name": "pod-from-k8smeta",
				"k8s.pod.uid": nil, "k8smeta.pod.uid": "uid-from-k8smeta",
			}),
			wantResource: with(wantResource(), map[string]any{
				"k8s.namespace.name": "web-meta", "k8s.pod.name": "pod-from-container-plugin", "k8s.pod.uid": "uid-from-k8smeta",
			}),
			wantRecord: wantRecord(),
		},
		{
			name:         "legacy k8s.pod.id",
			fields:       with(alertFields(), map[string]any{"k8s.pod.uid": nil, "k8smeta.pod.uid": nil, "k8s.pod.id": "legacy-uid"}),
			wantResource: with(wantResource(), map[string]any{"k8s.pod.uid": "legacy-uid"}),
			wantRecord:   wantRecord(),
		},
		{
			name:         "12-char container id when the full id is missing",
			fields:       with(alertFields(), map[string]any{"container.full_id": "<NA>"}),
			wantResource: with(wantResource(), map[string]any{"container.id": "3ad7b26ded6d"}),
			wantRecord:   wantRecord(),
		},
		{
			name:   "host alert has no container",
			fields: hostAlert,
			wantResource: map[string]any{
				"service.name": "falco",
				"host.name":    "node-1",
			},
			wantRecord: wantRecord(),
		},
		{
			name:   "host alert by container.name alone",
			fields: with(hostAlert, map[string]any{"container.id": nil, "container.full_id": nil}),
			wantResource: map[string]any{
				"service.name": "falco",
				"host.name":    "node-1",
			},
			wantRecord: wantRecord(),
		},
		{
			name: "no-value markers never become attributes",
			fields: with(alertFields(), map[string]any{
				"proc.cmdline": "<NA>", "proc.exepath": "", "user.name": "null",
				"container.image.tag": "<NA>", "k8smeta.deployment.name": "",
			}),
			wantResource: with(wantResource(), map[string]any{"container.image.tags": nil, "k8s.deployment.name": nil}),
			wantRecord: with(wantRecord(), map[string]any{
				"process.command_line": nil, "process.executable.path": nil, "user.name": nil,
			}),
		},
		{
			name:         "bracket keys untouched",
			fields:       with(alertFields(), map[string]any{"proc.aname[4]": "systemd", "proc.apid[2]": int64(1)}),
			wantResource: wantResource(),
			wantRecord:   with(wantRecord(), map[string]any{"proc.aname[4]": "systemd", "proc.apid[2]": int64(1)}),
		},
		{
			name:         "gRPC strings are typed",
			fields:       with(alertFields(), map[string]any{"proc.pid": "1234", "user.uid": "1000"}),
			wantResource: wantResource(),
			wantRecord:   with(wantRecord(), map[string]any{"process.pid": int64(1234), "user.id": "1000"}),
		},
		{
			name:         "unparsable pid stays under its Falco name",
			fields:       with(alertFields(), map[string]any{"proc.pid": "12x"}),
			wantResource: wantResource(),
			wantRecord:   with(wantRecord(), map[string]any{"process.pid": nil, "proc.pid": "12x"}),
		},
		{
			name:         "file event by fd.type",
			fields:       with(alertFields(), map[string]any{"evt.type": "openat", "fd.name": "/etc/shadow", "fd.type": "file"}),
			wantResource: wantResource(),
			wantRecord:   with(wantRecord(), map[string]any{"evt.type": "openat", "fd.type": "file", "file.path": "/etc/shadow"}),
		},
		{
			name:         "file event by fd.typechar",
			fields:       with(alertFields(), map[string]any{"evt.type": "read", "fd.name": "/etc", "fd.typechar": "d"}),
			wantResource: wantResource(),
			wantRecord:   with(wantRecord(), map[string]any{"evt.type": "read", "fd.typechar": "d", "file.path": "/etc"}),
		},
		{
			name:         "file event by syscall",
			fields:       with(alertFields(), map[string]any{"evt.type": "unlinkat", "fd.name": "/var/log/auth.log"}),
			wantResource: wantResource(),
			wantRecord:   with(wantRecord(), map[string]any{"evt.type": "unlinkat", "file.path": "/var/log/auth.log"}),
		},
		{
			name: "network fd.name is not a file",
			fields: with(alertFields(), map[string]any{
				"evt.type": "connect", "fd.name": "10.0.0.7:51234->10.0.0.1:443", "fd.type": "ipv4",
			}),
			wantResource: wantResource(),
			wantRecord: with(wantRecord(), map[string]any{
				"evt.type": "connect", "fd.name": "10.0.0.7:51234->10.0.0.1:443", "fd.type": "ipv4",
			}),
		},
		{
			name: "unix socket path with a file syscall family but fd.type unix",
			fields: with(alertFields(), map[string]any{
				"evt.type": "openat", "fd.name": "/run/containerd/containerd.sock", "fd.type": "unix",
			}),
			wantResource: wantResource(),
			wantRecord: with(wantRecord(), map[string]any{
				"evt.type": "openat", "fd.name": "/run/containerd/containerd.sock", "fd.type": "unix",
			}),
		},
		{
			name:         "a record-level target already present is replaced",
			fields:       with(alertFields(), map[string]any{"process.executable.name": "old", "process.pid": "old"}),
			wantResource: wantResource(),
			wantRecord:   wantRecord(),
		},
		{
			name:         "keep_original with a target already present",
			cfg:          Config{KeepOriginal: true},
			fields:       with(alertFields(), map[string]any{"process.executable.name": "old"}),
			wantResource: wantResource(),
			wantRecord: func() map[string]any {
				want := wantRecord()
				for k, v := range alertFields() {
					want[k] = v
				}
				return want
			}(),
		},
		{
			name:         "no-value fd.name of a non-file event is removed",
			fields:       with(alertFields(), map[string]any{"evt.type": "connect", "fd.name": "<NA>", "fd.type": "ipv4"}),
			wantResource: wantResource(),
			wantRecord:   with(wantRecord(), map[string]any{"evt.type": "connect", "fd.type": "ipv4"}),
		},
		{
			name: "second source of a file-only target of a non-file event stays",
			cfg:  Config{Mappings: []Mapping{{From: "fs.path.name", To: "file.path"}}},
			fields: with(alertFields(), map[string]any{
				"evt.type": "connect", "fd.name": "<NA>", "fs.path.name": "/tmp/x", "fd.type": "ipv4",
			}),
			wantResource: wantResource(),
			wantRecord: with(wantRecord(), map[string]any{
				"evt.type": "connect", "fd.type": "ipv4", "fs.path.name": "/tmp/x",
			}),
		},
		{
			name: "second source of a file-only target of a file event is mapped",
			cfg:  Config{Mappings: []Mapping{{From: "fs.path.name", To: "file.path"}}},
			fields: with(alertFields(), map[string]any{
				"evt.type": "openat", "fd.name": "<NA>", "fs.path.name": "/tmp/x", "fd.type": "file",
			}),
			wantResource: wantResource(),
			wantRecord: with(wantRecord(), map[string]any{
				"evt.type": "openat", "fd.type": "file", "file.path": "/tmp/x",
			}),
		},
		{
			name:         "keep_original",
			cfg:          Config{KeepOriginal: true},
			fields:       alertFields(),
			wantResource: wantResource(),
			wantRecord: func() map[string]any {
				want := wantRecord()
				for k, v := range alertFields() {
					want[k] = v
				}
				return want
			}(),
		},
		{
			name:         "existing resource values are never clobbered",
			resource:     map[string]any{"k8s.pod.name": "set-upstream", "k8s.namespace.name": "<NA>"},
			fields:       alertFields(),
			wantResource: with(wantResource(), map[string]any{"k8s.pod.name": "set-upstream"}),
			wantRecord:   wantRecord(),
		},
		{
			name:         "node name from config",
			cfg:          Config{K8sNodeName: "worker-3"},
			fields:       alertFields(),
			wantResource: with(wantResource(), map[string]any{"k8s.node.name": "worker-3"}),
			wantRecord:   wantRecord(),
		},
		{
			name:         "node name never clobbers",
			cfg:          Config{K8sNodeName: "worker-3"},
			resource:     map[string]any{"k8s.node.name": "from-upstream"},
			fields:       alertFields(),
			wantResource: with(wantResource(), map[string]any{"k8s.node.name": "from-upstream"}),
			wantRecord:   wantRecord(),
		},
		{
			name: "user mappings add, override and disable",
			cfg: Config{Mappings: []Mapping{
				{From: "proc.sid", To: "process.session_leader.pid", Type: ConversionInt},
				{From: "container.name", To: "k8s.container.name"},
				{From: "k8s.pod.uid", To: ""},
				{From: "k8smeta.pod.uid", To: ""},
				{From: "proc.pname", To: "process.parent.name"},
			}},
			fields: with(alertFields(), map[string]any{"proc.sid": "77"}),
			wantResource: with(wantResource(), map[string]any{
				"container.name": nil, "k8s.container.name": "nginx", "k8s.pod.uid": nil,
			}),
			wantRecord: with(wantRecord(), map[string]any{
				"process.session_leader.pid": int64(77),
				"process.parent.name":        "runc",
				"proc.pname":                 nil,
				"k8s.pod.uid":                "f1c6a2f0-3f8e-4c8e-9d0e-2b7f5c0c9a11",
				"k8smeta.pod.uid":            "f1c6a2f0-3f8e-4c8e-9d0e-2b7f5c0c9a11",
			}),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ld := newAlertLogs(t, "node-1", tt.fields)
			putSorted(t, ld.ResourceLogs().At(0).Resource().Attributes(), tt.resource)
			out := processLogs(t, &tt.cfg, ld)

			require.Equal(t, 1, out.ResourceLogs().Len())
			rl := out.ResourceLogs().At(0)
			assert.Equal(t, tt.wantResource, rl.Resource().Attributes().AsRaw())
			require.Equal(t, 1, rl.ScopeLogs().Len())
			assert.Equal(t, receiverScope, rl.ScopeLogs().At(0).Scope().Name())
			require.Equal(t, 1, rl.ScopeLogs().At(0).LogRecords().Len())
			lr := rl.ScopeLogs().At(0).LogRecords().At(0)
			assert.Equal(t, tt.wantRecord, lr.Attributes().AsRaw())
			assert.Equal(t, "falco.alert", lr.EventName())
			assert.Equal(t, "Terminal shell in container", lr.Body().Str())
		})
	}
}
