package broker

import (
	"slices"
	"testing"

	"github.com/splitbft/splitbft/spec"
)

// TestDeferredSignatureCheck: a backup's broker checks a request's client signature
// (R5) when its timer expires, not on arrival (SPEC.md §13.3 obligation 5). An expired
// request with a bad signature suspects nobody and makes its client's later requests
// be verified on arrival; an expired genuine request suspects the primary.
func TestDeferredSignatureCheck(t *testing.T) {
	h := newHarness(t, 1, Options{RequestTimeoutTicks: 3})
	_, q := h.w.request(t, 0, 5)
	bad := *q
	bad.Sig[0] ^= 1
	h.r.HandleClient(spec.Encode(&bad))
	h.r.Flush()
	if m := h.r.Metrics(); m.Forwarded != 1 || m.BadRequests != 0 || h.r.Sizes().Pending != 1 {
		t.Fatalf("on arrival: forwarded %d, bad %d, pending %d; want 1, 0, 1", m.Forwarded, m.BadRequests, h.r.Sizes().Pending)
	}
	h.ticks(4)
	if m := h.r.Metrics(); m.Suspects != 0 || m.BadRequests != 1 || h.r.Sizes().Pending != 0 {
		t.Fatalf("after expiry: suspects %d, bad %d, pending %d; want 0, 1, 0", m.Suspects, m.BadRequests, h.r.Sizes().Pending)
	}
	// Client 0 is now verified on arrival: a bad signature is dropped, a good one goes.
	bad.Body.Timestamp = 6
	h.r.HandleClient(spec.Encode(&bad))
	good, _ := h.w.request(t, 0, 7)
	h.r.HandleClient(good)
	if m := h.r.Metrics(); m.Forwarded != 2 || m.BadRequests != 2 {
		t.Fatalf("after marking: forwarded %d, bad %d; want 2, 2", m.Forwarded, m.BadRequests)
	}
	// A genuine request whose timer expires suspects the primary (with f = 1 other
	// broker suspecting the view too: suspicion gating).
	h.peer(2, KindHint, &Hint{View: 0, Active: true, Suspect: true})
	h.ticks(4)
	if m := h.r.Metrics(); m.Suspects != 1 {
		t.Fatalf("a genuine request's expiry delivered %d suspects, want 1", m.Suspects)
	}
}

// TestPrepBadSignature: when prep rejects a request of a client batch for its
// signature, the primary's broker verifies that client's requests on arrival from then
// on, and the genuine request with the same timestamp is batched when it comes.
func TestPrepBadSignature(t *testing.T) {
	h := newHarness(t, 0, Options{BatchSize: 1})
	prep := h.enc[spec.RolePrep]
	prep.script = func(f *fakeEnclave, in spec.Input) []spec.Output {
		b, _ := spec.DecodeKind(in.Kind, in.Body)
		if bt, ok := b.(*spec.Batch); ok && bt.Requests[0].Sig[0] == 0 {
			rj := spec.Rejection{Index: 0, Kind: in.Kind, Code: spec.CodeBadSignature, Sub: 1}
			return []spec.Output{{Kind: spec.KindReject, Body: spec.Encode(&rj)}}
		}
		return nil
	}
	raw, q := h.w.request(t, 0, 1)
	bad := *q
	bad.Sig[0] = 0
	if q.Sig[0] == 0 {
		t.Skip("the fixture's signature starts with 0") // deterministic fixture: never
	}
	h.r.HandleClient(spec.Encode(&bad)) // not verified on arrival: batched
	h.r.Flush()
	h.r.HandleClient(raw) // same timestamp, genuine: batched too
	h.r.Flush()
	bad.Body.Timestamp = 2
	h.r.HandleClient(spec.Encode(&bad)) // client 0 is now verified on arrival: dropped
	h.r.Flush()
	if got := batchSizes(t, prep); !slices.Equal(got, []int{1, 1}) || h.r.Metrics().BadRequests != 1 {
		t.Fatalf("batches %v, bad %d; want [1 1], 1", got, h.r.Metrics().BadRequests)
	}
}
