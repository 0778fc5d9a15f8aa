// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package falcoreceiver

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumertest"
)

// Run: go test -run '^$' -bench 'HTTP|DecodeHTTP' -benchmem ./receiver/falcoreceiver
//
// The network benchmarks post from a separate client process (this test binary re-executed, see
// TestLeanPosterProcess) over one keep-alive connection, as Falco does, so server-cpu-ns/op is the
// CPU (user+system) the server process spent per request. Compare BenchmarkHTTPSingleAlert with
// BenchmarkHTTPFloor, a bare net/http handler that reads the body and answers 200.

// benchAlerts are real Falco shapes of different sizes: a container alert, a k8s audit alert,
// a host alert.
var benchAlerts = []string{
	terminalShellJSON,
	`{"hostname":"falco-k8saudit-0","output":"10:11:12.000000000: Warning Pod started with privileged container (user=jane.doe@example.com pod=web ns=payments images=[\"nginx:1.27\"])","output_fields":{"evt.time":1746353472000000000,"ka.req.pod.containers.image":["nginx:1.27"],"ka.resp.name":"web","ka.response.code":"201","ka.target.namespace":"payments","ka.user.name":"jane.doe@example.com"},"priority":"Warning","rule":"Create Privileged Pod","source":"k8s_audit","tags":["T1610","k8s","maturity_stable"],"time":"2025-05-04T10:11:12.000000000Z"}`,
	`{"hostname":"node-3","output":"10:11:13.000000042: Warning Sensitive file opened for reading by non-trusted program | file=/etc/shadow gparent=sshd ggparent=systemd gggparent=<NA> evt_type=openat user=root user_uid=0 user_loginuid=1000 process=cat proc_exepath=/usr/bin/cat parent=bash command=cat /etc/shadow terminal=34817","output_fields":{"evt.time":1746353473000000042,"evt.type":"openat","fd.name":"/etc/shadow","proc.aname[2]":"sshd","proc.aname[3]":"systemd","proc.aname[4]":null,"proc.cmdline":"cat /etc/shadow","proc.exepath":"/usr/bin/cat","proc.name":"cat","proc.pname":"bash","proc.tty":34817,"user.loginuid":1000,"user.name":"root","user.uid":0},"priority":"Warning","rule":"Read sensitive file untrusted","source":"syscall","tags":["T1555","container","filesystem","host","maturity_stable","mitre_credential_access"],"time":"2025-05-04T10:11:13.000000042Z"}`,
}

func ndjsonBatch(n int) []byte {
	var b bytes.Buffer
	for i := range n {
		b.WriteString(benchAlerts[i%len(benchAlerts)])
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// processCPU is the CPU time this process has used so far (its children not included).
func processCPU(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	require.NoError(tb, syscall.Getrusage(syscall.RUSAGE_SELF, &ru))
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// Environment of the client process.
const (
	envPosterAddr   = "FALCORECEIVER_BENCH_ADDR"
	envPosterPath   = "FALCORECEIVER_BENCH_PATH"
	envPosterHeader = "FALCORECEIVER_BENCH_HEADER"
	envPosterBody   = "FALCORECEIVER_BENCH_BODY"
	envPosterCount  = "FALCORECEIVER_BENCH_COUNT"
)

// TestLeanPosterProcess is the benchmarks' client when re-executed with envPosterAddr set; it
// does nothing in a normal test run.
func TestLeanPosterProcess(t *testing.T) {
	addr := os.Getenv(envPosterAddr)
	if addr == "" {
		t.Skip("client process of the HTTP benchmarks")
	}
	body, err := os.ReadFile(os.Getenv(envPosterBody))
	require.NoError(t, err)
	count, err := strconv.Atoi(os.Getenv(envPosterCount))
	require.NoError(t, err)
	p := newLeanPoster(t, addr, os.Getenv(envPosterPath), os.Getenv(envPosterHeader))
	for range count {
		status, err := p.post(body)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, status)
	}
}

// leanPoster is an HTTP/1.1 client on one keep-alive connection that costs little CPU, as
// libcurl in Falco does.
type leanPoster struct {
	conn net.Conn
	r    *bufio.Reader
	req  []byte
}

func newLeanPoster(tb testing.TB, addr, path, header string) *leanPoster {
	conn, err := net.Dial("tcp", addr)
	require.NoError(tb, err)
	tb.Cleanup(func() { conn.Close() })
	p := &leanPoster{conn: conn, r: bufio.NewReaderSize(conn, 4096)}
	p.req = fmt.Appendf(nil, "POST %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: falcosecurity/falco\r\nAccept: */*\r\nContent-Type: application/json\r\n%s", path, addr, header)
	return p
}

// post sends body and returns the status code, reading the answer's body to the end.
func (p *leanPoster) post(body []byte) (int, error) {
	req := strconv.AppendInt(append(p.req, "Content-Length: "...), int64(len(body)), 10)
	req = append(append(req, "\r\n\r\n"...), body...)
	if _, err := p.conn.Write(req); err != nil {
		return 0, err
	}
	status, length := 0, 0
	for {
		line, err := p.r.ReadSlice('\n')
		if err != nil {
			return 0, err
		}
		switch {
		case status == 0 && len(line) >= 12:
			status, _ = strconv.Atoi(string(line[9:12]))
		case bytes.HasPrefix(line, []byte("Content-Length: ")):
			length, _ = strconv.Atoi(strings.TrimSpace(string(line[16:])))
		case len(line) <= 2: // end of the header
			_, err := p.r.Discard(length)
			return status, err
		}
	}
}

// runPosts has a client process POST body b.N times to addr and reports the server's CPU.
func runPosts(b *testing.B, addr, path, header string, body []byte, alertsPerPost int) {
	bodyFile := filepath.Join(b.TempDir(), "body")
	require.NoError(b, os.WriteFile(bodyFile, body, 0o600))
	cmd := exec.Command(os.Args[0], "-test.run=^TestLeanPosterProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), envPosterAddr+"="+addr, envPosterPath+"="+path, envPosterHeader+"="+header,
		envPosterBody+"="+bodyFile, envPosterCount+"="+strconv.Itoa(b.N))
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	b.ResetTimer()
	cpu0, wall0 := processCPU(b), time.Now()
	out, err := cmd.CombinedOutput()
	cpu, wall := processCPU(b)-cpu0, time.Since(wall0)
	b.StopTimer()
	require.NoError(b, err, "client: %s", out)
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "server-cpu-ns/op")
	b.ReportMetric(float64(b.N*alertsPerPost)/wall.Seconds(), "alerts/s")
}

// BenchmarkHTTPFloor is the least an HTTP server can do for Falco's POST: read it, answer 200.
func BenchmarkHTTPFloor(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	runPosts(b, srv.Listener.Addr().String(), "/", "", []byte(benchAlerts[0]), 1)
}

// BenchmarkHTTPSingleAlert is Falco's http_output against the receiver: one alert per POST over
// one keep-alive connection, through confighttp, decoding, conversion, counting and a logs
// consumer that accepts.
func BenchmarkHTTPSingleAlert(b *testing.B) {
	f := startHTTPReceiver(b, httpOptions{next: consumertest.NewNop()})
	runPosts(b, f.r.http.addr.String(), "/", "", []byte(benchAlerts[0]), 1)
}

// BenchmarkHTTPNDJSON is a batched sender: NDJSON bodies of several sizes.
func BenchmarkHTTPNDJSON(b *testing.B) {
	for _, n := range []int{100, 1000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			f := startHTTPReceiver(b, httpOptions{next: consumertest.NewNop()})
			runPosts(b, f.r.http.addr.String(), "/v1/falco", "", ndjsonBatch(n), n)
		})
	}
}

// BenchmarkHTTPGzipNDJSON is the same batch of 1000 compressed.
func BenchmarkHTTPGzipNDJSON(b *testing.B) {
	f := startHTTPReceiver(b, httpOptions{next: consumertest.NewNop()})
	runPosts(b, f.r.http.addr.String(), "/v1/falco", "Content-Encoding: gzip\r\n", gzipped(b, ndjsonBatch(1000)), 1000)
}

// BenchmarkHTTPHandler is the receiver's own work per single-alert request, without the network.
func BenchmarkHTTPHandler(b *testing.B) {
	t := newFuzzHandler(b)
	body := []byte(benchAlerts[0])
	req := httptest.NewRequest(http.MethodPost, "/", nil)
	b.ReportAllocs()
	for b.Loop() {
		req.Body = io.NopCloser(bytes.NewReader(body))
		req.ContentLength = int64(len(body))
		rec := httptest.NewRecorder()
		t.handleAlerts(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatal(rec.Code, rec.Body.String())
		}
	}
}

// BenchmarkDecodeHTTPBody is the JSON decoding alone, per alert.
func BenchmarkDecodeHTTPBody(b *testing.B) {
	for i, body := range benchAlerts {
		b.Run(strconv.Itoa(i), func(b *testing.B) {
			var d httpDecoder
			data := []byte(body)
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := d.decode(data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
