// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package falcoreceiver

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Lines as Falco 0.44 writes them with json_output: false (its default), from the stable rules.
func TestDecodeTextOutput(t *testing.T) {
	cest := time.FixedZone("CEST", 2*3600)
	received := time.Date(2026, 7, 31, 14, 53, 21, 0, time.UTC)
	tests := []struct {
		name     string
		body     string
		received time.Time
		loc      *time.Location
		want     []textWant
	}{
		{
			name: "clock time in UTC (the usual container time zone)",
			body: "14:53:20.123456789: Notice A shell was spawned in a container with an attached terminal | evt_type=execve user=root user_uid=0 process=bash command=bash -il terminal=34816 container_id=3ad7b26ded6d container_name=nginx\n",
			want: []textWant{{time.Date(2026, 7, 31, 14, 53, 20, 123456789, time.UTC), priorityNotice,
				"14:53:20.123456789: Notice A shell was spawned in a container with an attached terminal | evt_type=execve user=root user_uid=0 process=bash command=bash -il terminal=34816 container_id=3ad7b26ded6d container_name=nginx"}},
		},
		{
			name: "clock time in Falco's local zone",
			body: "16:53:20.500000000: Warning Sensitive file opened for reading by non-trusted program | file=/etc/shadow",
			loc:  cest,
			want: []textWant{{time.Date(2026, 7, 31, 14, 53, 20, 500000000, time.UTC), priorityWarning, "16:53:20.500000000: Warning Sensitive file opened for reading by non-trusted program | file=/etc/shadow"}},
		},
		{
			name:     "written before midnight, received after",
			body:     "23:59:59.900000000: Error File below /etc opened for writing | file=/etc/passwd",
			received: time.Date(2026, 8, 1, 0, 0, 0, 100000000, time.UTC),
			want:     []textWant{{time.Date(2026, 7, 31, 23, 59, 59, 900000000, time.UTC), priorityError, "23:59:59.900000000: Error File below /etc opened for writing | file=/etc/passwd"}},
		},
		{
			name:     "Falco's clock a little ahead across midnight",
			body:     "00:00:00.100000000: Critical Detect release_agent File Container Escapes",
			received: time.Date(2026, 7, 31, 23, 59, 59, 900000000, time.UTC),
			want:     []textWant{{time.Date(2026, 8, 1, 0, 0, 0, 100000000, time.UTC), priorityCritical, "00:00:00.100000000: Critical Detect release_agent File Container Escapes"}},
		},
		{
			name: "time_format_iso_8601: true",
			body: "2026-07-31T14:53:20.123456789Z: Informational Packet socket was created in a container",
			want: []textWant{{time.Date(2026, 7, 31, 14, 53, 20, 123456789, time.UTC), priorityInformational, "2026-07-31T14:53:20.123456789Z: Informational Packet socket was created in a container"}},
		},
		{
			name: "ISO 8601 with a numeric offset",
			body: "2026-07-31T16:53:20.123456789+0200: Alert Drop and execute new binary in container",
			want: []textWant{{time.Date(2026, 7, 31, 14, 53, 20, 123456789, time.UTC), priorityAlert, "2026-07-31T16:53:20.123456789+0200: Alert Drop and execute new binary in container"}},
		},
		{
			name: "Falco internal message, CRLF and blank lines between two alerts",
			body: "14:53:20.000000000: Debug Falco internal: syscall event drop. 1357 system calls dropped in last second. (ebpf_enabled=1 n_drops=1357)\r\n\r\n14:53:20.5: Emergency x\r\n",
			want: []textWant{
				{time.Date(2026, 7, 31, 14, 53, 20, 0, time.UTC), priorityDebug, "14:53:20.000000000: Debug Falco internal: syscall event drop. 1357 system calls dropped in last second. (ebpf_enabled=1 n_drops=1357)"},
				{time.Date(2026, 7, 31, 14, 53, 20, 500000000, time.UTC), priorityEmergency, "14:53:20.5: Emergency x"},
			},
		},
		{
			name: "bytes that are not UTF-8 are replaced",
			body: "14:53:20.1: Notice file=/tmp/\xff\xfe",
			want: []textWant{{time.Date(2026, 7, 31, 14, 53, 20, 100000000, time.UTC), priorityNotice, "14:53:20.1: Notice file=/tmp/\uFFFD\uFFFD"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := httpDecoder{received: received, location: time.UTC}
			if !tt.received.IsZero() {
				d.received = tt.received
			}
			if tt.loc != nil {
				d.location = tt.loc
			}
			alerts, err := d.decode([]byte(tt.body))
			require.NoError(t, err)
			require.True(t, d.sawText)
			require.Len(t, alerts, len(tt.want))
			for i, w := range tt.want {
				a := alerts[i]
				assert.Equal(t, w.time, a.Time)
				assert.Equal(t, w.priority, a.Priority)
				assert.Equal(t, w.output, a.Output)
				assert.Equal(t, textOutputRule, a.Rule)
				assert.Empty(t, a.Fields)
				requireValidUTF8(t, a)
			}
		})
	}
}

type textWant struct {
	time     time.Time
	priority priority
	output   string
}

func TestDecodeLimitsAlertsPerBody(t *testing.T) {
	d := httpDecoder{maxAlerts: 2}
	_, err := d.decode(ndjson(minimalAlert, minimalAlert))
	require.NoError(t, err)
	for _, body := range [][]byte{
		ndjson(minimalAlert, minimalAlert, minimalAlert),
		[]byte("[" + minimalAlert + "," + minimalAlert + "," + minimalAlert + "]"),
		[]byte("10:11:12.1: Notice a\n10:11:12.2: Notice b\n10:11:12.3: Notice c\n"),
	} {
		alerts, err := d.decode(body)
		var tooMany *tooManyAlertsError
		require.ErrorAs(t, err, &tooMany)
		assert.Nil(t, alerts)
	}
}
