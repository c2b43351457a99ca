package swarm

import (
	"os"
	"runtime/debug"
	"testing"
)

// TestMain runs the swarm with a lazier garbage collector: a run allocates many
// short-lived messages and keeps little, and the CI set is CPU-bound (about a fifth of
// its time went to the collector at the default setting).
func TestMain(m *testing.M) {
	debug.SetGCPercent(400)
	os.Exit(m.Run())
}
