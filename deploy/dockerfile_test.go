package deploy

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
)

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	cmd  string // upper case
	args string
}

func parseDockerfile(t *testing.T) []instruction {
	t.Helper()
	var out []instruction
	var cur strings.Builder
	for _, line := range strings.Split(string(readRepoFile(t, "Dockerfile")), "\n") {
		trimmed := strings.TrimSpace(line)
		if cur.Len() == 0 && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if strings.HasPrefix(trimmed, "#") {
			continue // a comment inside a continued instruction
		}
		if strings.HasSuffix(trimmed, "\\") {
			cur.WriteString(strings.TrimSuffix(trimmed, "\\") + " ")
			continue
		}
		cur.WriteString(trimmed)
		cmd, args, _ := strings.Cut(cur.String(), " ")
		out = append(out, instruction{strings.ToUpper(cmd), strings.TrimSpace(args)})
		cur.Reset()
	}
	return out
}

// stages splits the instructions at each FROM.
func stages(ins []instruction) [][]instruction {
	var out [][]instruction
	for _, in := range ins {
		if in.cmd == "FROM" {
			out = append(out, nil)
		}
		if len(out) > 0 {
			out[len(out)-1] = append(out[len(out)-1], in)
		}
	}
	return out
}

// dockerEntrypoint is the exec-form ENTRYPOINT of the image's last stage.
func dockerEntrypoint(t *testing.T) string {
	t.Helper()
	st := stages(parseDockerfile(t))
	var ep []string
	for _, in := range st[len(st)-1] {
		if in.cmd == "ENTRYPOINT" {
			if err := json.Unmarshal([]byte(in.args), &ep); err != nil {
				t.Fatalf("ENTRYPOINT %s is not the exec (JSON) form: %v", in.args, err)
			}
		}
	}
	if len(ep) != 1 {
		t.Fatalf("want ENTRYPOINT [\"/binary\"], have %v", ep)
	}
	return ep[0]
}

// buildKitPlatformArgs are the ARGs BuildKit sets for each build (docs.docker.com, "Automatic
// platform ARGs in the global scope").
var buildKitPlatformArgs = map[string]bool{
	"TARGETPLATFORM": true, "TARGETOS": true, "TARGETARCH": true, "TARGETVARIANT": true,
	"BUILDPLATFORM": true, "BUILDOS": true, "BUILDARCH": true, "BUILDVARIANT": true,
}

// TestDockerfile checks the Dockerfile's shape, since no image can be built here: a Go build
// stage on go.mod's Go version producing a static binary from dist/, and a distroless (or
// scratch) final stage that runs it as a non-root user and exposes the ports the manifests use.
func TestDockerfile(t *testing.T) {
	ins := parseDockerfile(t)
	st := stages(ins)
	if len(st) < 2 {
		t.Fatalf("want a multi-stage build, have %d stage(s)", len(st))
	}
	args := map[string]string{}
	for _, in := range ins {
		if in.cmd == "ARG" {
			k, v, _ := strings.Cut(in.args, "=")
			if _, seen := args[k]; !seen {
				args[k] = v
			}
		}
	}
	expand := func(s string) string {
		return regexp.MustCompile(`\$\{?(\w+)\}?`).ReplaceAllStringFunc(s, func(m string) string {
			k := strings.Trim(m, "${}")
			if v, ok := args[k]; ok {
				return v
			}
			return m
		})
	}

	// Build stage.
	build := st[0]
	from := strings.Fields(build[0].args)
	if len(from) < 3 || !strings.EqualFold(from[len(from)-2], "AS") {
		t.Fatalf("first stage %q should be named (FROM image AS build)", build[0].args)
	}
	image := expand(from[len(from)-3])
	stageName := from[len(from)-1]
	goLine := regexp.MustCompile(`(?m)^go (\S+)$`).FindStringSubmatch(string(readRepoFile(t, "go.mod")))
	if goLine == nil {
		t.Fatal("go.mod has no go line")
	}
	if !strings.HasPrefix(image, "golang:"+goLine[1]) {
		t.Errorf("build stage image %s, want golang:%s (go.mod)", image, goLine[1])
	}
	var buildCmd string
	for _, in := range build {
		if in.cmd == "RUN" && strings.Contains(in.args, "go build") {
			buildCmd = in.args
		}
	}
	// BuildKit's automatic platform ARGs reach a stage only through an ARG without a default: a
	// default replaces BuildKit's value (an arm64 image would hold the default's amd64 binary).
	for _, in := range build {
		name, def, hasDefault := strings.Cut(in.args, "=")
		if in.cmd == "ARG" && buildKitPlatformArgs[name] && hasDefault {
			t.Errorf("ARG %s=%s: the default shadows BuildKit's value for --platform; declare `ARG %s`", name, def, name)
		}
	}
	for _, v := range []string{"GOOS=${TARGETOS}", "GOARCH=${TARGETARCH}"} {
		if !strings.Contains(buildCmd, v) {
			t.Errorf("build step %q should cross-compile with %s (BuildKit's target platform)", buildCmd, v)
		}
	}
	if !strings.Contains(buildCmd, "CGO_ENABLED=0") || !strings.Contains(buildCmd, "cd dist") {
		t.Errorf("build step %q should build dist/ with CGO_ENABLED=0 (a static binary)", buildCmd)
	}
	out := regexp.MustCompile(`-o\s+(\S+)`).FindStringSubmatch(buildCmd)
	if out == nil {
		t.Fatalf("build step %q names no -o output", buildCmd)
	}

	// Final stage.
	final := st[len(st)-1]
	finalImage := expand(strings.Fields(final[0].args)[0])
	if finalImage != "scratch" && !strings.HasPrefix(finalImage, "gcr.io/distroless/static") {
		t.Errorf("final base %s: want gcr.io/distroless/static* or scratch", finalImage)
	}
	entry := dockerEntrypoint(t)
	copied, user := false, ""
	var exposed []int32
	for _, in := range final {
		switch in.cmd {
		case "COPY":
			f := strings.Fields(in.args)
			if f[0] == "--from="+stageName && f[1] == out[1] && f[2] == entry {
				copied = true
			}
			if !strings.HasPrefix(f[0], "--") {
				for _, src := range f[:len(f)-1] {
					if _, err := os.Stat(repoPath(src)); err != nil {
						t.Errorf("COPY source %s: %v", src, err)
					}
				}
			}
		case "USER":
			user = in.args
		case "EXPOSE":
			for _, p := range strings.Fields(in.args) {
				n, err := strconv.Atoi(strings.TrimSuffix(p, "/tcp"))
				if err != nil {
					t.Errorf("EXPOSE %s: %v", p, err)
				}
				exposed = append(exposed, int32(n))
			}
		}
	}
	if !copied {
		t.Errorf("final stage does not COPY --from=%s %s to the ENTRYPOINT %s", stageName, out[1], entry)
	}
	uid, _, _ := strings.Cut(user, ":")
	if n, err := strconv.Atoi(uid); err != nil || n == 0 {
		t.Errorf("USER %q: want a numeric non-root UID (Kubernetes can verify runAsNonRoot only then)", user)
	}

	// EXPOSE documents exactly the ports the workloads open.
	b := base(t)
	var ports []int32
	for _, p := range podContainer(t, &find[appsv1.DaemonSet](t, b, namespace, agentName).Spec.Template.Spec, containerName).Ports {
		ports = append(ports, p.ContainerPort)
	}
	for _, p := range podContainer(t, &find[appsv1.StatefulSet](t, b, namespace, gatewayName).Spec.Template.Spec, containerName).Ports {
		ports = append(ports, p.ContainerPort)
	}
	slices.Sort(ports)
	ports = slices.Compact(ports)
	slices.Sort(exposed)
	if !slices.Equal(ports, exposed) {
		t.Errorf("EXPOSE %v, the workloads open %v", exposed, ports)
	}
}
