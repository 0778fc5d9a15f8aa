// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package falcofields

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestTableNamesAreUnique(t *testing.T) {
	seen := map[string]bool{}
	for _, f := range Table {
		assert.False(t, seen[f.Name], "%s listed twice", f.Name)
		seen[f.Name] = true
		assert.Equal(t, f.Name, baseName(f.Name), "%s: table names carry no index", f.Name)
		if f.As != Keep {
			assert.NotEmpty(t, f.Semconv, "%s: a conversion without a target", f.Name)
		}
	}
}

func TestTypeOf(t *testing.T) {
	for key, want := range map[string]Type{
		"proc.pid": Int, "proc.apid[2]": Int, "fd.connected": Bool, "evt.failed": Bool,
		"proc.name": String, "proc.aname[2]": String, "ka.verb": String, "[": String, "": String,
	} {
		assert.Equal(t, want, TypeOf(key), key)
	}
}

func TestIsNoValue(t *testing.T) {
	for _, s := range []string{"", "<NA>", "null"} {
		assert.True(t, IsNoValue(s), "%q", s)
	}
	for _, s := range []string{"host", "<na>", "NULL ", "0", " "} {
		assert.False(t, IsNoValue(s), "%q", s)
	}
}

func TestSpellings(t *testing.T) {
	assert.Equal(t, []string{"k8s.pod.name", "k8smeta.pod.name"}, Spellings("k8s.pod.name"))
	assert.Equal(t, []string{"k8s.pod.name", "k8smeta.pod.name"}, Spellings("k8smeta.pod.name"))
	assert.Equal(t, []string{"k8s.ns.name", "k8smeta.ns.name"}, Spellings("k8smeta.ns.name"))
	assert.Equal(t, []string{"k8s.pod.uid", "k8s.pod.id", "k8smeta.pod.uid"}, Spellings("k8s.pod.id"))
	assert.Equal(t, []string{"container.full_id", "container.id"}, Spellings("container.id"))
	assert.Equal(t, []string{"container.name"}, Spellings("container.name"))
	assert.Equal(t, []string{"evt.type"}, Spellings("evt.type"))
	assert.Equal(t, []string{"fd.name"}, Spellings("fd.name"), "file.path depends on the event")
	assert.Equal(t, []string{"falco.rule"}, Spellings("falco.rule"))
}

func TestIsHostEvent(t *testing.T) {
	assert.True(t, IsHostEvent("host", "host"))
	assert.True(t, IsHostEvent("host", "<NA>"))
	assert.True(t, IsHostEvent("", "host"))
	assert.True(t, IsHostEvent("<NA>", "host"))
	assert.False(t, IsHostEvent("3ad7b26ded6d", "host"), "a container named host")
	assert.False(t, IsHostEvent("3ad7b26ded6d", "nginx"))
	assert.False(t, IsHostEvent("", ""))
}

func TestIsFileEvent(t *testing.T) {
	for _, tt := range []struct {
		fdType, fdTypechar, evtType string
		want                        bool
	}{
		{"file", "", "connect", true},
		{"directory", "", "", true},
		{"ipv4", "f", "openat", false}, // fd.type decides first
		{"<NA>", "f", "", true},
		{"", "4", "openat", false},
		{"", "", "openat", true},
		{"null", "<NA>", "renameat2", true},
		{"", "", "connect", false},
		{"", "", "execve", false},
	} {
		assert.Equal(t, tt.want, IsFileEvent(tt.fdType, tt.fdTypechar, tt.evtType), "%+v", tt)
	}
}

// TestParseMitre covers every form in Falco's rule files (falco_rules.yaml,
// falco-incubating_rules.yaml, falco-sandbox_rules.yaml) and the name-suffixed ids of other rule sets.
func TestParseMitre(t *testing.T) {
	for _, tt := range []struct {
		tag   string
		kind  MitreKind
		value string
	}{
		{"mitre_persistence", MitreTactic, "persistence"},
		{"mitre_command_and_control", MitreTactic, "command_and_control"},
		{"TA0003", MitreTactic, "persistence"},
		{"TA0011", MitreTactic, "command_and_control"},
		{"TA0043", MitreTactic, "reconnaissance"},
		{"TA0099", MitreTactic, "TA0099"},
		{"T1059", MitreTechnique, "T1059"},
		{"T1059.004", MitreTechnique, "T1059.004"},
		{"T1562-impair-defenses", MitreTechnique, "T1562"},
		{"T1562.001-disable-or-modify-tools", MitreTechnique, "T1562.001"},
		{"mitre_", NotMitre, ""},
		{"TA003", NotMitre, ""},
		{"TA00034", NotMitre, ""},
		{"T105", NotMitre, ""},
		{"T10599", NotMitre, ""},
		{"T1059.", NotMitre, ""},
		{"T1059.04", NotMitre, ""},
		{"T1059-", NotMitre, ""},
		{"T1059x", NotMitre, ""},
		{"PCI_DSS_11.5.1", NotMitre, ""},
		{"NIST_800-53_AC-2", NotMitre, ""},
		{"maturity_stable", NotMitre, ""},
		{"container", NotMitre, ""},
		{"", NotMitre, ""},
	} {
		kind, value := ParseMitre(tt.tag)
		assert.Equal(t, tt.kind, kind, tt.tag)
		assert.Equal(t, tt.value, value, tt.tag)
	}
}
