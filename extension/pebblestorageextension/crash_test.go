// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package pebblestorageextension

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension/xextension/storage"
)

// crashWriterEnv makes TestCrashWriterProcess a writer that acknowledges each committed item on
// stdout until it is killed (TestSIGKILLLosesNoAcknowledgedWrite runs it in a child process).
const crashWriterEnv = "PEBBLE_STORAGE_CRASH_WRITER_DIR"

func TestCrashWriterProcess(t *testing.T) {
	dir := os.Getenv(crashWriterEnv)
	if dir == "" {
		t.Skip("the child process of TestSIGKILLLosesNoAcknowledgedWrite")
	}
	os.Exit(runCrashWriter(dir))
}

// runCrashWriter writes items the way the persistent queue enqueues them (metadata and item in
// one batch) and prints each index once its batch returned.
func runCrashWriter(dir string) int {
	ctx := context.Background()
	s := newStorage(zapNop(), testConfig(dir), nil, storageID)
	if err := s.Start(ctx, nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	c, err := s.GetClient(ctx, component.KindExporter, exporterID, "logs")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	out := bufio.NewWriter(os.Stdout)
	for i := 0; ; i++ {
		err := c.Batch(ctx,
			storage.SetOperation("qmv0", []byte(strconv.Itoa(i+1))),
			storage.SetOperation(strconv.Itoa(i), crashItem(i)))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Fprintln(out, i)
		_ = out.Flush()
	}
}

func crashItem(i int) []byte {
	return []byte(strings.Repeat(fmt.Sprintf("alert %d;", i), 60))
}

func TestSIGKILLLosesNoAcknowledgedWrite(t *testing.T) {
	dir := t.TempDir()
	const acknowledgedBeforeKill = 3000

	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashWriterProcess$")
	cmd.Env = append(os.Environ(), crashWriterEnv+"="+dir)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = os.Stderr
	require.NoError(t, cmd.Start())

	lines := bufio.NewScanner(stdout)
	last := -1
	for lines.Scan() {
		last, err = strconv.Atoi(lines.Text())
		require.NoError(t, err)
		if last+1 >= acknowledgedBeforeKill {
			break
		}
	}
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	// Items acknowledged while the kill was on its way count too.
	for lines.Scan() {
		if n, err := strconv.Atoi(lines.Text()); err == nil {
			last = n
		}
	}
	_ = cmd.Wait()
	require.GreaterOrEqual(t, last+1, acknowledgedBeforeKill, "the writer acknowledged items before the kill")

	s := startStorage(t, testConfig(dir), nil)
	c := openClient(t, s, "logs")
	ctx := context.Background()
	lost := 0
	for i := 0; i <= last; i++ {
		got, err := c.Get(ctx, strconv.Itoa(i))
		require.NoError(t, err)
		if string(got) != string(crashItem(i)) {
			lost++
		}
	}
	assert.Zero(t, lost, "acknowledged items missing after SIGKILL (of %d)", last+1)
	meta, err := c.Get(ctx, "qmv0")
	require.NoError(t, err)
	written, err := strconv.Atoi(string(meta))
	require.NoError(t, err)
	assert.GreaterOrEqual(t, written, last+1, "the metadata of every acknowledged batch survived")
}
