// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package falcolabelprocessor // import "github.com/otelcol-falco/otelcol-falco/processor/falcolabelprocessor"

import "go.opentelemetry.io/collector/pdata/pcommon"

// sameScope tells whether records of two scopes may share one scope after regrouping.
func sameScope(a, b pcommon.InstrumentationScope) bool {
	return a.Name() == b.Name() && a.Version() == b.Version() &&
		a.DroppedAttributesCount() == b.DroppedAttributesCount() &&
		a.Attributes().Equal(b.Attributes())
}

func allEqual(groups []int32) bool {
	for _, g := range groups[1:] {
		if g != groups[0] {
			return false
		}
	}
	return true
}

// growBools returns s with at least n elements, all false.
func growBools(s []bool, n int) []bool {
	if cap(s) < n {
		return make([]bool, n)
	}
	s = s[:n]
	clear(s)
	return s
}
