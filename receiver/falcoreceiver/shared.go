// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package falcoreceiver // import "github.com/otelcol-falco/otelcol-falco/receiver/falcoreceiver"

import (
	"sync"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/receiver"
)

// sharedReceivers hands the logs and the metrics pipeline the same receiver for one configuration:
// a Falco subscription must feed both, and Falco's queue would split alerts between two clients.
var sharedReceivers = &receiverRegistry{byConfig: map[*Config]*falcoReceiver{}}

type receiverRegistry struct {
	mu       sync.Mutex
	byConfig map[*Config]*falcoReceiver
}

func (rr *receiverRegistry) getOrCreate(cfg *Config, set receiver.Settings) (*falcoReceiver, error) {
	rr.mu.Lock()
	defer rr.mu.Unlock()
	if r, ok := rr.byConfig[cfg]; ok {
		return r, nil
	}
	r, err := newFalcoReceiver(cfg, set, func() { rr.remove(cfg) })
	if err != nil {
		return nil, err
	}
	rr.byConfig[cfg] = r
	return r, nil
}

// remove forgets a shut-down receiver so the same configuration can be started again (reloads).
func (rr *receiverRegistry) remove(cfg *Config) {
	rr.mu.Lock()
	defer rr.mu.Unlock()
	delete(rr.byConfig, cfg)
}

// statusFanout is the host the shared receiver's parts report status to. The collector gives each
// pipeline's instance of the receiver its own host, so a status reported to the first one only
// would leave the other pipeline's health unknown. Every host that starts the receiver gets every
// event, and one that starts later first gets the latest, so it knows the current state.
type statusFanout struct {
	component.Host // the first starter's: extensions are the same for every pipeline

	mu        sync.Mutex
	reporters []componentstatus.Reporter
	latest    *componentstatus.Event
}

var _ componentstatus.Reporter = (*statusFanout)(nil)

func newStatusFanout(first component.Host) *statusFanout {
	return &statusFanout{Host: first}
}

// join adds a pipeline's host; hosts that do not take status events are ignored.
func (s *statusFanout) join(host component.Host) {
	reporter, ok := host.(componentstatus.Reporter)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.latest != nil {
		reporter.Report(s.latest)
	}
	s.reporters = append(s.reporters, reporter)
}

// Report implements componentstatus.Reporter.
func (s *statusFanout) Report(e *componentstatus.Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latest = e
	for _, reporter := range s.reporters {
		reporter.Report(e)
	}
}
