// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package falcolabelprocessor // import "github.com/otelcol-falco/otelcol-falco/processor/falcolabelprocessor"

import (
	"context"

	"go.opentelemetry.io/collector/pdata/plog"
)

func (p *labelProcessor) processLogs(_ context.Context, ld plog.Logs) (plog.Logs, error) {
	b := p.getBatch()
	defer p.putBatch(b)

	rls := ld.ResourceLogs()
	n := rls.Len() // resources appended while regrouping are destinations, already labeled
	for i := 0; i < n; i++ {
		b.classes = append(b.classes, b.workloads.classOf(rls.At(i).Resource()))
	}
	b.logs.emptied = growBools(b.logs.emptied, n)
	moved := false
	for i := 0; i < n; i++ {
		moved = b.regroupLogs(rls, i) || moved
	}
	if moved {
		i := 0
		rls.RemoveIf(func(plog.ResourceLogs) bool {
			emptied := i < n && b.logs.emptied[i]
			i++
			return emptied
		})
	}
	return ld, nil
}

// regroupLogs labels the records of incoming resource i and moves those of other workloads than
// its home workload to their own resource. It reports whether any record moved.
func (b *batch) regroupLogs(rls plog.ResourceLogsSlice, i int) bool {
	rl := rls.At(i)
	class := b.classes[i]
	b.groups = b.groups[:0]
	sls := rl.ScopeLogs()
	for j := 0; j < sls.Len(); j++ {
		records := sls.At(j).LogRecords()
		for k := 0; k < records.Len(); k++ {
			b.lab.label(records.At(k).Attributes())
			b.groups = append(b.groups, b.workloads.workloadOf(class, b.lab))
		}
	}
	if len(b.groups) == 0 {
		b.workloads.applyNodeName(rl.Resource())
		return false
	}

	r := &b.logs
	r.grow(len(b.workloads.list))
	home := b.homeWorkload()
	stay := !r.hasDest[home] // else an earlier resource already holds the home workload
	r.scopeEmptied = growBools(r.scopeEmptied, sls.Len())
	moved, offset := false, 0
	for j := 0; j < sls.Len(); j++ {
		sl := sls.At(j)
		groups := b.groups[offset : offset+sl.LogRecords().Len()]
		offset += len(groups)
		scopeMoved, emptied := r.moveScope(b.workloads, rls, rl, sl, groups, home, stay)
		moved = moved || scopeMoved
		r.scopeEmptied[j] = emptied
	}
	if stay { // after the moves: destinations copy the incoming resource as it came
		r.dest[home], r.hasDest[home] = rl, true
		b.workloads.applyIdentity(rl.Resource(), home)
	}
	if moved {
		j := 0
		sls.RemoveIf(func(plog.ScopeLogs) bool {
			emptied := r.scopeEmptied[j]
			j++
			return emptied
		})
		r.emptied[i] = sls.Len() == 0
	}
	return moved
}

// logsRouter knows, within one batch, which resource holds each workload's records.
type logsRouter struct {
	dest    []plog.ResourceLogs // per workload
	hasDest []bool

	// Destination scope per workload for the incoming scope being moved, valid when
	// scopeGen[workload] == gen.
	scopeOf  []plog.ScopeLogs
	scopeGen []uint32
	gen      uint32

	// Records of the scope being moved that go to each workload, so that a destination grows
	// once instead of doubling as records arrive; zeroed by scopeFor.
	moving []int32

	emptied      []bool // per incoming resource: every record moved out
	scopeEmptied []bool // per scope of the resource being regrouped
}

func (r *logsRouter) reset() {
	clear(r.dest)
	clear(r.hasDest)
	clear(r.scopeOf)
	clear(r.scopeGen)
	clear(r.moving)
	r.gen = 0
}

func (r *logsRouter) grow(workloads int) {
	for len(r.dest) < workloads {
		r.dest = append(r.dest, plog.ResourceLogs{})
		r.hasDest = append(r.hasDest, false)
		r.scopeOf = append(r.scopeOf, plog.ScopeLogs{})
		r.scopeGen = append(r.scopeGen, 0)
		r.moving = append(r.moving, 0)
	}
}

// moveScope moves the records of sl that do not stay to their workloads' resources. A scope that
// goes whole to one workload moves as one slice, without touching its records.
func (r *logsRouter) moveScope(w *workloads, rls plog.ResourceLogsSlice, rl plog.ResourceLogs, sl plog.ScopeLogs,
	groups []int32, home int32, stay bool,
) (moved, emptied bool) {
	if len(groups) == 0 {
		return false, false
	}
	r.gen++
	stays := func(g int32) bool { return stay && g == home }
	records := sl.LogRecords()
	if !stays(groups[0]) && allEqual(groups) {
		records.MoveAndAppendTo(r.scopeFor(w, rls, rl, sl, groups[0]).LogRecords())
		return true, true
	}
	for _, g := range groups {
		if !stays(g) {
			r.moving[g]++
		}
	}
	for k, g := range groups {
		if !stays(g) {
			records.At(k).MoveTo(r.scopeFor(w, rls, rl, sl, g).LogRecords().AppendEmpty())
			moved = true
		}
	}
	if moved {
		k := 0
		records.RemoveIf(func(plog.LogRecord) bool {
			gone := !stays(groups[k])
			k++
			return gone
		})
	}
	return moved, moved && records.Len() == 0
}

func (r *logsRouter) scopeFor(w *workloads, rls plog.ResourceLogsSlice, rl plog.ResourceLogs, sl plog.ScopeLogs, g int32) plog.ScopeLogs {
	if r.scopeGen[g] == r.gen {
		return r.scopeOf[g]
	}
	s := r.findScope(w, rls, rl, sl, g)
	records := s.LogRecords()
	records.EnsureCapacity(records.Len() + int(r.moving[g]))
	r.moving[g] = 0
	r.scopeOf[g], r.scopeGen[g] = s, r.gen
	return s
}

// findScope returns workload g's scope equal to sl, adding it (and g's resource) if needed.
func (r *logsRouter) findScope(w *workloads, rls plog.ResourceLogsSlice, rl plog.ResourceLogs, sl plog.ScopeLogs, g int32) plog.ScopeLogs {
	if !r.hasDest[g] {
		dest := rls.AppendEmpty()
		rl.Resource().CopyTo(dest.Resource())
		dest.SetSchemaUrl(rl.SchemaUrl())
		w.applyIdentity(dest.Resource(), g)
		r.dest[g], r.hasDest[g] = dest, true
	}
	scopes := r.dest[g].ScopeLogs()
	for j := 0; j < scopes.Len(); j++ {
		if s := scopes.At(j); s.SchemaUrl() == sl.SchemaUrl() && sameScope(s.Scope(), sl.Scope()) {
			return s
		}
	}
	s := scopes.AppendEmpty()
	sl.Scope().CopyTo(s.Scope())
	s.SetSchemaUrl(sl.SchemaUrl())
	return s
}
