package spec

import (
	"runtime"
	"testing"
)

// TestHostileCountsAllocateLittle: an array head claiming millions of elements that
// the rest of the input cannot hold is rejected before memory is allocated for them
// (a faulty peer broker, client or exec could otherwise make a broker or client
// allocate gigabytes per frame).
func TestHostileCountsAllocateLittle(t *testing.T) {
	head := func(major byte, n uint32) []byte { // a 4-byte-length head
		return []byte{major<<5 | 26, byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}
	}
	filler := make([]byte, 1<<20) // 1 MiB of zero bytes (each a uint 0)
	const claim = 1<<20 - 64      // fits the bytes left, not the elements: each takes at least 3 bytes
	cases := []struct {
		name string
		kind uint64
		raw  []byte
	}{
		// Request: [[client, ts, ops…], sig]
		{"request ops", KindRequest, append(append([]byte{0x82, 0x83, 0x01, 0x01}, head(4, claim)...), filler...)},
		// Batch: [requests…]
		{"batch requests", KindBatch, append(append([]byte{0x81}, head(4, claim)...), filler...)},
	}
	for _, v := range []any{&StepInput{}, &StepOutput{}} { // a compartment's Step, or its broker's
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		err := Decode(append(append([]byte{0x81}, head(4, claim)...), filler...), v, 1<<30)
		runtime.ReadMemStats(&after)
		if err == nil {
			t.Fatalf("%T: a hostile count decoded", v)
		}
		if got := after.TotalAlloc - before.TotalAlloc; got > 8<<20 {
			t.Errorf("%T: decoding allocated %d MiB", v, got>>20)
		}
	}
	for _, tc := range cases {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		_, err := DecodeKind(tc.kind, tc.raw)
		runtime.ReadMemStats(&after)
		if err == nil {
			t.Fatalf("%s: a hostile count decoded", tc.name)
		}
		if got := after.TotalAlloc - before.TotalAlloc; got > 8<<20 {
			t.Errorf("%s: decoding allocated %d MiB", tc.name, got>>20)
		}
	}
	var rr ReplyResults
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	err := Decode(append(append([]byte{0x81}, head(4, claim)...), filler...), &rr, 1<<30)
	runtime.ReadMemStats(&after)
	if err == nil {
		t.Fatalf("reply results: a hostile count decoded")
	}
	if got := after.TotalAlloc - before.TotalAlloc; got > 8<<20 {
		t.Errorf("reply results: decoding allocated %d MiB", got>>20)
	}
}
