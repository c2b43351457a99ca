package prepa

import (
	"fmt"
	"testing"

	"github.com/splitbft/splitbft/internal/agreea"
	"github.com/splitbft/splitbft/internal/stdcrypto/fixture"
	"github.com/splitbft/splitbft/spec"
)

// batch200 returns a primary harness and a 200-request batch in which every 7th
// request has a bad signature.
func batch200(tb testing.TB) (*harness, []spec.Request) {
	h := newHarness(tb, 0, fixture.Options{Seed: 60, MaxBatchRequests: 256})
	var reqs []spec.Request
	for i := uint64(0); i < 200; i++ {
		r := h.c.Request(h.c.ClientIDs()[i%3], 1+i, 1)
		if i%7 == 3 {
			r.Sig[10] ^= 1
		}
		reqs = append(reqs, r)
	}
	return h, reqs
}

// TestParallelVerifyMatchesSequential: the verdicts of parallel verification are
// exactly those of sequential verification, for every worker count.
func TestParallelVerifyMatchesSequential(t *testing.T) {
	h, reqs := batch200(t)
	h.p.workers = 1
	want := fmt.Sprint(h.p.checkRequests(reqs))
	for _, w := range []int{2, 3, 8, 199, 200, 300} {
		h.p.workers = w
		if got := fmt.Sprint(h.p.checkRequests(reqs)); got != want {
			h.Fatalf("workers %d: %s, want %s", w, got, want)
		}
	}
	for j, code := range h.p.checkRequests(reqs) {
		if (code == spec.CodeBadSignature) != (j%7 == 3) || (code != 0 && code != spec.CodeBadSignature) {
			h.Fatalf("request %d: code %d", j, code)
		}
	}
}

// BenchmarkClientBatch compares sequential and parallel verification of the client
// signatures of a 200-request batch (R1–R5), the dominant cost of a primary's Step.
func BenchmarkClientBatch(b *testing.B) {
	h, reqs := batch200(b)
	for _, w := range []int{1, max(2, agreea.DefaultWorkers())} {
		name := "sequential"
		if w > 1 {
			name = fmt.Sprintf("parallel-%d", w)
		}
		b.Run(name, func(b *testing.B) {
			h.p.workers = w
			for b.Loop() {
				h.p.checkRequests(reqs)
			}
		})
	}
}
