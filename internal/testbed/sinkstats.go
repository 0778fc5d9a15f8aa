// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package testbed // import "github.com/otelcol-falco/otelcol-falco/internal/testbed"

// Requests is the number of export requests the sink was sent, refused ones (503) included.
func (s *Sink) Requests() int64 { return s.requests.Load() }
