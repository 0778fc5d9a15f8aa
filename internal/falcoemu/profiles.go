// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package falcoemu

import (
	_ "embed"
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

// profiles.yaml holds the emulator's realism as data: which processes, users, files and
// connections each rule reports. Data, not code, so the Go beside it is only the field logic.
//
//go:embed profiles.yaml
var profilesYAML []byte

var (
	ruleProfiles     map[string]*profile // by rule name
	fallbackProfiles map[string]*profile // network, open, other: for rules without their own

	containerUsers  []usr // who runs a container's processes
	hostDaemonUsers []usr // who runs a host's services
	hostLoginUsers  []usr // who is logged in on a host
	exePaths        map[string]string
)

func init() {
	var doc struct {
		UserSets  map[string][]yamlUser   `yaml:"user_sets"`
		ExePaths  map[string]string       `yaml:"exe_paths"`
		Fallbacks map[string]*yamlProfile `yaml:"fallbacks"`
		Rules     map[string]*yamlProfile `yaml:"rules"`
	}
	if err := yaml.Unmarshal(profilesYAML, &doc); err != nil {
		panic("profiles.yaml: " + err.Error()) // embedded: the package's tests catch this first
	}
	containerUsers = users(doc.UserSets["container"])
	hostDaemonUsers = users(doc.UserSets["host_daemon"])
	hostLoginUsers = users(doc.UserSets["host_login"])
	exePaths = doc.ExePaths
	ruleProfiles = profiles(doc.Rules)
	fallbackProfiles = profiles(doc.Fallbacks)
}

// proc describes a process as Falco reports it, with its ancestry.
type proc struct {
	name, exe, cmd     string // proc.name, proc.exepath, proc.cmdline
	parent, pexe, pcmd string // proc.pname, proc.pexepath, proc.pcmdline
	anc                []string
	tty                bool
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

// profileFor returns the profile of a catalog rule (rule-specific, or by category).
func profileFor(r *Rule) *profile {
	if pr, ok := ruleProfiles[r.Name]; ok {
		return pr
	}
	switch {
	case r.HasTag("network") && len(r.EvtTypes) > 0 && r.EvtTypes[0] != "execve":
		return fallbackProfiles["network"]
	case len(r.EvtTypes) > 0 && strings.HasPrefix(r.EvtTypes[0], "open"):
		return fallbackProfiles["open"]
	}
	return fallbackProfiles["other"]
}

// UnmarshalYAML reads [name, exe, cmdline, parent name, parent exe, parent cmdline, ancestors...],
// tagged !tty for a process with a terminal.
func (p *proc) UnmarshalYAML(n *yaml.Node) error {
	var f []string
	if err := n.Decode(&f); err != nil {
		return err
	}
	if len(f) < 6 {
		return fmt.Errorf("line %d: a process is name, exe, cmdline and its parent's three", n.Line)
	}
	*p = proc{name: f[0], exe: f[1], cmd: f[2], parent: f[3], pexe: f[4], pcmd: f[5], tty: n.Tag == "!tty"}
	if len(f) > 6 {
		p.anc = f[6:]
	}
	return nil
}

type yamlUser struct {
	Name      *string `yaml:"name"`
	UID       int64   `yaml:"uid"`
	LoginUID  int64   `yaml:"loginuid"`
	LoginName *string `yaml:"loginname"`
	GID       int64   `yaml:"gid"`
	Group     *string `yaml:"group"`
}

type yamlProfile struct {
	Procs       []proc              `yaml:"procs"`
	Files       []string            `yaml:"files"`
	Raw         []string            `yaml:"raw"`
	Write       bool                `yaml:"write"`
	Net         *yamlNet            `yaml:"net"`
	Users       []yamlUser          `yaml:"users"`
	Interactive bool                `yaml:"interactive"`
	Cwd         []string            `yaml:"cwd"`
	Env         []string            `yaml:"env"`
	Paths2      []string            `yaml:"paths2"`
	Extra       map[string][]string `yaml:"extra"`
}

type yamlNet struct {
	L4      string   `yaml:"l4"`
	Inbound bool     `yaml:"inbound"`
	RPorts  []int64  `yaml:"rports"`
	RIPs    []string `yaml:"rips"`
	Names   []string `yaml:"names"`
}

func profiles(in map[string]*yamlProfile) map[string]*profile {
	out := make(map[string]*profile, len(in))
	for name, y := range in {
		pr := &profile{procs: y.Procs, files: y.Files, raw: y.Raw, write: y.Write, users: users(y.Users),
			interactive: y.Interactive, cwd: y.Cwd, env: y.Env, paths2: y.Paths2}
		if n := y.Net; n != nil {
			pr.net = &netProf{l4: n.L4, inbound: n.Inbound, rports: n.RPorts, rips: n.RIPs, names: n.Names}
		}
		if len(y.Extra) > 0 {
			pr.extra = map[string][]any{}
			for k, vs := range y.Extra {
				for _, v := range vs {
					pr.extra[k] = append(pr.extra[k], v)
				}
			}
		}
		out[name] = pr
	}
	return out
}

func users(in []yamlUser) []usr {
	var out []usr
	for _, u := range in {
		out = append(out, usr{name: orNil(u.Name), uid: u.UID, loginuid: u.LoginUID, loginname: orNil(u.LoginName),
			gid: u.GID, group: orNil(u.Group)})
	}
	return out
}

// orNil is Falco's "no value" (nil) for a field the YAML leaves out.
func orNil(s *string) any {
	if s == nil {
		return nil
	}
	return *s
}
