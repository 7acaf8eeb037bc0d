//go:build !linux

package ticket

import "time"

func threadCPU() (time.Duration, bool) { return 0, false }
