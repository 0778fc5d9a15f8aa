package deploy

import (
	"bytes"
	"context"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

var update = flag.Bool("update", false, "copy config/*.yaml into deploy/kubernetes/config/ before checking")

// TestConfigMapsAreConfigFiles holds the generated ConfigMaps byte-identical to config/*.yaml,
// the one source of truth. kustomize cannot read above deploy/kubernetes, so it generates them
// from copies there; `make deploy-config` (or `go test -run ConfigMaps -update`) refreshes them.
func TestConfigMapsAreConfigFiles(t *testing.T) {
	for _, c := range []struct{ name, key string }{{agentName, "agent.yaml"}, {gatewayName, "gateway.yaml"}} {
		t.Run(c.key, func(t *testing.T) {
			src, err := os.ReadFile(repoPath("config", c.key))
			if err != nil {
				t.Fatal(err)
			}
			copyPath := filepath.Join(baseDir, "config", c.key)
			if *update {
				if err := os.WriteFile(copyPath, src, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if cp, _ := os.ReadFile(copyPath); !bytes.Equal(cp, src) {
				t.Fatalf("deploy/kubernetes/config/%s differs from config/%s: run `make deploy-config`", c.key, c.key)
			}
			// What kustomize generates, not only the copy, is the file.
			b := render(t, baseDir)
			if got := findConfigMap(t, b, namespace, c.name).Data[c.key]; got != string(src) {
				t.Errorf("generated ConfigMap %s differs from config/%s", c.name, c.key)
			}
		})
	}
}

// collectorBinary is the distribution built by `make build`; tests that run it skip without it.
func collectorBinary(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("OTELCOL_FALCO_BIN")
	if bin == "" {
		bin = repoPath("dist", "otelcol-falco")
	}
	if _, err := os.Stat(bin); err != nil {
		t.Skipf("SKIP: %s is not built (run `make build` first, or set OTELCOL_FALCO_BIN): `otelcol-falco validate` of the deployed configs did not run", bin)
	}
	abs, err := filepath.Abs(bin)
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

// TestDeployedConfigsValidate runs `otelcol-falco validate` on each generated ConfigMap with the
// environment its workload gives it: the DaemonSet's and StatefulSet's env, the downward API
// filled in, and the directories on pod volumes created under a temporary root.
func TestDeployedConfigsValidate(t *testing.T) {
	bin := collectorBinary(t)
	b := base(t)
	ds := find[appsv1.DaemonSet](t, b, namespace, agentName)
	gw := find[appsv1.StatefulSet](t, b, namespace, gatewayName)
	for _, w := range []struct {
		name, key string
		spec      *corev1.PodSpec
	}{
		{agentName, "agent.yaml", &ds.Spec.Template.Spec},
		{gatewayName, "gateway.yaml", statefulPodSpec(gw)},
	} {
		t.Run(w.key, func(t *testing.T) {
			cm := findConfigMap(t, b, namespace, w.name)
			dir := t.TempDir()
			cfgPath := filepath.Join(dir, w.key)
			if err := os.WriteFile(cfgPath, []byte(cm.Data[w.key]), 0o600); err != nil {
				t.Fatal(err)
			}
			c := podContainer(t, w.spec, containerName)
			env := podEnvironment(t, w.spec, c, dir, parseCollectorConfig(t, w.key, []byte(cm.Data[w.key])))
			validate := func(env []string) ([]byte, error) {
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				cmd := exec.CommandContext(ctx, bin, "validate", "--config="+cfgPath)
				cmd.Env = env
				return cmd.CombinedOutput()
			}
			// What the operator must add refuses to validate until it is there (the gateway's
			// SIEM: no default that could loop back into the gateway).
			for name := range operatorSettings {
				if _, reads := parseCollectorConfig(t, w.key, []byte(cm.Data[w.key])).envRefs()[name]; !reads {
					continue
				}
				if out, err := validate(env); err == nil {
					t.Errorf("%s validates without %s: it would start shipping nowhere (or to itself)\n%s", w.key, name, out)
				}
				env = append(env, name+"=https://siem.example.com:4318")
			}
			if out, err := validate(env); err != nil {
				t.Fatalf("otelcol-falco validate %s: %v\n%s", w.key, err, out)
			}
		})
	}
}

// podEnvironment is the process environment of a container: the host's PATH and HOME only,
// the container's env, the downward API filled with stand-ins, and every absolute path that
// lives on a pod volume moved under root (and created there).
func podEnvironment(t *testing.T, spec *corev1.PodSpec, c *corev1.Container, root string, cfg collectorConfig) []string {
	t.Helper()
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + root}
	moved := map[string]string{}
	for _, e := range c.Env {
		v := e.Value
		if e.ValueFrom != nil && e.ValueFrom.ResourceFieldRef != nil {
			v = resourceFieldValue(t, c, e.ValueFrom.ResourceFieldRef)
		}
		if e.ValueFrom != nil && e.ValueFrom.FieldRef != nil {
			switch e.ValueFrom.FieldRef.FieldPath {
			case "spec.nodeName":
				v = "node-1"
			case "metadata.name":
				v = "pod-1"
			case "metadata.namespace":
				v = namespace
			default:
				v = "10.0.0.1"
			}
		}
		if strings.HasPrefix(v, "/") {
			if m, vol := mountFor(spec, c, v); m != nil && vol != nil && !m.ReadOnly {
				moved[v] = filepath.Join(root, v)
				v = moved[v]
			}
		}
		env = append(env, e.Name+"="+v)
	}
	// Directories the config defaults to on a pod volume get the same treatment.
	set := map[string]bool{}
	for _, e := range c.Env {
		set[e.Name] = true
	}
	for name, def := range cfg.envRefs() {
		if set[name] || def == nil || !strings.HasPrefix(*def, "/") {
			continue
		}
		if m, vol := mountFor(spec, c, *def); m != nil && vol != nil && !m.ReadOnly {
			moved[*def] = filepath.Join(root, *def)
			env = append(env, name+"="+moved[*def])
		}
	}
	for _, p := range moved {
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return env
}

// distVersion is the distribution's version, which is the image tag.
func distVersion(t *testing.T) string {
	t.Helper()
	var bc struct {
		Dist struct {
			Version string `json:"version"`
		} `json:"dist"`
	}
	if err := yaml.Unmarshal(readRepoFile(t, "builder-config.yaml"), &bc); err != nil {
		t.Fatal(err)
	}
	if bc.Dist.Version == "" {
		t.Fatal("builder-config.yaml has no dist.version")
	}
	return bc.Dist.Version
}
