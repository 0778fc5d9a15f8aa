// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package falcolabelprocessor // import "github.com/otelcol-falco/otelcol-falco/processor/falcolabelprocessor"

import (
	"encoding/binary"
	"hash/maphash"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// resourceClass is one distinct incoming resource of the batch. Equal resources share a class,
// so their records merge when they belong to the same workload. Classes are taken before any
// resource of the batch is changed.
type resourceClass struct {
	resource pcommon.Resource
	preset   []bool // per table.resourceTargets: the resource already has a value, keep it
}

// workload is one output resource: an incoming resource class plus identity values.
type workload struct {
	class  int32
	values []identityValue
}

type identityValue struct {
	target int32 // index into table.resourceTargets
	key    string
	value  mappedValue
}

// workloads assigns records to workloads within one batch.
type workloads struct {
	table    *table
	nodeName string
	seed     maphash.Seed

	classes     []resourceClass
	classByHash map[uint64][]int32
	byKey       map[string]int32
	list        []workload
	keyBuf      []byte
	last        int32 // workload of the previous record, -1 when none
}

func newWorkloads(t *table, nodeName string, seed maphash.Seed) *workloads {
	return &workloads{
		table:       t,
		nodeName:    nodeName,
		seed:        seed,
		classByHash: map[uint64][]int32{},
		byKey:       map[string]int32{},
		last:        -1,
	}
}

// reset forgets the previous batch, dropping its references to pdata.
func (w *workloads) reset() {
	clear(w.classes)
	w.classes = w.classes[:0]
	clear(w.classByHash)
	clear(w.byKey)
	clear(w.list)
	w.list = w.list[:0]
	w.last = -1
}

func (w *workloads) classOf(res pcommon.Resource) int32 {
	h := hashAttributes(w.seed, res.Attributes())
	for _, id := range w.classByHash[h] {
		if w.classes[id].resource.Attributes().Equal(res.Attributes()) {
			return id
		}
	}
	id := int32(len(w.classes))
	preset := make([]bool, len(w.table.resourceTargets))
	for i, tid := range w.table.resourceTargets {
		preset[i] = hasValue(res.Attributes(), w.table.targets[tid].key)
	}
	w.classes = append(w.classes, resourceClass{resource: res, preset: preset})
	w.classByHash[h] = append(w.classByHash[h], id)
	return id
}

// workloadOf returns the workload of the record just labeled by l.
func (w *workloads) workloadOf(class int32, l *labeler) int32 {
	// Falco alerts come in bursts from one workload: comparing with the previous record's
	// workload is cheaper than building and looking up the key.
	if w.last >= 0 && w.isWorkload(w.last, class, l) {
		return w.last
	}
	w.last = w.lookup(class, l)
	return w.last
}

// isWorkload reports whether the record just labeled by l, of class, belongs to workload id.
func (w *workloads) isWorkload(id, class int32, l *labeler) bool {
	wl := &w.list[id]
	if wl.class != class {
		return false
	}
	preset, values := w.classes[class].preset, wl.values
	for i, tid := range w.table.resourceTargets {
		if preset[i] {
			continue
		}
		v := l.resourceValue(tid)
		if v == nil {
			continue
		}
		if len(values) == 0 || values[0].target != int32(i) || !v.equal(&values[0].value) {
			return false
		}
		values = values[1:]
	}
	return len(values) == 0
}

// lookup finds or adds the workload of the record just labeled by l. The key is built in a
// reused buffer and looked up without converting it to a string, so known workloads cost no
// allocation.
func (w *workloads) lookup(class int32, l *labeler) int32 {
	preset := w.classes[class].preset
	buf := binary.AppendUvarint(w.keyBuf[:0], uint64(class))
	for i, tid := range w.table.resourceTargets {
		if preset[i] {
			continue // the resource's own value wins, so the record's does not tell workloads apart
		}
		if v := l.resourceValue(tid); v != nil {
			buf = binary.AppendUvarint(buf, uint64(i))
			buf = v.appendKey(buf)
		}
	}
	w.keyBuf = buf
	if id, ok := w.byKey[string(buf)]; ok {
		return id
	}

	id := int32(len(w.list))
	wl := workload{class: class}
	for i, tid := range w.table.resourceTargets {
		if preset[i] {
			continue
		}
		if v := l.resourceValue(tid); v != nil {
			wl.values = append(wl.values, identityValue{target: int32(i), key: w.table.targets[tid].key, value: *v})
		}
	}
	w.list = append(w.list, wl)
	w.byKey[string(buf)] = id
	return id
}

// applyIdentity writes the workload's identity and the configured node name onto res, never
// replacing a value the resource already has.
func (w *workloads) applyIdentity(res pcommon.Resource, id int32) {
	attrs := res.Attributes()
	for _, iv := range w.list[id].values {
		if !hasValue(attrs, iv.key) {
			iv.value.put(attrs, iv.key)
		}
	}
	w.applyNodeName(res)
}

// applyNodeName writes the configured node name unless the resource has one.
func (w *workloads) applyNodeName(res pcommon.Resource) {
	if w.nodeName != "" && !hasValue(res.Attributes(), targetK8sNodeName) {
		res.Attributes().PutStr(targetK8sNodeName, w.nodeName)
	}
}

// hashAttributes hashes a map independently of its order; callers confirm a match with Equal.
func hashAttributes(seed maphash.Seed, m pcommon.Map) uint64 {
	var sum uint64
	for k, v := range m.All() {
		sum += mix(maphash.String(seed, k), hashValue(seed, v))
	}
	return sum
}

func hashValue(seed maphash.Seed, v pcommon.Value) uint64 {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return maphash.String(seed, v.Str())
	case pcommon.ValueTypeInt:
		return maphash.Comparable(seed, v.Int())
	case pcommon.ValueTypeDouble:
		return maphash.Comparable(seed, v.Double())
	case pcommon.ValueTypeBool:
		return maphash.Comparable(seed, v.Bool())
	case pcommon.ValueTypeEmpty:
		return 0
	default: // slices, maps and bytes are rare in identities; AsString is canonical enough
		return maphash.String(seed, v.AsString()) ^ uint64(v.Type())
	}
}

func mix(a, b uint64) uint64 {
	h := a ^ (b * 0x9e3779b97f4a7c15)
	h ^= h >> 31
	return h * 0xbf58476d1ce4e5b9
}
