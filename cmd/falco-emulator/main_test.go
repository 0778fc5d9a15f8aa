package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/falcosecurity/client-go/pkg/api/outputs"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// The test binary doubles as the command when FALCO_EMULATOR_MAIN is set.
func TestMain(m *testing.M) {
	if os.Getenv("FALCO_EMULATOR_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

func readSummary(t *testing.T, path string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// subscribe reads a sub stream, sending a Request every few ms, counting alerts.
func subscribe(ctx context.Context, addr string, got *atomic.Int64) {
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return
	}
	defer cc.Close()
	for ctx.Err() == nil {
		stream, err := outputs.NewServiceClient(cc).Sub(ctx, grpc.WaitForReady(true))
		if err != nil {
			time.Sleep(10 * time.Millisecond)
			continue
		}
		go func() {
			for stream.Send(&outputs.Request{}) == nil {
				select {
				case <-ctx.Done():
					return
				case <-time.After(5 * time.Millisecond):
				}
			}
		}()
		for {
			if _, err := stream.Recv(); err != nil {
				break
			}
			got.Add(1)
		}
	}
}

func TestGRPCCount(t *testing.T) {
	dir := t.TempDir()
	sock := "unix://" + filepath.Join(dir, "falco.sock")
	sum := filepath.Join(dir, "sum.json")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var got atomic.Int64
	go subscribe(ctx, sock, &got)
	var stderr bytes.Buffer
	code := run([]string{"-grpc", sock, "-count", "20000", "-pods", "15", "-priorities", "all",
		"-progress", "50ms", "-summary", sum, "-metrics-addr", "127.0.0.1:0"}, io.Discard, &stderr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	m := readSummary(t, sum)
	if m["total"].(float64) != 20000 || m["generated"].(float64) != 20000 || m["mode"] != "grpc+metrics" {
		t.Fatalf("summary %v", m)
	}
	deadline := time.Now().Add(5 * time.Second)
	for got.Load() < 20000 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if got.Load() != 20000 {
		t.Fatalf("client got %d", got.Load())
	}
	prios := m["by_priority"].(map[string]any)
	if len(prios) != 8 || prios["emergency"].(float64) != 2500 {
		t.Fatalf("priorities %v", prios)
	}
	if !strings.Contains(stderr.String(), "done: generated=20000 delivered=20000") {
		t.Fatalf("stderr %s", stderr.String())
	}
}

func TestHTTPCount(t *testing.T) {
	var alerts atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		alerts.Add(int64(bytes.Count(b, []byte("\n"))))
		if r.Header.Get("Authorization") != "Bearer tok" {
			w.WriteHeader(401)
		}
	}))
	defer srv.Close()
	sum := filepath.Join(t.TempDir(), "sum.json")
	code := run([]string{"-http-url", srv.URL, "-http-mode", "ndjson", "-batch", "50", "-connections", "2",
		"-token", "tok", "-count", "1000", "-pods", "0", "-progress", "0", "-summary", sum}, io.Discard, io.Discard)
	if code != 0 {
		t.Fatal("exit", code)
	}
	m := readSummary(t, sum)
	if m["total"].(float64) != 1000 || alerts.Load() != 1000 {
		t.Fatalf("summary total %v, server got %d", m["total"], alerts.Load())
	}
	h := m["http"].(map[string]any)
	if h["requests"].(float64) != 20 || h["acked"].(float64) != 1000 {
		t.Fatalf("http %v", h)
	}
	if pods := m["by_pod"].([]any); len(pods) != 1 { // host only
		t.Fatalf("pods %v", pods)
	}
}

func TestFlags(t *testing.T) {
	if code := run([]string{}, io.Discard, io.Discard); code != 2 {
		t.Fatal("no output should be a usage error")
	}
	if code := run([]string{"-grpc", "/tmp/x.sock", "-priorities", "loud"}, io.Discard, io.Discard); code != 2 {
		t.Fatal("bad priority")
	}
	if code := run([]string{"-grpc", "/tmp/x.sock", "-rules", "No such rule"}, io.Discard, io.Discard); code != 2 {
		t.Fatal("bad rule")
	}
	var out bytes.Buffer
	if code := run([]string{"-list-rules"}, &out, io.Discard); code != 0 || !strings.Contains(out.String(), "Terminal shell in container") {
		t.Fatal("list-rules")
	}
	var l lingerFlag
	if l.Set("30s") != nil || !l.on || l.dur != 30*time.Second || l.Set("true") != nil || !l.on || l.dur != 0 || l.Set("x") == nil {
		t.Fatal("linger flag")
	}
}

// SIGTERM while lingering: a clean exit with the summary written.
func TestSIGTERM(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "falco.sock")
	sum := filepath.Join(dir, "sum.json")
	cmd := exec.Command(os.Args[0], "-grpc", "unix://"+sock, "-count", "0", "-rate", "1000",
		"-metrics-addr", "127.0.0.1:0", "-summary", sum, "-progress", "0")
	cmd.Env = append(os.Environ(), "FALCO_EMULATOR_MAIN=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var got atomic.Int64
	go subscribe(ctx, "unix://"+sock, &got)
	deadline := time.Now().Add(10 * time.Second)
	for got.Load() < 100 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit: %v\n%s", err, stderr.String())
		}
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		t.Fatal("no exit after SIGTERM")
	}
	m := readSummary(t, sum)
	if m["interrupted"] != true || m["total"].(float64) < 100 {
		t.Fatalf("summary %v", m)
	}
	time.Sleep(50 * time.Millisecond)
	if int64(m["total"].(float64)) != got.Load() {
		t.Fatalf("summary says %v handed out, client got %d", m["total"], got.Load())
	}
	if _, err := os.Stat(sock); !os.IsNotExist(err) {
		t.Fatalf("socket left behind: %v", err)
	}
}
