package tcpnet

import (
	"testing"
	"time"
)

// TestLazyDeadline: the deadline is set on first use, kept while at least half of d
// is left, and moved to now+d once less is left (also after it passed).
func TestLazyDeadline(t *testing.T) {
	var sets []time.Time
	dl := lazyDeadline{set: func(at time.Time) error { sets = append(sets, at); return nil }}
	t0 := time.Unix(1_000_000, 0)
	const d = 10 * time.Second
	steps := []struct {
		after time.Duration // since t0
		want  time.Duration // deadline after refresh, since t0
		set   bool
	}{
		{0, d, true},
		{time.Second, d, false},
		{5 * time.Second, d, false},                     // exactly d/2 left: kept
		{5*time.Second + 1, 15*time.Second + 1, true},   // less than d/2 left
		{10*time.Second + 1, 15*time.Second + 1, false}, // d/2 left again: kept
		{11 * time.Second, 21 * time.Second, true},
		{time.Minute, time.Minute + d, true}, // long idle: the old deadline passed
	}
	for i, s := range steps {
		n := len(sets)
		dl.refreshAt(t0.Add(s.after), d)
		if got := dl.at.Sub(t0); got != s.want {
			t.Fatalf("step %d (t0+%v): deadline t0+%v, want t0+%v", i, s.after, got, s.want)
		}
		if set := len(sets) > n; set != s.set {
			t.Fatalf("step %d (t0+%v): set called = %v, want %v", i, s.after, set, s.set)
		}
		if s.set && !sets[len(sets)-1].Equal(dl.at) {
			t.Fatalf("step %d: set %v, recorded %v", i, sets[len(sets)-1], dl.at)
		}
	}
}
