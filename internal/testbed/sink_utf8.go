// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package testbed // import "github.com/otelcol-falco/otelcol-falco/internal/testbed"

import (
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// invalidUTF8 names the first string of logs that is not valid UTF-8, or returns "".
func invalidUTF8(logs plog.Logs) string {
	rls := logs.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		rl := rls.At(i)
		if where := invalidInMap(rl.Resource().Attributes()); where != "" {
			return "resource attribute " + where
		}
		for j := 0; j < rl.ScopeLogs().Len(); j++ {
			sl := rl.ScopeLogs().At(j)
			if !utf8.ValidString(sl.Scope().Name()) {
				return "scope name"
			}
			lrs := sl.LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				lr := lrs.At(k)
				switch {
				case !utf8.ValidString(lr.SeverityText()), !utf8.ValidString(lr.EventName()):
					return "severity text or event name"
				case invalidInValue(lr.Body()) != "":
					return "body"
				}
				if where := invalidInMap(lr.Attributes()); where != "" {
					return "attribute " + where
				}
			}
		}
	}
	return ""
}

func invalidInMap(m pcommon.Map) (where string) {
	m.Range(func(k string, v pcommon.Value) bool {
		if !utf8.ValidString(k) {
			where = "key"
		} else if w := invalidInValue(v); w != "" {
			where = k + w
		}
		return where == ""
	})
	return where
}

func invalidInValue(v pcommon.Value) string {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		if !utf8.ValidString(v.Str()) {
			return " (string)"
		}
	case pcommon.ValueTypeMap:
		if w := invalidInMap(v.Map()); w != "" {
			return "." + w
		}
	case pcommon.ValueTypeSlice:
		for i := 0; i < v.Slice().Len(); i++ {
			if w := invalidInValue(v.Slice().At(i)); w != "" {
				return "[]" + w
			}
		}
	}
	return ""
}
