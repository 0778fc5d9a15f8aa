// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package falcolabelprocessor // import "github.com/otelcol-falco/otelcol-falco/processor/falcolabelprocessor"

import (
	"errors"
	"fmt"

	"go.opentelemetry.io/collector/component"

	"github.com/otelcol-falco/otelcol-falco/internal/falcofields"
)

// Config is the falcolabel processor's configuration. It is pure data: the mapping table is
// compiled when a processor is created.
type Config struct {
	// Mappings add entries to the built-in mapping table or override entries with the same
	// `from`; an entry with an empty `to` disables the built-in entry for that Falco field.
	Mappings []Mapping `mapstructure:"mappings"`

	// KeepOriginal keeps the Falco-named attributes beside their semantic-convention copies.
	// By default they are removed once mapped.
	KeepOriginal bool `mapstructure:"keep_original"`

	// K8sNodeName is written as k8s.node.name on every resource that has none, typically
	// ${env:K8S_NODE_NAME} from the downward API in a DaemonSet.
	K8sNodeName string `mapstructure:"k8s_node_name"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// Mapping maps one Falco field to one semantic-convention attribute.
type Mapping struct {
	// From is the Falco field name as it appears in output_fields, e.g. proc.sid.
	From string `mapstructure:"from"`
	// To is the attribute key to write. Keys under k8s., container. and host. go to the
	// resource, all others stay on the record (or data point).
	To string `mapstructure:"to"`
	// Type converts the value: "" keeps Falco's type, or one of string, int, string_slice.
	Type Conversion `mapstructure:"type"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// Conversion names the type a mapped value is written as.
type Conversion string

const (
	ConversionNone        Conversion = ""
	ConversionString      Conversion = "string"
	ConversionInt         Conversion = "int"
	ConversionStringSlice Conversion = "string_slice"
)

func (c Conversion) valid() bool {
	switch c {
	case ConversionNone, ConversionString, ConversionInt, ConversionStringSlice:
		return true
	}
	return false
}

var _ component.Config = (*Config)(nil)

// Validate checks that every mapping names a Falco field, converts to a known type and that no
// Falco field is configured twice.
func (cfg *Config) Validate() error {
	var errs error
	seen := make(map[string]int, len(cfg.Mappings))
	for i, m := range cfg.Mappings {
		if m.From == "" {
			errs = errors.Join(errs, fmt.Errorf("mappings[%d]: from must not be empty", i))
			continue
		}
		if first, dup := seen[m.From]; dup {
			errs = errors.Join(errs, fmt.Errorf("mappings[%d]: from %q is already mapped by mappings[%d]", i, m.From, first))
		}
		seen[m.From] = i
		if falcofields.IsNoValue(m.To) && m.To != "" {
			errs = errors.Join(errs, fmt.Errorf("mappings[%d]: to %q is a Falco no-value marker, not an attribute key", i, m.To))
		}
		if !m.Type.valid() {
			errs = errors.Join(errs, fmt.Errorf("mappings[%d]: unknown type %q (want string, int or string_slice)", i, m.Type))
		}
		if m.To == "" && m.Type != ConversionNone {
			errs = errors.Join(errs, fmt.Errorf("mappings[%d]: type %q given for a disabled mapping (empty to)", i, m.Type))
		}
	}
	return errs
}
