# otelcol-falco — Falco alerts into OpenTelemetry, Prometheus, Grafana and a SIEM.
# `make demo` and `make test` set everything up on a fresh machine (see README.md).

GO           ?= go
GOBIN        := $(shell $(GO) env GOPATH)/bin
OCB_VERSION  := v0.165.0
OCB          := $(GOBIN)/builder
DIST_BIN     := dist/otelcol-falco
EMULATOR_BIN := bin/falco-emulator
FUZZTIME     ?= 10s

.DEFAULT_GOAL := help
.PHONY: help build generate emulator run demo test test-tools test-unit test-deploy fuzz lint bench image deploy-config clean

help: ## Show the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(OCB):
	$(GO) install go.opentelemetry.io/collector/cmd/builder@$(OCB_VERSION)

generate: $(OCB) ## Regenerate mdatagen code and the dist/ sources from builder-config.yaml
	cd receiver/falcoreceiver && $(GO) tool mdatagen metadata.yaml
	cd processor/falcolabelprocessor && $(GO) tool mdatagen metadata.yaml
	cd extension/pebblestorageextension && $(GO) tool mdatagen metadata.yaml
	$(OCB) --config builder-config.yaml --skip-compilation

# dist/ is committed, so building needs only Go; a builder-config.yaml newer than the generated
# sources regenerates them first.
dist/components.go: builder-config.yaml
	$(MAKE) generate

# Built as the image builds it (Dockerfile): static, without symbol tables. The tests and
# benchmarks so measure the binary that ships: with cgo, the binary is 83 MB instead of 57 and
# ~10 MiB more of it stays resident (issue 12's peak RSS).
build: dist/components.go ## Build the collector distribution (dist/otelcol-falco)
	cd dist && CGO_ENABLED=0 $(GO) build -trimpath -ldflags='-s -w' -o otelcol-falco .

emulator: ## Build the Falco emulator (bin/falco-emulator)
	$(GO) build -o $(EMULATOR_BIN) ./cmd/falco-emulator

run: build ## Run the agent against the local Falco (unix:///run/falco/falco.sock, http_output on :2801)
	$(DIST_BIN) --config config/agent.yaml

demo: build emulator ## Build, start the emulator and the collector, show live falco_events_total
	./scripts/demo.sh

test: build emulator test-tools test-unit test-deploy ## The whole suite: unit, fuzz smoke, end to end, dashboards, deploy
	@echo "make test: all suites passed"

# The end-to-end and dashboard tests run a real Prometheus and promtool: Debian's `prometheus`
# package, installed here when missing (as root; anyone else is told the one command to run).
test-tools:
	@if command -v prometheus >/dev/null && command -v promtool >/dev/null; then exit 0; fi; \
	if [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then \
	  echo "make test needs prometheus and promtool: run 'sudo apt-get install -y prometheus' (Debian/Ubuntu) or put both on PATH" >&2; \
	  exit 1; \
	fi; \
	echo "==> installing prometheus and promtool (apt-get install -y prometheus)"; \
	DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null

test-unit:
	$(GO) test -count=1 -timeout 20m ./...
	$(MAKE) fuzz

test-deploy:
	cd deploy && $(GO) test -count=1 ./...

fuzz: ## Run each fuzz target for FUZZTIME (Go fuzzes one target per command)
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeHTTPBody$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 2s ./receiver/falcoreceiver
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeResponse$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 2s ./receiver/falcoreceiver

lint: ## gofmt and go vet
	@out=$$(gofmt -l $$(git ls-files '*.go' | grep -v '^dist/')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	cd dist && $(GO) vet ./...
	cd deploy && $(GO) vet ./...

bench: build emulator ## Throughput, CPU, memory and latency of the whole collector (bench/results.json)
	$(GO) run ./bench -collector $(DIST_BIN) -emulator $(EMULATOR_BIN) -out bench/results.json

IMAGE ?= otelcol-falco:dev
image: ## Build the container image (needs a Docker engine); then docker push $(IMAGE)
	docker build -t $(IMAGE) .

deploy-config: ## Copy config/*.yaml into deploy/kubernetes/config/ (kustomize's ConfigMap sources)
	cp config/agent.yaml config/gateway.yaml deploy/kubernetes/config/
	cp config/agent-falco-mtls.yaml deploy/overlays/falco-mtls/config/

clean:
	rm -rf bin $(DIST_BIN)
