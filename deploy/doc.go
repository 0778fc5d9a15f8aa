// Package deploy holds the tests of otelcol-falco's Kubernetes deployment: the manifests and
// kustomization in kubernetes/, the gRPC overlay in overlays/, the Helm values for the upstream
// OpenTelemetry Collector chart in helm/, the Falco chart values in falco/ and the repository's
// Dockerfile. It is its own Go module so that k8s.io/api and kustomize stay out of the
// collector components' module.
package deploy
