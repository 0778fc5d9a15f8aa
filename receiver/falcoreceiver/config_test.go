// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package falcoreceiver

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/otelcol-falco/otelcol-falco/receiver/falcoreceiver/internal/metadata"
)

func loadConfig(t *testing.T, name string) *Config {
	t.Helper()
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	cfg := createDefaultConfig().(*Config)
	sub, err := cm.Sub(component.NewIDWithName(metadata.Type, name).String())
	require.NoError(t, err)
	require.NoError(t, sub.Unmarshal(cfg))
	return cfg
}

func TestLoadConfig(t *testing.T) {
	t.Run("grpc defaults", func(t *testing.T) {
		cfg := loadConfig(t, "grpc_defaults")
		require.NoError(t, confmap.Validate(cfg))
		require.True(t, cfg.GRPC.HasValue())
		assert.False(t, cfg.HTTP.HasValue())
		g := cfg.GRPC.Get()
		assert.Equal(t, "unix:///run/falco/falco.sock", g.ClientConfig.Endpoint)
		assert.True(t, g.ClientConfig.TLS.Insecure)
		assert.Equal(t, 50*time.Millisecond, g.PollInterval)
		assert.Equal(t, 10*time.Second, cfg.Metrics.CollectionInterval)
		assert.Equal(t, 2000, cfg.Metrics.MaxSeries)
		assert.Equal(t, defaultMetricAttributes, cfg.Metrics.Attributes)
	})
	t.Run("tcp with mTLS", func(t *testing.T) {
		cfg := loadConfig(t, "grpc_tcp_mtls")
		require.NoError(t, confmap.Validate(cfg))
		g := cfg.GRPC.Get()
		assert.Equal(t, "falco.falco.svc:5060", g.ClientConfig.Endpoint)
		assert.False(t, g.ClientConfig.TLS.Insecure)
		assert.Equal(t, "/etc/falco/certs/ca.crt", g.ClientConfig.TLS.CAFile)
		assert.Equal(t, 50*time.Millisecond, g.PollInterval)
		assert.Equal(t, 5*time.Second, g.Backoff.MaxInterval)
		assert.Equal(t, []string{"falco.rule", "falco.priority", "k8s.ns.name"}, cfg.Metrics.Attributes)
		assert.Equal(t, 500, cfg.Metrics.MaxSeries)
		assert.Equal(t, 30*time.Second, cfg.Metrics.CollectionInterval)
		assert.Equal(t, 2*time.Second, cfg.Metrics.InitialDelay)
		assert.Equal(t, 20*time.Second, cfg.Metrics.Timeout)
	})
	t.Run("both transports", func(t *testing.T) {
		cfg := loadConfig(t, "both")
		require.NoError(t, confmap.Validate(cfg))
		assert.True(t, cfg.GRPC.HasValue())
		require.True(t, cfg.HTTP.HasValue())
		assert.Equal(t, "127.0.0.1:2801", cfg.HTTP.Get().ServerConfig.NetAddr.Endpoint)
		assert.False(t, cfg.FalcoMetrics.HasValue(), "Falco's /metrics is scraped only when asked")
	})
	t.Run("falco metrics", func(t *testing.T) {
		cfg := loadConfig(t, "falco_metrics")
		require.NoError(t, confmap.Validate(cfg))
		require.True(t, cfg.FalcoMetrics.HasValue())
		f := cfg.FalcoMetrics.Get()
		assert.Equal(t, "http://127.0.0.1:8765/metrics", f.ClientConfig.Endpoint)
		assert.Equal(t, 15*time.Second, f.CollectionInterval)
		assert.Equal(t, 2*time.Second, f.ClientConfig.Timeout)
		assert.Equal(t, 2*time.Second, f.Timeout, "one timeout key limits the request and the scrape")
		assert.Equal(t, 3*time.Second, f.InitialDelay)
	})
	t.Run("falco metrics defaults", func(t *testing.T) {
		cfg := loadConfig(t, "falco_metrics_defaults")
		require.NoError(t, confmap.Validate(cfg))
		f := cfg.FalcoMetrics.Get()
		assert.Equal(t, "http://localhost:8765/metrics", f.ClientConfig.Endpoint)
		assert.Equal(t, 10*time.Second, f.CollectionInterval)
		assert.Equal(t, 5*time.Second, f.ClientConfig.Timeout)
		assert.Equal(t, 5*time.Second, f.Timeout)
		assert.Equal(t, time.Second, f.InitialDelay)
	})
}

func TestLoadSpoolConfig(t *testing.T) {
	cfg := loadConfig(t, "spool")
	require.NoError(t, confmap.Validate(cfg))
	require.NotNil(t, cfg.Spool.Storage)
	assert.Equal(t, "pebble_storage", cfg.Spool.Storage.String())
	assert.Equal(t, SpoolConfig{Storage: cfg.Spool.Storage, MaxBytes: 256 << 20, BatchSize: 500, FlushTimeout: 100 * time.Millisecond}, cfg.Spool)
	assert.Nil(t, loadConfig(t, "http_defaults").Spool.Storage, "no spool unless a storage is named")
}

func TestValidateRejects(t *testing.T) {
	tests := []struct {
		name    string
		wantErr string
	}{
		{name: "", wantErr: "no transport configured"},
		{name: "bad_endpoint", wantErr: "not an HTTP URL"},
		{name: "relative_socket", wantErr: "absolute path"},
		{name: "bad_metrics", wantErr: `metrics: "collection_interval": requires positive value`},
		{name: "bad_metrics", wantErr: "max_series must be at least 1"},
		{name: "bad_metrics", wantErr: `"falco.rule" listed twice`},
		{name: "bad_metrics", wantErr: "max_label_length must be 0 (default 256) or at least 16, got 3"},
		{name: "bad_falco_metrics", wantErr: "want an http(s) URL"},
		{name: "bad_spool", wantErr: "spool.max_bytes must be at least 1048576"},
		{name: "bad_spool", wantErr: "spool.batch_size must be at least 1"},
		{name: "bad_falco_metrics", wantErr: `falco_metrics: "collection_interval": requires positive value`},
	}
	for _, tt := range tests {
		t.Run(tt.name+"/"+tt.wantErr, func(t *testing.T) {
			err := confmap.Validate(loadConfig(t, tt.name))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.wantErr)
		})
	}
}

func TestValidateGRPCEndpoint(t *testing.T) {
	tests := []struct {
		endpoint string
		wantErr  string
	}{
		{"unix:///run/falco/falco.sock", ""},
		{"127.0.0.1:5060", ""},
		{"falco.falco.svc:5060", ""},
		{"dns:///falco.falco.svc:5060", ""},
		{"", "empty"},
		{"unix://", "absolute path"},
		{"unix:/run/falco.sock", "unix:///absolute/path"},
		{"https://falco:5060", "not an HTTP URL"},
		{"falco.falco.svc", "missing port"},
	}
	for _, tt := range tests {
		t.Run(tt.endpoint, func(t *testing.T) {
			err := validateGRPCEndpoint(tt.endpoint)
			if tt.wantErr == "" {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.wantErr)
		})
	}
}
