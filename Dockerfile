# syntax=docker/dockerfile:1
#
# otelcol-falco container image: the collector distribution built by ocb (dist/) as one static
# binary on a distroless base, running as a non-root user.
#
#   make image                                   # docker build -t $(IMAGE) .
#   docker push ghcr.io/otelcol-falco/otelcol-falco:0.1.0
#   docker buildx build --platform linux/amd64,linux/arm64 -t IMAGE --push .   # multi-arch
#
# The image holds config/*.yaml under /etc/otelcol-falco/ and starts the agent configuration by
# default; Kubernetes mounts its ConfigMap over that directory (deploy/).

# Go toolchain of go.mod's `go` line.
ARG GO_VERSION=1.26.8

FROM --platform=$BUILDPLATFORM golang:${GO_VERSION}-bookworm AS build
# Set by BuildKit for each --platform; declared without a default, which would shadow BuildKit's
# value and put an amd64 binary in the arm64 image. (Without BuildKit they are empty and Go
# builds for the build machine.)
ARG TARGETOS
ARG TARGETARCH
WORKDIR /src
# Modules first, so the download layer is reused until a go.mod or go.sum changes.
COPY go.mod go.sum ./
COPY dist/go.mod dist/go.sum ./dist/
RUN cd dist && go mod download
COPY . .
RUN cd dist && CGO_ENABLED=0 GOOS=${TARGETOS} GOARCH=${TARGETARCH} \
    go build -trimpath -buildvcs=false -ldflags="-s -w" -o /out/otelcol-falco .

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/otelcol-falco /otelcol-falco
COPY config/ /etc/otelcol-falco/
# distroless's "nonroot" user, numeric so that Kubernetes can verify runAsNonRoot.
USER 65532:65532
# 2801 Falco http_output ingest, 4317/4318 OTLP (gateway), 8888 internal telemetry,
# 9376 Prometheus exporter, 13133 health_check.
EXPOSE 2801 4317 4318 8888 9376 13133
ENTRYPOINT ["/otelcol-falco"]
CMD ["--config=/etc/otelcol-falco/agent.yaml"]
