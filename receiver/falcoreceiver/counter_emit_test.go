// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package falcoreceiver

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

func TestRefreshEvery(t *testing.T) {
	for _, tc := range []struct {
		interval time.Duration
		want     uint64
	}{
		{0, 1},
		{time.Second, 60},
		{10 * time.Second, 6},
		{25 * time.Second, 2},
		{time.Minute, 1},
		{5 * time.Minute, 1},
	} {
		assert.Equal(t, tc.want, refreshEvery(tc.interval), tc.interval)
	}
}

// TestCounterEmitsChangedAndRefreshes: after a first emission of every series, an emission sends
// the series that counted since, and unchanged ones in turns so that each is re-sent within
// refreshEvery emissions; a refused chunk's series stay due.
func TestCounterEmitsChangedAndRefreshes(t *testing.T) {
	cfg := testMetricsConfig()
	cfg.CollectionInterval = 20 * time.Second // refreshEvery 3
	c := newEventCounter(cfg, nil)
	alertFor := func(i int) *alert {
		a := terminalShellAlert()
		a.Rule = fmt.Sprintf("rule %d", i)
		return a
	}
	for i := range 9 {
		c.count([]*alert{alertFor(i)}, alertTime)
	}
	emit := func(refuse bool) (rules []string) {
		err := c.snapshotChunks(alertTime, 4, func(md pmetric.Metrics) error {
			for k := range pointsByAttrs(t, md) {
				rules = append(rules, k)
			}
			if refuse {
				return errors.New("refused")
			}
			return nil
		})
		if !refuse {
			require.NoError(t, err)
		}
		return rules
	}
	assert.Len(t, emit(true), 9, "every series is new")
	assert.Len(t, emit(false), 9, "the refused ones again")

	seen := map[string]int{}
	c.count([]*alert{alertFor(4)}, alertTime)
	for round := range 3 {
		got := emit(false)
		assert.Len(t, got, 3+boolInt(round == 0), "round %d: a third of the unchanged, and the changed one once", round)
		for _, k := range got {
			seen[k]++
		}
	}
	assert.Len(t, seen, 9, "every series re-sent within refreshEvery emissions")
	total := 0
	for _, n := range seen {
		total += n
	}
	assert.Equal(t, 10, total)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
