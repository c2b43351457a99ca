package tcpnet

import (
	"testing"
	"time"
)

// TestIDRate: each identity has its own bucket (burst, then rate), the host bucket
// bounds all of them together, and full buckets are forgotten beyond maxBuckets.
func TestIDRate(t *testing.T) {
	r := newIDRate(2, 3, 10, 5)
	t0 := time.Unix(1000, 0)
	for i := range 3 {
		if d := r.take(7, t0); d != 0 {
			t.Fatalf("take %d of identity 7's burst: wait %v", i, d)
		}
	}
	if d := r.take(7, t0); d != 500*time.Millisecond {
		t.Fatalf("identity 7 beyond its burst: wait %v, want 500ms (rate 2/s)", d)
	}
	if d := r.take(8, t0); d != 0 {
		t.Fatalf("identity 8 waits %v for identity 7's use", d)
	}
	if d := r.take(7, t0.Add(500*time.Millisecond)); d != 0 {
		t.Fatalf("identity 7 after its refill: wait %v", d)
	}
	for i := range 5 {
		if d := r.takeHost(t0); d != 0 {
			t.Fatalf("host take %d: wait %v", i, d)
		}
	}
	if d := r.takeHost(t0); d != 100*time.Millisecond {
		t.Fatalf("host beyond its burst: wait %v, want 100ms (rate 10/s)", d)
	}
	if d := r.take(^uint64(0), t0); d != 0 {
		t.Fatalf("the largest client id shares the host's bucket: wait %v", d)
	}
	for id := range uint64(maxBuckets) {
		r.take(100+id, t0)
	}
	r.take(1<<40, t0) // nothing has refilled: some are forgotten all the same
	if len(r.items) >= maxBuckets || len(r.items) < maxBuckets*7/8-1 {
		t.Fatalf("%d buckets kept beyond the bound with none full, want %d..%d", len(r.items), maxBuckets*7/8-1, maxBuckets-1)
	}
	r.take(1<<41, t0.Add(time.Hour)) // every bucket has refilled by then
	for id := range uint64(maxBuckets) {
		r.take(1<<42+id, t0.Add(time.Hour))
	}
	if len(r.items) > maxBuckets {
		t.Fatalf("%d buckets kept, bound %d", len(r.items), maxBuckets)
	}
}
