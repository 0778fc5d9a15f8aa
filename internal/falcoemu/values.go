package falcoemu

// Realistic values for the output fields of the catalog's rules: the field resolvers, over the
// per-rule profiles of profiles.yaml (which processes, files, connections a rule typically
// reports). Everything here runs when a Generator is built, never per alert.

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/otelcol-falco/otelcol-falco/internal/falcofields"
)

func hexish(rng *rand.Rand, n int) string {
	const hx = "0123456789abcdef"
	b := make([]byte, n)
	for i := range b {
		b[i] = hx[rng.IntN(16)]
	}
	return string(b)
}

// ---- variant building ----

// vb builds one variant's field values.
type vb struct {
	rule    *Rule
	prof    *profile
	host    bool
	rng     *rand.Rand
	base    time.Time
	proc    proc
	chain   []string // aname[1..]: parent, grandparent, ...
	user    usr
	evtType string
	file    string
	path2   string
	netOK   bool
	lip     string
	lport   int64
	rip     string
	rport   int64
	rname   any
	l4      string
	k       int // variant index
}

func pick[T any](rng *rand.Rand, s []T) T { return s[rng.IntN(len(s))] }

// newVB prepares the choices of variant k of a syscall rule.
func newVB(r *Rule, pr *profile, host bool, k int, rng *rand.Rand, base time.Time) *vb {
	b := &vb{rule: r, prof: pr, host: host, rng: rng, base: base, k: k}
	b.proc = pr.procs[k%len(pr.procs)]
	b.chain = append([]string{b.proc.parent}, b.proc.anc...)
	last := b.chain[len(b.chain)-1]
	if host {
		if last != "systemd" {
			if b.proc.tty && last != "sshd" {
				b.chain = append(b.chain, "sshd", "sshd")
			}
			b.chain = append(b.chain, "systemd")
		}
	} else if last != "containerd-shim" && last != "systemd" {
		b.chain = append(b.chain, "containerd-shim", "systemd")
	} else if last == "containerd-shim" {
		b.chain = append(b.chain, "systemd")
	}
	switch {
	case len(pr.users) > 0:
		b.user = pr.users[k%len(pr.users)]
	case host && (pr.interactive || b.proc.tty):
		b.user = pick(rng, hostLoginUsers)
	case host:
		b.user = pick(rng, hostDaemonUsers)
	default:
		b.user = pick(rng, containerUsers)
	}
	// evt.type: the rule's typical syscall most of the time; an accept-side syscall
	// for inbound connections.
	if pr.net != nil && pr.net.inbound {
		var in []string
		for _, t := range r.EvtTypes {
			switch t {
			case "accept", "accept4", "recvfrom", "recvmsg", "listen":
				in = append(in, t)
			}
		}
		if len(in) > 0 {
			b.evtType = in[0]
			if k%4 == 3 {
				b.evtType = in[rng.IntN(len(in))]
			}
		}
	}
	if b.evtType == "" && len(r.EvtTypes) > 0 {
		if k%4 == 3 && len(r.EvtTypes) > 1 {
			b.evtType = r.EvtTypes[1+rng.IntN(len(r.EvtTypes)-1)]
		} else {
			b.evtType = r.EvtTypes[0]
		}
	}
	if len(pr.files) > 0 {
		b.file = pr.files[k%len(pr.files)]
	}
	if len(pr.paths2) > 0 {
		b.path2 = pr.paths2[k%len(pr.paths2)]
	}
	if n := pr.net; n != nil {
		b.netOK = true
		b.l4 = n.l4
		i := k % len(n.rips)
		b.rip = n.rips[i]
		if len(n.names) > 0 && n.names[i%len(n.names)] != "" {
			b.rname = n.names[i%len(n.names)]
		}
		b.rport = n.rports[k%len(n.rports)]
		if host {
			b.lip = pick(rng, []string{"10.0.1.23", "192.168.49.2", "172.31.18.204"})
		} else {
			b.lip = fmt.Sprintf("10.244.%d.%d", 1+rng.IntN(6), 2+rng.IntN(250))
		}
		b.lport = int64(32768 + rng.IntN(28000))
		if n.inbound { // server side: local port is the service port
			b.lport, b.rport = b.rport, int64(32768+rng.IntN(28000))
		}
	}
	return b
}

func isExec(t string) bool { return t == "execve" || t == "execveat" }
func isOpen(t string) bool {
	return t == "open" || t == "openat" || t == "openat2" || t == "creat"
}

var capsDefault = "CAP_CHOWN CAP_DAC_OVERRIDE CAP_FOWNER CAP_FSETID CAP_KILL CAP_SETGID CAP_SETUID CAP_SETPCAP CAP_NET_BIND_SERVICE CAP_NET_RAW CAP_SYS_CHROOT CAP_MKNOD CAP_AUDIT_WRITE CAP_SETFCAP"
var capsAll = "CAP_CHOWN CAP_DAC_OVERRIDE CAP_DAC_READ_SEARCH CAP_FOWNER CAP_FSETID CAP_KILL CAP_SETGID CAP_SETUID CAP_SETPCAP CAP_LINUX_IMMUTABLE CAP_NET_BIND_SERVICE CAP_NET_BROADCAST CAP_NET_ADMIN CAP_NET_RAW CAP_IPC_LOCK CAP_IPC_OWNER CAP_SYS_MODULE CAP_SYS_RAWIO CAP_SYS_CHROOT CAP_SYS_PTRACE CAP_SYS_PACCT CAP_SYS_ADMIN CAP_SYS_BOOT CAP_SYS_NICE CAP_SYS_RESOURCE CAP_SYS_TIME CAP_SYS_TTY_CONFIG CAP_MKNOD CAP_LEASE CAP_AUDIT_WRITE CAP_AUDIT_CONTROL CAP_SETFCAP CAP_MAC_OVERRIDE CAP_MAC_ADMIN CAP_SYSLOG CAP_WAKE_ALARM CAP_BLOCK_SUSPEND CAP_AUDIT_READ CAP_PERFMON CAP_BPF CAP_CHECKPOINT_RESTORE"

// value resolves one output field of a syscall rule, typed as falcofields declares the field
// (so the emulator's JSON carries the types the receiver and falcolabel expect). ok=false means
// the emulator has no resolver for the key (a test checks that every catalog field resolves).
func (b *vb) value(key string) (v any, ok bool) {
	if cands, has := b.prof.extra[key]; has {
		return typed(key, cands[b.k%len(cands)]), true
	}
	if v, ok := b.ancestor(key); ok {
		return v, true
	}
	resolve, ok := syscallValues[key]
	if !ok {
		return nil, false
	}
	return typed(key, resolve(b)), true
}

// typed gives v the type falcofields declares for key: resolvers may write a number as text.
func typed(key string, v any) any {
	switch x := v.(type) {
	case string:
		switch falcofields.TypeOf(key) {
		case falcofields.Int:
			if n, err := strconv.ParseInt(x, 10, 64); err == nil {
				return n
			}
		case falcofields.Bool:
			if t, err := strconv.ParseBool(x); err == nil {
				return t
			}
		case falcofields.String:
		}
	case int64:
		if falcofields.TypeOf(key) == falcofields.String {
			return strconv.FormatInt(x, 10)
		}
	}
	return v
}

// ancestor resolves proc.aname[n] and proc.aexepath[n] from the process chain.
func (b *vb) ancestor(key string) (any, bool) {
	if !strings.HasPrefix(key, "proc.aname[") && !strings.HasPrefix(key, "proc.aexepath[") {
		return nil, false
	}
	var n int
	fmt.Sscanf(key[strings.IndexByte(key, '[')+1:], "%d", &n)
	if n < 1 || n > len(b.chain) {
		return nil, true
	}
	name := b.chain[n-1]
	if strings.HasPrefix(key, "proc.aname[") {
		return name, true
	}
	if p, ok := exePaths[name]; ok {
		return p, true
	}
	return "/usr/bin/" + name, true
}

// when returns v if cond holds, else no value.
func when(cond bool, v any) any {
	if cond {
		return v
	}
	return nil
}

func choose[T any](cond bool, yes, no T) T {
	if cond {
		return yes
	}
	return no
}

// syscallValues resolve the output fields of syscall rules from a variant's choices (its process,
// user, file, connection and syscall); nil is Falco's "no value".
var syscallValues = map[string]func(b *vb) any{
	// events
	"evt.type": func(b *vb) any { return b.evtType },
	"evt.res": func(b *vb) any {
		return choose(b.evtType == "unshare" && b.k%2 == 1, "EPERM", "SUCCESS")
	},
	"evt.arg.flags":    (*vb).flags,
	"evt.args":         (*vb).args,
	"evt.arg.target":   func(b *vb) any { return b.file },
	"evt.arg.linkpath": func(b *vb) any { return b.path2 },
	"evt.arg.oldpath":  func(b *vb) any { return when(b.renamesOrLinks(), b.file) },
	"evt.arg.newpath":  func(b *vb) any { return when(b.renamesOrLinks(), b.path2) },
	"evt.arg.name":     func(b *vb) any { return when(b.evtType == "unlinkat" || isOpen(b.evtType), b.file) },
	"evt.arg.path": func(b *vb) any {
		return when(b.evtType == "unlink" || b.evtType == "rmdir" || strings.HasPrefix(b.evtType, "mkdir"), b.file)
	},
	"evt.arg.filename": func(b *vb) any { return when(b.evtType == "chmod" || b.evtType == "fchmodat", b.file) },
	"evt.arg.fd":       func(b *vb) any { return when(b.evtType == "fchmod", "3(<f>"+b.file+")") },
	"evt.arg.mode":     func(*vb) any { return "S_IRWXU|S_IRGRP|S_IXGRP|S_IROTH|S_IXOTH" },
	"evt.arg.uid":      func(*vb) any { return "0" },
	"evt.arg.cmd":      func(*vb) any { return "BPF_PROG_LOAD" },

	// file descriptors and connections
	"fd.name": func(b *vb) any {
		switch {
		case b.socket() && b.prof.net.inbound:
			return fmt.Sprintf("%s:%d->%s:%d", b.rip, b.rport, b.lip, b.lport)
		case b.socket():
			return fmt.Sprintf("%s:%d->%s:%d", b.lip, b.lport, b.rip, b.rport)
		}
		return when(b.file != "" && !isExec(b.evtType), b.file)
	},
	"fd.nameraw": func(b *vb) any {
		if len(b.prof.raw) > 0 {
			return b.prof.raw[b.k%len(b.prof.raw)]
		}
		return b.file
	},
	"fd.lport":    func(b *vb) any { return when(b.netOK, b.lport) },
	"fd.rport":    func(b *vb) any { return when(b.netOK, b.rport) },
	"fd.sport":    func(b *vb) any { return when(b.netOK, b.server(b.lport, b.rport)) },
	"fd.sip":      func(b *vb) any { return when(b.netOK, b.server(b.lip, b.rip)) },
	"fd.rip":      func(b *vb) any { return when(b.netOK, b.rip) },
	"fd.rip.name": func(b *vb) any { return when(b.netOK, b.rname) },
	"fd.sip.name": func(b *vb) any { return when(b.netOK && !b.prof.net.inbound, b.rname) },
	"fd.lip.name": func(*vb) any { return nil },
	"fd.cip.name": func(*vb) any { return nil },
	"fd.type": func(b *vb) any {
		if b.socket() {
			return "ipv4"
		}
		return when(b.file != "" && !isExec(b.evtType), "file")
	},
	"fd.l4proto": func(b *vb) any { return when(b.socket(), b.l4) },

	// processes
	"proc.name":    func(b *vb) any { return b.proc.name },
	"proc.exepath": func(b *vb) any { return b.proc.exe },
	"proc.exe": func(b *vb) any {
		if strings.HasPrefix(b.proc.exe, "/tmp/") || strings.HasPrefix(b.proc.exe, "/dev/shm/") {
			return b.proc.exe
		}
		return strings.Fields(b.proc.cmd + " x")[0]
	},
	"proc.cmdline": func(b *vb) any { return b.proc.cmd },
	"proc.args": func(b *vb) any {
		_, args, _ := strings.Cut(b.proc.cmd, " ")
		return args
	},
	"proc.pname":    func(b *vb) any { return b.proc.parent },
	"proc.pexepath": func(b *vb) any { return b.proc.pexe },
	"proc.pexe":     func(b *vb) any { return b.proc.pexe },
	"proc.pcmdline": func(b *vb) any { return b.proc.pcmd },
	"proc.sname":    (*vb).sessionLeader,
	"proc.cwd":      (*vb).cwd,
	"proc.tty": func(b *vb) any {
		if b.proc.tty || (b.host && b.prof.interactive) {
			return int64(34816 + b.rng.IntN(3))
		}
		return int64(0)
	},
	"proc.env": func(b *vb) any {
		if len(b.prof.env) > 0 {
			return b.prof.env[b.k%len(b.prof.env)]
		}
		return "HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	},
	"proc.exe_ino.ctime":                     func(b *vb) any { return b.base.Add(-time.Duration(30+b.k*7) * time.Second).UnixNano() },
	"proc.exe_ino.mtime":                     func(b *vb) any { return b.base.Add(-time.Duration(30+b.k*7) * time.Second).UnixNano() },
	"proc.exe_ino.ctime_duration_proc_start": func(b *vb) any { return int64(1_500_000_000 + b.rng.Int64N(4_000_000_000)) },

	// users
	"user.name":      func(b *vb) any { return b.user.name },
	"user.uid":       func(b *vb) any { return b.user.uid },
	"user.loginuid":  func(b *vb) any { return b.user.loginuid },
	"user.loginname": func(b *vb) any { return b.user.loginname },
	"group.gid":      func(b *vb) any { return b.user.gid },
	"group.name":     func(b *vb) any { return b.user.group },

	// threads and containers
	"thread.cap_effective": func(b *vb) any {
		return choose(b.k%2 == 0, capsAll, capsDefault+" CAP_SYS_ADMIN")
	},
	"thread.cap_permitted": func(*vb) any { return capsAll },
	"container.start_ts": func(b *vb) any {
		return when(!b.host, b.base.Add(-time.Duration(5+b.k*13)*time.Minute).UnixNano())
	},
	"container.mounts": func(b *vb) any {
		if b.host {
			return nil
		}
		return pick(b.rng, []any{
			"/var/run/docker.sock:/var/run/docker.sock::true:rprivate,/var/lib/kubelet/pods/6f1c/volumes/kubernetes.io~projected/kube-api-access-8xk2q:/var/run/secrets/kubernetes.io/serviceaccount:ro:false:rprivate",
			"/:/host::true:rprivate,/var/lib/kubelet/pods/9a0e/etc-hosts:/etc/hosts::true:rprivate",
			"/proc:/host/proc:ro:false:rprivate,/etc:/host/etc:ro:false:rprivate",
		})
	},
}

// socket reports whether the event is on the rule's connection (not the exec that preceded it).
func (b *vb) socket() bool { return b.netOK && !isExec(b.evtType) }

func (b *vb) renamesOrLinks() bool {
	return strings.HasPrefix(b.evtType, "rename") || strings.HasPrefix(b.evtType, "link")
}

// server picks the server side of the connection: local for inbound ones, remote otherwise.
func (b *vb) server(local, remote any) any {
	if b.prof.net.inbound {
		return local
	}
	return remote
}

func (b *vb) flags() any {
	switch {
	case isExec(b.evtType) && !b.host:
		return pick(b.rng, []any{"EXE_WRITABLE|EXE_LOWER_LAYER", "EXE_LOWER_LAYER", "EXE_WRITABLE|EXE_LOWER_LAYER"})
	case isExec(b.evtType) && b.user.uid == 0:
		return "EXE_WRITABLE"
	case isExec(b.evtType):
		return "0"
	case isOpen(b.evtType) && b.prof.write:
		return pick(b.rng, []any{"O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC", "O_WRONLY|O_APPEND|O_CREAT", "O_RDWR|O_CREAT|O_CLOEXEC", "O_WRONLY|O_TRUNC"})
	case isOpen(b.evtType):
		return pick(b.rng, []any{"O_RDONLY", "O_RDONLY|O_CLOEXEC", "O_RDONLY|O_NONBLOCK|O_CLOEXEC"})
	}
	return nil
}

func (b *vb) args() any {
	switch {
	case b.evtType == "socket":
		return "domain=17(AF_PACKET) type=3 proto=768 "
	case strings.HasPrefix(b.evtType, "rename"):
		return fmt.Sprintf("res=0 olddirfd=-100(AT_FDCWD) oldpath=%s newdirfd=-100(AT_FDCWD) newpath=%s flags=0", b.file, b.path2)
	case strings.HasPrefix(b.evtType, "unlink"), b.evtType == "rmdir":
		return fmt.Sprintf("res=0 dirfd=-100(AT_FDCWD) name=%s flags=0", b.file)
	}
	return fmt.Sprintf("res=0 fd=3(<f>%s)", b.file)
}

func (b *vb) sessionLeader() any {
	if b.host {
		if b.proc.tty || b.prof.interactive {
			return "bash"
		}
		return "systemd"
	}
	s := b.proc.name
	for _, a := range b.chain {
		if a == "containerd-shim" || a == "runc" {
			break
		}
		s = a
	}
	return s
}

func (b *vb) cwd() any {
	switch {
	case len(b.prof.cwd) > 0:
		return b.prof.cwd[b.k%len(b.prof.cwd)]
	case b.host && b.user.uid == 0:
		return "/root/"
	case b.host:
		return "/home/ubuntu/"
	}
	return pick(b.rng, []any{"/", "/app/", "/tmp/"})
}

// ---- k8s audit ----

type auditCase struct {
	user, verb, resource, name, ns, sub, code, reason string
}

var k8sUsers = []string{"jane.doe@example.com", "system:serviceaccount:ci:deployer", "kubernetes-admin", "dev-bob", "oidc:alice@example.com"}
var k8sNamespaces = []string{"default", "payments", "checkout", "frontend", "data", "kube-system", "ci"}

// auditValue resolves a k8s_audit output field for variant k.
func auditValue(r *Rule, key string, k int, rng *rand.Rand) (any, bool) {
	user := k8sUsers[k%len(k8sUsers)]
	ns := k8sNamespaces[(k+1)%len(k8sNamespaces)]
	verb, resource, name, sub, code := "get", "pods", "web-7d9f8b6c5d-x2k4p", "", "200"
	reason := fmt.Sprintf("RBAC: allowed by ClusterRoleBinding \"%s\" of ClusterRole \"cluster-admin\" to User \"%s\"", "admins", user)
	decision := "allow"
	image := pick(rng, []string{"(docker.io/library/alpine:3.20)", "(docker.io/library/ubuntu:24.04)", "(nginx:1.27,busybox:1.36)", "(ghcr.io/example/debug:latest)"})
	switch r.Name {
	case "Disallowed K8s User":
		verb = pick(rng, []string{"get", "list", "patch", "delete"})
		resource = pick(rng, []string{"deployments", "secrets", "configmaps", "pods"})
		name = pick(rng, []string{"payments-api", "db-credentials", "app-config", "web-7d9f8b6c5d-x2k4p"})
	case "Create Privileged Pod", "Create Sensitive Mount Pod":
		verb, code = "create", "201"
		name = fmt.Sprintf("debug-%s", hexish(rng, 5))
	case "Create NodePort Service":
		verb, resource, code = "create", "services", "201"
		name = pick(rng, []string{"debug-np", "web-external", "grafana-np"})
	case "Anonymous Request Allowed":
		user, verb, resource, name = "system:anonymous", "get", "", ""
		reason = "RBAC: allowed by ClusterRoleBinding \"system:public-info-viewer\" of ClusterRole \"system:public-info-viewer\" to Group \"system:unauthenticated\""
	case "Attach/Exec Pod":
		verb, sub, code = "create", pick(rng, []string{"exec", "exec", "attach"}), "101"
	case "Create Disallowed Namespace":
		verb, resource, code = "create", "namespaces", "201"
		name = pick(rng, []string{"crypto-test", "tmp-debug", "pentest"})
	case "Attach to cluster-admin Role":
		verb, resource, code = "create", "clusterrolebindings", "201"
		name = pick(rng, []string{"ci-admin", "temp-admin-binding"})
	case "ClusterRole With Wildcard Created":
		verb, resource, code = "create", pick(rng, []string{"clusterroles", "roles"}), "201"
		name = pick(rng, []string{"god-mode", "ci-all", "debug-all"})
	case "K8s Deployment Created":
		verb, resource, code = "create", "deployments", "201"
		name = pick(rng, []string{"payments-api", "checkout-worker", "frontend", "redis"})
	case "K8s Secret Get Successfully":
		verb, resource = "get", "secrets"
		name = pick(rng, []string{"db-credentials", "stripe-api-key", "tls-frontend", "default-token-x2k4p"})
	case "All K8s Audit Events":
		verb = pick(rng, []string{"get", "list", "watch", "update"})
		resource = pick(rng, []string{"pods", "endpoints", "leases", "configmaps"})
	}
	uri := "/api/v1/namespaces/" + ns + "/" + resource + "/" + name
	switch resource {
	case "deployments":
		uri = "/apis/apps/v1/namespaces/" + ns + "/deployments/" + name
	case "clusterroles", "clusterrolebindings":
		uri = "/apis/rbac.authorization.k8s.io/v1/" + resource
	case "roles":
		uri = "/apis/rbac.authorization.k8s.io/v1/namespaces/" + ns + "/roles"
	case "namespaces":
		uri = "/api/v1/namespaces"
	case "":
		uri = pick(rng, []string{"/version", "/api", "/apis/apps/v1", "/openapi/v2"})
	}
	if verb == "create" && resource != "" && resource != "namespaces" && resource != "clusterroles" && resource != "clusterrolebindings" && resource != "roles" {
		uri = uri[:strings.LastIndexByte(uri, '/')]
	}
	if sub != "" {
		uri = "/api/v1/namespaces/" + ns + "/pods/" + name + "/" + sub + "?command=sh&container=web&stdin=true&stdout=true&tty=true"
	}
	switch key {
	case "ka.user.name":
		return user, true
	case "ka.verb":
		return verb, true
	case "ka.uri":
		return uri, true
	case "ka.response.code":
		return code, true
	case "ka.target.name", "ka.resp.name":
		if name == "" {
			return nil, true
		}
		return name, true
	case "ka.target.resource":
		if resource == "" {
			return nil, true
		}
		return resource, true
	case "ka.target.namespace":
		switch resource {
		case "", "namespaces", "clusterroles", "clusterrolebindings":
			return nil, true
		}
		return ns, true
	case "ka.target.subresource":
		if sub == "" {
			return nil, true
		}
		return sub, true
	case "ka.uri.param[command]":
		return pick(rng, []any{"sh", "bash", "/bin/sh"}), true
	case "ka.auth.decision":
		return decision, true
	case "ka.auth.reason":
		return reason, true
	case "ka.req.pod.containers.image":
		return image, true
	case "ka.req.service.ports":
		return `[{"name":"http","nodePort":30080,"port":80,"protocol":"TCP","targetPort":8080}]`, true
	case "ka.req.binding.subjects":
		return pick(rng, []any{`[{"kind":"ServiceAccount","name":"deployer","namespace":"ci"}]`, `[{"apiGroup":"rbac.authorization.k8s.io","kind":"User","name":"dev-bob"}]`}), true
	case "ka.req.role.rules":
		return `[{"apiGroups":["*"],"resources":["*"],"verbs":["*"]}]`, true
	case "jevt.value[/requestObject/spec/volumes]":
		return pick(rng, []any{
			`[{"hostPath":{"path":"/var/run/docker.sock","type":""},"name":"dockersock"}]`,
			`[{"hostPath":{"path":"/","type":""},"name":"host-root"}]`,
			`[{"hostPath":{"path":"/etc/kubernetes","type":"Directory"},"name":"k8s-etc"}]`,
		}), true
	case "jevt.obj":
		return fmt.Sprintf(`{"apiVersion":"audit.k8s.io/v1","kind":"Event","level":"Metadata","auditID":"%s-%s-%s-%s-%s","stage":"ResponseComplete","requestURI":"%s","verb":"%s","user":{"username":"%s","groups":["system:authenticated"]},"responseStatus":{"metadata":{},"code":%s}}`,
			hexish(rng, 8), hexish(rng, 4), hexish(rng, 4), hexish(rng, 4), hexish(rng, 12), uri, verb, user, code), true
	}
	return nil, false
}
