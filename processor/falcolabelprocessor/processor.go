// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package falcolabelprocessor // import "github.com/otelcol-falco/otelcol-falco/processor/falcolabelprocessor"

import (
	"hash/maphash"
	"sync"
)

// labelProcessor holds what every batch shares: the compiled table and the configuration.
type labelProcessor struct {
	table        *table
	keepOriginal bool
	nodeName     string
	seed         maphash.Seed
	batches      sync.Pool // *batch, so that scratch space is reused across calls
}

func newLabelProcessor(cfg *Config) *labelProcessor {
	return &labelProcessor{
		table:        compileTable(mergeMappings(defaultMappings, cfg.Mappings)),
		keepOriginal: cfg.KeepOriginal,
		nodeName:     cfg.K8sNodeName,
		seed:         maphash.MakeSeed(),
	}
}

// batch is the scratch state of one call; calls may run concurrently, each with its own batch.
type batch struct {
	lab       *labeler
	workloads *workloads
	classes   []int32 // per incoming resource
	groups    []int32 // per record (or data point) of the resource being regrouped
	counts    []int32 // per workload, for the resource being regrouped
	logs      logsRouter
	metrics   metricsRouter
}

func (p *labelProcessor) getBatch() *batch {
	if b, ok := p.batches.Get().(*batch); ok {
		return b
	}
	return &batch{
		lab:       newLabeler(p.table, p.keepOriginal),
		workloads: newWorkloads(p.table, p.nodeName, p.seed),
	}
}

func (p *labelProcessor) putBatch(b *batch) {
	b.lab.shapes.reset()
	b.workloads.reset()
	b.classes = b.classes[:0]
	b.groups = b.groups[:0]
	b.logs.reset()
	b.metrics.reset()
	p.batches.Put(b)
}

// home picks the workload that keeps the incoming resource: the one holding most of its
// records, so that the fewest records move.
func (b *batch) home() int32 {
	if n := len(b.workloads.list); len(b.counts) < n {
		b.counts = append(b.counts, make([]int32, n-len(b.counts))...)
	}
	best, bestCount := b.groups[0], int32(0)
	for _, g := range b.groups {
		b.counts[g]++
		if b.counts[g] > bestCount {
			best, bestCount = g, b.counts[g]
		}
	}
	for _, g := range b.groups { // leave counts zeroed without walking every workload
		b.counts[g] = 0
	}
	return best
}

// single reports whether every record of the resource belongs to one workload: the fast path.
func (b *batch) single() bool {
	for _, g := range b.groups[1:] {
		if g != b.groups[0] {
			return false
		}
	}
	return true
}

// homeWorkload is the workload that stays on the incoming resource.
func (b *batch) homeWorkload() int32 {
	if b.single() {
		return b.groups[0]
	}
	return b.home()
}
