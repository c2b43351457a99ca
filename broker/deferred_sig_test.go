package broker

import (
	"slices"
	"testing"

	"github.com/splitbft/splitbft/spec"
)

// TestBackupVerifiesBeforeForwarding: a backup's broker checks a client request's
// signature (R5) on arrival, before it forwards the request or starts its timer
// (SPEC.md §13.3 obligation 5): junk from a faulty client, even with ever newer
// timestamps that would keep replacing a pending timer, is dropped there and never
// relayed, so it cannot spend this backup's relay budget at the primary; a genuine
// request is forwarded, and its expiry suspects the primary (with f = 1 other broker
// suspecting the view too: suspicion gating).
func TestBackupVerifiesBeforeForwarding(t *testing.T) {
	h := newHarness(t, 1, Options{RequestTimeoutTicks: 3})
	for ts := uint64(5); ts < 55; ts++ {
		_, q := h.w.request(t, 0, ts)
		bad := *q
		bad.Sig[0] ^= 1
		h.r.HandleClient(spec.Encode(&bad))
		h.ticks(1)
	}
	h.r.Flush()
	if m := h.r.Metrics(); m.Forwarded != 0 || m.BadRequests != 50 || m.Suspects != 0 || h.r.Sizes().Pending != 0 {
		t.Fatalf("junk: forwarded %d, bad %d, suspects %d, pending %d; want 0, 50, 0, 0", m.Forwarded, m.BadRequests, m.Suspects, h.r.Sizes().Pending)
	}
	good, _ := h.w.request(t, 0, 60)
	h.r.HandleClient(good)
	h.r.Flush()
	if m := h.r.Metrics(); m.Forwarded != 1 || h.r.Sizes().Pending != 1 {
		t.Fatalf("genuine: forwarded %d, pending %d; want 1, 1", m.Forwarded, h.r.Sizes().Pending)
	}
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

// TestFormerPrimaryRelaysOnlyVerified: the primary's broker batches its own clients'
// requests unverified, but when its prep enters a view in which it is a backup it
// relays its queue and pending requests to the new primary only after checking R5
// (SPEC.md §13.3 obligation 5): a faulty client's bad signature must not reach the new
// primary as a relay from a correct broker, which would spend that broker's relay
// budget there. The genuine request is relayed.
func TestFormerPrimaryRelaysOnlyVerified(t *testing.T) {
	h := newHarness(t, 0, Options{BatchTicks: 1 << 20, PipelineDepth: -1})
	_, q := h.w.request(t, 0, 7)
	bad := *q
	bad.Sig[0] ^= 1
	h.r.HandleClient(spec.Encode(&bad))
	good, _ := h.w.request(t, 1, 9)
	h.r.HandleClient(good)
	if n := h.r.Sizes().BatchQueue; n != 2 {
		t.Fatalf("%d requests queued unverified, want 2", n)
	}
	st := h.r.status[spec.RolePrep]
	st.View = 1
	h.r.onStatus(spec.RolePrep, st)
	relayed := 0
	for _, s := range h.net.sent {
		m, body, err := DecodePeer(s.msg)
		if err != nil || m.Kind != spec.KindRequest {
			continue
		}
		if r := body.(*spec.Request); s.to != 1 || r.Body.Client != h.w.clients[1].ID {
			t.Fatalf("relayed client %d's request to replica %d; want only client %d's, to 1", r.Body.Client, s.to, h.w.clients[1].ID)
		}
		relayed++
	}
	if relayed == 0 || h.r.Metrics().BadRequests == 0 {
		t.Fatalf("relayed %d genuine requests, %d bad dropped; want some of each", relayed, h.r.Metrics().BadRequests)
	}
}
