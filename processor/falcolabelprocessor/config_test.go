// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package falcolabelprocessor

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/otelcol-falco/otelcol-falco/processor/falcolabelprocessor/internal/metadata"
)

func TestLoadConfig(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)

	tests := []struct {
		id      component.ID
		want    *Config
		wantErr string
	}{
		{
			id:   component.NewID(metadata.Type),
			want: &Config{},
		},
		{
			id:   component.NewIDWithName(metadata.Type, "daemonset"),
			want: &Config{K8sNodeName: "worker-3"},
		},
		{
			id:   component.NewIDWithName(metadata.Type, "keep_original"),
			want: &Config{KeepOriginal: true},
		},
		{
			id: component.NewIDWithName(metadata.Type, "custom"),
			want: &Config{Mappings: []Mapping{
				{From: "proc.sid", To: "process.session_leader.pid", Type: ConversionInt},
				{From: "container.name", To: "k8s.container.name"},
				{From: "k8s.pod.id", To: ""},
			}},
		},
		{
			id:      component.NewIDWithName(metadata.Type, "empty_from"),
			wantErr: "mappings[0]: from must not be empty",
		},
		{
			id:      component.NewIDWithName(metadata.Type, "unknown_type"),
			wantErr: `mappings[0]: unknown type "integer"`,
		},
		{
			id:      component.NewIDWithName(metadata.Type, "duplicate"),
			wantErr: `mappings[1]: from "proc.sid" is already mapped by mappings[0]`,
		},
		{
			id:      component.NewIDWithName(metadata.Type, "no_value_target"),
			wantErr: `mappings[0]: to "<NA>" is a Falco no-value marker`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.id.String(), func(t *testing.T) {
			cfg := NewFactory().CreateDefaultConfig()
			sub, err := cm.Sub(tt.id.String())
			require.NoError(t, err)
			require.NoError(t, sub.Unmarshal(cfg))

			err = confmap.Validate(cfg)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, cfg)
		})
	}
}

func TestValidateDisabledMappingWithType(t *testing.T) {
	cfg := &Config{Mappings: []Mapping{{From: "proc.pid", Type: ConversionInt}}}
	assert.ErrorContains(t, cfg.Validate(), "type \"int\" given for a disabled mapping")
}

func TestMergeMappings(t *testing.T) {
	builtin := []Mapping{
		{From: "a", To: "x"},
		{From: "b", To: "x"},
		{From: "c", To: "y"},
	}
	got := mergeMappings(builtin, []Mapping{
		{From: "b", To: "z", Type: ConversionInt}, // override keeps the position
		{From: "c", To: ""},                       // disable
		{From: "d", To: "x"},                      // add, after the built-in entries
	})
	assert.Equal(t, []Mapping{
		{From: "a", To: "x"},
		{From: "b", To: "z", Type: ConversionInt},
		{From: "d", To: "x"},
	}, got)
	assert.Len(t, builtin, 3, "the built-in table is not modified")
	assert.Equal(t, Mapping{From: "c", To: "y"}, builtin[2])
}

func TestDefaultTableIsConsistent(t *testing.T) {
	seen := map[string]bool{}
	for _, m := range defaultMappings {
		assert.False(t, seen[m.From], "duplicate %s", m.From)
		seen[m.From] = true
		assert.True(t, m.Type.valid(), m.From)
		assert.NotEmpty(t, m.To, m.From)
	}
	tbl := compileTable(defaultMappings)
	for _, m := range defaultMappings {
		entry, ok := tbl.index.find(m.From)
		require.True(t, ok, m.From)
		assert.Equal(t, m.From, tbl.sources[entry.source].key)
	}
	for _, missing := range []string{"", "falco.rule", "proc.aname[2]", "k8s.ns", "container.id2", "x"} {
		_, ok := tbl.index.find(missing)
		assert.False(t, ok, missing)
	}
}
