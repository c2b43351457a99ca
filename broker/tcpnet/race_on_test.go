//go:build race

package tcpnet_test

// raceEnabled reports a -race build, whose instrumented crypto is an order of
// magnitude slower: the workloads shrink to keep each test within seconds.
const raceEnabled = true
