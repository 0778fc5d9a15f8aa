// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package falcoreceiver // import "github.com/otelcol-falco/otelcol-falco/receiver/falcoreceiver"

import (
	"sync"

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
