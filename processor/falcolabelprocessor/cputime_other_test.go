// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

//go:build !unix

package falcolabelprocessor

import "time"

func processCPUTime() time.Duration { return 0 }
