// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

//go:generate go tool mdatagen metadata.yaml

// Package falcoreceiver receives Falco security alerts, from Falco's gRPC output and from its
// http_output, and turns each into an OpenTelemetry log record and a count in the falco.events sum.
package falcoreceiver // import "github.com/otelcol-falco/otelcol-falco/receiver/falcoreceiver"
