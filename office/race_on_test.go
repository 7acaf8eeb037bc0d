//go:build race

package office_test

// raceBuild: the race detector slows every goroutine several times, so
// latency targets are not measured under it.
const raceBuild = true
