// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package falcofields // import "github.com/otelcol-falco/otelcol-falco/internal/falcofields"

import "strings"

// MitreKind tells what a rule tag says about MITRE ATT&CK.
type MitreKind uint8

const (
	NotMitre MitreKind = iota
	MitreTactic
	MitreTechnique
)

// tacticIDs are ATT&CK Enterprise's tactic ids under the names Falco's mitre_<tactic> tags use,
// so that TA0003 and mitre_persistence say the same thing.
var tacticIDs = map[string]string{
	"TA0043": "reconnaissance", "TA0042": "resource_development", "TA0001": "initial_access",
	"TA0002": "execution", "TA0003": "persistence", "TA0004": "privilege_escalation",
	"TA0005": "defense_evasion", "TA0006": "credential_access", "TA0007": "discovery",
	"TA0008": "lateral_movement", "TA0009": "collection", "TA0011": "command_and_control",
	"TA0010": "exfiltration", "TA0040": "impact",
}

// ParseMitre reads one rule tag in the forms Falco's rule sets use:
//
//	mitre_persistence       -> MitreTactic, "persistence"
//	TA0003                  -> MitreTactic, "persistence" (an unknown TA id stays as it is)
//	T1059, T1059.004        -> MitreTechnique, the id
//	T1562-impair-defenses   -> MitreTechnique, "T1562" (the name after the id is dropped)
//
// Any other tag (container, maturity_stable, PCI_DSS_11.5.1, NIST_800-53_AC-2) is NotMitre.
func ParseMitre(tag string) (MitreKind, string) {
	if tactic, ok := strings.CutPrefix(tag, "mitre_"); ok {
		if tactic == "" {
			return NotMitre, ""
		}
		return MitreTactic, tactic
	}
	if len(tag) < 5 || tag[0] != 'T' {
		return NotMitre, ""
	}
	if tag[1] == 'A' {
		if len(tag) == 6 && digits(tag[2:]) == 4 {
			if name, ok := tacticIDs[tag]; ok {
				return MitreTactic, name
			}
			return MitreTactic, tag
		}
		return NotMitre, ""
	}
	// T, four digits, optionally .three digits, optionally -name.
	n := 1 + digits(tag[1:])
	if n != 5 {
		return NotMitre, ""
	}
	if n < len(tag) && tag[n] == '.' {
		sub := digits(tag[n+1:])
		if sub != 3 {
			return NotMitre, ""
		}
		n += 1 + sub
	}
	switch {
	case n == len(tag):
		return MitreTechnique, tag
	case tag[n] == '-' && n+1 < len(tag):
		return MitreTechnique, tag[:n]
	}
	return NotMitre, ""
}

// digits counts the leading ASCII digits of s.
func digits(s string) int {
	n := 0
	for n < len(s) && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	return n
}
