// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package falcoreceiver // import "github.com/otelcol-falco/otelcol-falco/receiver/falcoreceiver"

import (
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-falco/otelcol-falco/internal/falcofields"
	"github.com/otelcol-falco/otelcol-falco/receiver/falcoreceiver/internal/metadata"
)

// prioritySeverity maps Falco priorities onto the OpenTelemetry logs data model's syslog table.
var prioritySeverity = [...]plog.SeverityNumber{
	priorityEmergency:     plog.SeverityNumberFatal4,
	priorityAlert:         plog.SeverityNumberFatal3,
	priorityCritical:      plog.SeverityNumberFatal,
	priorityError:         plog.SeverityNumberError,
	priorityWarning:       plog.SeverityNumberWarn,
	priorityNotice:        plog.SeverityNumberInfo2,
	priorityInformational: plog.SeverityNumberInfo,
	priorityDebug:         plog.SeverityNumberDebug,
}

// alertsToLogs turns alerts into log records, one ResourceLogs per Falco host, in arrival order
// within each host. It is pure: the same alerts and receipt time give the same logs.
func alertsToLogs(alerts []*alert, observed time.Time) plog.Logs {
	logs := plog.NewLogs()
	obs := pcommon.NewTimestampFromTime(observed)
	byHost := map[string]plog.LogRecordSlice{}
	for i, a := range alerts {
		records, ok := byHost[a.Hostname]
		if !ok {
			records = newAlertResource(logs, a.Hostname)
			if len(byHost) == 0 {
				// Room for the rest of the batch: exact for the usual one Falco host, and the
				// record slice is not regrown (and copied) log2(batch) times. Only the first
				// host's: reserving the rest for every further host would cost a batch of
				// alerts from n hosts ~n²/2 record slots, kept as long as the logs are.
				records.EnsureCapacity(len(alerts) - i)
			}
			byHost[a.Hostname] = records
		}
		fillLogRecord(records.AppendEmpty(), a, obs)
	}
	return logs
}

// newAlertResource adds the resource of one Falco host and returns its record slice.
func newAlertResource(logs plog.Logs, hostname string) plog.LogRecordSlice {
	rl := logs.ResourceLogs().AppendEmpty()
	putResource(rl.Resource().Attributes(), hostname)
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName(metadata.ScopeName)
	return sl.LogRecords()
}

// putResource writes the resource identity shared by an alert's logs and metrics.
func putResource(attrs pcommon.Map, hostname string) {
	attrs.PutStr(attrServiceName, serviceName)
	if hostname != "" {
		attrs.PutStr(attrHostName, hostname)
	}
}

// fillLogRecord writes one alert into an empty log record.
func fillLogRecord(lr plog.LogRecord, a *alert, observed pcommon.Timestamp) {
	if !a.Time.IsZero() {
		lr.SetTimestamp(pcommon.NewTimestampFromTime(a.Time))
	}
	lr.SetObservedTimestamp(observed)
	lr.SetEventName(eventName)
	lr.Body().SetStr(alertBody(a))
	if a.Priority.valid() {
		lr.SetSeverityNumber(prioritySeverity[a.Priority])
		lr.SetSeverityText(a.Priority.String())
	}

	attrs := lr.Attributes()
	// Exactly what is written below: growing past it would double and copy the whole slice.
	attrs.EnsureCapacity(4 + mitreAttrCount(a.Tags) + len(a.Fields))
	attrs.PutStr(attrRule, a.Rule)
	attrs.PutStr(attrPriority, a.Priority.lower())
	attrs.PutStr(attrSource, a.Source)
	tags := attrs.PutEmptySlice(attrTags)
	tags.EnsureCapacity(len(a.Tags))
	for _, t := range a.Tags {
		tags.AppendEmpty().SetStr(t)
	}
	putMitre(attrs, a.Tags)
	for i := range a.Fields {
		putField(attrs, &a.Fields[i])
	}
}

// putMitre adds the MITRE ATT&CK tactics and techniques an alert's rule carries in its tags, in
// every form Falco's rule sets use (falcofields.ParseMitre), each once: a rule tagged both
// mitre_persistence and TA0003 has the one tactic persistence.
func putMitre(attrs pcommon.Map, tags []string) {
	var tactics, techniques pcommon.Slice
	for _, t := range tags {
		switch kind, v := falcofields.ParseMitre(t); kind {
		case falcofields.MitreTactic:
			if tactics == (pcommon.Slice{}) {
				tactics = attrs.PutEmptySlice(attrMitreTactics)
			}
			appendOnce(tactics, v)
		case falcofields.MitreTechnique:
			if techniques == (pcommon.Slice{}) {
				techniques = attrs.PutEmptySlice(attrMitreTechniques)
			}
			appendOnce(techniques, v)
		case falcofields.NotMitre:
		}
	}
}

// appendOnce appends v unless s holds it; a rule has a handful of MITRE tags.
func appendOnce(s pcommon.Slice, v string) {
	for i := 0; i < s.Len(); i++ {
		if s.At(i).Str() == v {
			return
		}
	}
	s.AppendEmpty().SetStr(v)
}

// mitreAttrCount is how many attributes putMitre adds for tags: 0, 1 or 2.
func mitreAttrCount(tags []string) int {
	tactics, techniques := 0, 0
	for _, t := range tags {
		switch kind, _ := falcofields.ParseMitre(t); kind {
		case falcofields.MitreTactic:
			tactics = 1
		case falcofields.MitreTechnique:
			techniques = 1
		case falcofields.NotMitre:
		}
	}
	return tactics + techniques
}

// alertBody is Falco's output, or its message when the output property is turned off
// (json_include_output_property: false, which Falco's own falco.yaml suggests to save volume).
func alertBody(a *alert) string {
	if a.Output != "" {
		return a.Output
	}
	return a.Message
}

func putField(attrs pcommon.Map, f *field) {
	switch f.Value.Kind {
	case kindInt:
		attrs.PutInt(f.Key, f.Value.Int)
	case kindDouble:
		attrs.PutDouble(f.Key, f.Value.Double)
	case kindBool:
		attrs.PutBool(f.Key, f.Value.Bool)
	case kindList:
		putList(attrs.PutEmptySlice(f.Key), f.Value.List)
	default:
		attrs.PutStr(f.Key, f.Value.Str)
	}
}

// putList writes a list field's items with their JSON types, so a SIEM sees a list of images,
// not the text of a JSON array.
func putList(s pcommon.Slice, items []fieldValue) {
	s.EnsureCapacity(len(items))
	for i := range items {
		v := s.AppendEmpty()
		switch it := &items[i]; it.Kind {
		case kindInt:
			v.SetInt(it.Int)
		case kindDouble:
			v.SetDouble(it.Double)
		case kindBool:
			v.SetBool(it.Bool)
		default:
			v.SetStr(it.Str)
		}
	}
}
