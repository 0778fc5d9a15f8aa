// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-falco/otelcol-falco/internal/falcoemu"
)

// tinyQueueVolume gives the agent's queue a 3 MiB volume: a real tmpfs when the test runs as
// root (as in CI), else a directory capped by the storage's max_disk_usage. The reserve and the
// write buffers are scaled down to the volume, as an operator would for such a disk.
func tinyQueueVolume(t *testing.T) (dir string, env map[string]string) {
	t.Helper()
	env = map[string]string{"QUEUE_MEMTABLE_SIZE": "262144"}
	dir = filepath.Join(t.TempDir(), "queue")
	require.NoError(t, os.Mkdir(dir, 0o750))
	mounted := false
	if os.Geteuid() == 0 {
		out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", dir).CombinedOutput()
		if err == nil {
			mounted = true
			t.Cleanup(func() {
				if out, err := exec.Command("umount", "-l", dir).CombinedOutput(); err != nil {
					t.Errorf("umount %s: %v: %s", dir, err, out)
				}
			})
		} else {
			t.Logf("no tmpfs (%v: %s): capping the queue directory instead", err, out)
		}
	}
	if mounted {
		env["QUEUE_FREE_SPACE_RESERVE"] = "1048576"
		env["QUEUE_MAX_DISK_USAGE"] = "0"
	} else {
		env["QUEUE_MAX_DISK_USAGE"] = "3145728"
	}
	env["FILE_STORAGE_DIR"] = dir
	t.Logf("agent queue on a 3 MiB volume (tmpfs: %v)", mounted)
	return dir, env
}

// TestAgentQueueOnTinyVolume is issue 12's full-disk row: the gateway is down and the agent's
// queue sits on a 3 MiB volume while Falco posts alerts one per request. Some are answered 200
// until the volume is near full, the rest 503 with Retry-After; once the gateway is back, every
// alert answered 200 is delivered.
func TestAgentQueueOnTinyVolume(t *testing.T) {
	const offered = 3000
	_, env := tinyQueueVolume(t)
	r := startSIEMRig(t, siemOptions{gatewayDown: true, agentEnv: env})
	g, book := newBookedGenerator(t, 21)
	sender := newSender(t, falcoemu.HTTPSenderConfig{URL: r.httpURL, MaxRetries: -1})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	acked := 0
	for range offered {
		a := g.Next()
		before := sender.Stats().Acked
		sender.Send(ctx, []falcoemu.Alert{a})
		if sender.Stats().Acked > before {
			book.add(a)
			acked++
		}
	}
	st := sender.Stats()
	refused := offered - acked
	t.Logf("FIGURE %d single-alert POSTs with the gateway down and the queue on 3 MiB: %d answered 200, %d refused (%v)", offered, acked, refused, st.Status)
	require.Positive(t, acked, "the volume takes some alerts")
	require.Positive(t, refused, "the volume fills up")
	assert.EqualValues(t, refused, st.Status["503"], "every refusal is a 503")

	// One more, by hand, to see the Retry-After of a refusal.
	a := g.Next()
	body, err := json.Marshal(a)
	require.NoError(t, err)
	resp, err := http.Post(r.httpURL, "application/json", bytes.NewReader(body))
	require.NoError(t, err)
	resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		book.add(a)
		acked++
	} else {
		assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
		assert.NotEmpty(t, resp.Header.Get("Retry-After"), "a refusal says when to come back")
	}

	require.False(t, r.agent.Exited(), "the agent survived the full volume:\n%s", r.agent.Output())
	r.startGateway(t)
	d := waitDelivered(t, book, r.sink.Records, r.sink.Count, 60*time.Second)
	requireNoLoss(t, d, acked)
	t.Logf("FIGURE after the gateway returned: %d of %d acknowledged alerts delivered, %d duplicates, %d unacknowledged delivered", d.matched, acked, d.duplicates, d.unknown)
}
