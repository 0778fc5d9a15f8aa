// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package testbed

import (
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/prometheus/procfs"
)

// ProcessUsage is what /proc tells about a process the tests and the bench started (Linux only).
type ProcessUsage struct {
	CPU     time.Duration // user + system time so far
	PeakRSS uint64        // VmHWM in bytes: the high-water mark since start or ResetPeakRSS
	RSSAnon uint64        // anonymous resident bytes: heap and stacks, without file pages
	RSSFile uint64        // file-backed resident bytes, such as a queue's memory-mapped file
}

// ReadProcessUsage reads pid's CPU time and memory from /proc.
func ReadProcessUsage(pid int) (ProcessUsage, error) {
	p, err := procfs.NewProc(pid)
	if err != nil {
		return ProcessUsage{}, err
	}
	stat, err := p.Stat()
	if err != nil {
		return ProcessUsage{}, err
	}
	status, err := p.NewStatus()
	if err != nil {
		return ProcessUsage{}, err
	}
	return ProcessUsage{
		CPU:     time.Duration(stat.CPUTime() * float64(time.Second)),
		PeakRSS: status.VmHWM,
		RSSAnon: status.RssAnon,
		RSSFile: status.RssFile,
	}, nil
}

// ResetPeakRSS starts a new VmHWM high-water mark for pid (clear_refs "5").
func ResetPeakRSS(pid int) error {
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0)
}

// MemorySampler follows the peaks of a process's anonymous and file-backed resident memory,
// which /proc keeps no high-water mark of.
type MemorySampler struct {
	mu         sync.Mutex
	anon, file uint64
	stop       chan struct{}
	done       chan struct{}
}

// SampleMemory reads pid's memory every interval until Stop.
func SampleMemory(pid int, interval time.Duration) *MemorySampler {
	s := &MemorySampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			s.Sample(pid)
			select {
			case <-s.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return s
}

// Sample reads pid's memory once into the peaks.
func (s *MemorySampler) Sample(pid int) {
	u, err := ReadProcessUsage(pid)
	if err != nil {
		return
	}
	s.mu.Lock()
	s.anon, s.file = max(s.anon, u.RSSAnon), max(s.file, u.RSSFile)
	s.mu.Unlock()
}

// Peaks returns the highest anonymous and file-backed resident bytes seen so far.
func (s *MemorySampler) Peaks() (anon, file uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.anon, s.file
}

// Stop ends the sampling (once) and returns the peaks.
func (s *MemorySampler) Stop() (anon, file uint64) {
	select {
	case <-s.stop:
	default:
		close(s.stop)
	}
	<-s.done
	return s.Peaks()
}
