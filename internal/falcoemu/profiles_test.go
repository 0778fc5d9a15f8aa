// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package falcoemu

import "testing"

// A profile under a misspelt rule name would go unused while its rule fell back to a generic one.
func TestProfilesNameCatalogRules(t *testing.T) {
	names := map[string]bool{}
	for _, r := range catalog {
		names[r.Name] = true
	}
	for name, pr := range ruleProfiles {
		if !names[name] {
			t.Errorf("profiles.yaml: %q is no rule of the catalog", name)
		}
		if len(pr.procs) == 0 {
			t.Errorf("profiles.yaml: %q has no processes", name)
		}
	}
	for _, name := range []string{"network", "open", "other"} {
		if fallbackProfiles[name] == nil {
			t.Errorf("profiles.yaml: no fallback %q", name)
		}
	}
	if len(containerUsers) == 0 || len(hostDaemonUsers) == 0 || len(hostLoginUsers) == 0 || len(exePaths) == 0 {
		t.Error("profiles.yaml: a user set or exe_paths is missing")
	}
	if p := ruleProfiles["Terminal shell in container"].procs[0]; !p.tty || p.name != "bash" || p.anc != nil {
		t.Errorf("a !tty process read as %+v", p)
	}
}
