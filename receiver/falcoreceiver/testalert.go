// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package falcoreceiver // import "github.com/otelcol-falco/otelcol-falco/receiver/falcoreceiver"

import (
	"os"
	"time"
)

// Test alerts (POST /test, as falcosidekick's): one alert shaped like falcosidekick's own test
// alert, so a SIEM query for it finds either.
const (
	testAlertRule   = "Test rule"
	testAlertSource = "debug"
)

func newTestAlert(now time.Time) *alert {
	host, _ := os.Hostname()
	return &alert{
		Time:     now.UTC(),
		Priority: priorityDebug,
		Rule:     testAlertRule,
		Output:   now.UTC().Format("15:04:05.000000000") + ": Debug This is a test from otelcol-falco",
		Source:   testAlertSource,
		Hostname: host,
		Tags:     []string{"example", "test"},
		Fields: []field{
			{Key: "proc.name", Value: stringValue("otelcol-falco")},
			{Key: "user.name", Value: stringValue("otelcol-falco")},
		},
	}
}
