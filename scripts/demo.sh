#!/usr/bin/env bash
# make demo: the Falco emulator feeds the built collector over Falco's gRPC socket (and Falco's
# /metrics), and the collector's Prometheus endpoint shows falco_events_total live. With Debian's
# prometheus installed, a Prometheus on 127.0.0.1 scrapes it too. Everything listens on loopback
# and stops on exit (Ctrl-C, or after DEMO_SECONDS; 0 runs until Ctrl-C).
set -euo pipefail
cd "$(dirname "$0")/.."

DEMO_SECONDS=${DEMO_SECONDS:-45}
RATE=${RATE:-50}
work=$(mktemp -d /tmp/otelcol-falco-demo.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

echo "==> Falco emulator: gRPC on unix://$work/falco.sock, Falco /metrics on 127.0.0.1:8765, $RATE alerts/s"
bin/falco-emulator -grpc "unix://$work/falco.sock" -metrics-addr 127.0.0.1:8765 \
  -count 0 -rate "$RATE" -pods 20 -priorities "" -progress 0 >"$work/emulator.log" 2>&1 &
pids+=($!)

echo "==> otelcol-falco agent (config/agent.yaml): Prometheus exporter on 127.0.0.1:9376"
FALCO_GRPC_ENABLED=true \
FALCO_GRPC_ENDPOINT="unix://$work/falco.sock" \
FALCO_HTTP_ENDPOINT=127.0.0.1:2801 \
FALCO_METRICS_TARGET=127.0.0.1:8765 \
FALCO_METRICS_INTERVAL=2s \
PROMETHEUS_ENDPOINT=127.0.0.1:9376 \
HEALTH_CHECK_ENDPOINT=127.0.0.1:13133 \
TELEMETRY_HOST=127.0.0.1 \
FILE_STORAGE_DIR="$work/queue" \
DEBUG_VERBOSITY=normal \
  dist/otelcol-falco --config config/agent.yaml \
    --config 'yaml:service::pipelines::logs::exporters: [debug]' >"$work/collector.log" 2>&1 &
pids+=($!)

for _ in $(seq 1 60); do
  curl -fs 127.0.0.1:13133/ >/dev/null 2>&1 && break
  sleep 0.5
done
curl -fs 127.0.0.1:13133/ >/dev/null || { echo "collector did not start:"; cat "$work/collector.log"; exit 1; }

if command -v prometheus >/dev/null; then
  cat >"$work/prometheus.yml" <<YAML
global: {scrape_interval: 5s}
scrape_configs:
  - job_name: otelcol-falco
    static_configs: [{targets: ["127.0.0.1:9376"]}]
  - job_name: otelcol
    static_configs: [{targets: ["127.0.0.1:8888"]}]
YAML
  prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/tsdb" \
    --web.listen-address=127.0.0.1:9090 >"$work/prometheus.log" 2>&1 &
  pids+=($!)
  echo "==> Prometheus: http://127.0.0.1:9090/graph?g0.expr=sum%20by%20(falco_rule)%20(rate(falco_events_total%5B1m%5D))"
else
  echo "==> (apt-get install -y prometheus to also get a Prometheus on 127.0.0.1:9090)"
fi

# show prints the total and the busiest rules, summed over pods, from the collector's endpoint.
show() {
  curl -fs 127.0.0.1:9376/metrics | awk -v now="$(date +%T)" '
    /^falco_events_total\{/ {
      v = $NF; total += v
      rule = "?"; prio = "?"
      if (match($0, /falco_rule="[^"]*"/)) rule = substr($0, RSTART + 12, RLENGTH - 13)
      if (match($0, /falco_priority="[^"]*"/)) prio = substr($0, RSTART + 16, RLENGTH - 17)
      if (match($0, /k8s_pod_name="[^"]*"/)) pods[substr($0, RSTART + 14, RLENGTH - 15)] = 1
      by[prio "\t" rule] += v; series++
    }
    END {
      np = 0; for (p in pods) np++
      printf "\n%s  falco_events_total = %d  (%d series, %d pods)   busiest rules:\n", now, total, series, np
      for (k in by) { split(k, f, "\t"); printf "%8d  %-13s %s\n", by[k], f[1], f[2] | "sort -nr | head -6" }
    }'
}

end=$((SECONDS + DEMO_SECONDS))
while [ "$DEMO_SECONDS" -eq 0 ] || [ $SECONDS -lt $end ]; do
  sleep 3
  show
done
echo
echo "==> the last alert log record, as the debug exporter printed it (the demo swaps the gateway exporter for debug):"
grep 'falco.rule=' "$work/collector.log" | tail -n 1 | cut -c1-600
