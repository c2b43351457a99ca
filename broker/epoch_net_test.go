package broker

import (
	"testing"

	"github.com/splitbft/splitbft/spec"
)

// A four-broker test of admission across the peer wire (SPEC.md §17.5): replica 3
// rejoins with fresh compartments; replicas 0..2 run fake execs that attest and,
// when told, end the epoch and deal a group key share to the new exec. Everything
// between brokers goes through HandlePeer as encoded PeerMsgs.

// pump delivers every peer message sent by any harness, until none is left.
func pump(t *testing.T, hs []*harness) {
	t.Helper()
	pumpDrop(t, hs, nil)
}

// pumpDrop is pump that loses the messages drop selects (drop may be nil).
func pumpDrop(t *testing.T, hs []*harness, drop func(kind uint64) bool) {
	t.Helper()
	for round := 0; ; round++ {
		if round > 100 {
			t.Fatal("peer messages keep flowing")
		}
		moved := false
		for from, h := range hs {
			sent := h.net.sent
			h.net.sent = nil
			for _, s := range sent {
				moved = true
				if m, _, err := DecodePeer(s.msg); drop != nil && err == nil && drop(m.Kind) {
					continue
				}
				hs[s.to].r.HandlePeer(uint64(from), s.msg)
			}
		}
		for _, h := range hs {
			h.r.Flush()
		}
		if !moved {
			return
		}
	}
}

// attestingCluster returns brokers 0..2 over fake execs that attest every enrollment
// they are given, and replica 3 rejoining with fresh compartments.
func attestingCluster(t *testing.T, w *world) ([]*harness, *rejoin) {
	var hs []*harness
	for i := range uint64(3) {
		h := harnessIn(w, i, Options{})
		h.enc[spec.RoleExec].script = func(f *fakeEnclave, in spec.Input) []spec.Output {
			if in.Kind != spec.KindAttest {
				return nil
			}
			var e spec.Enrollment
			spec.Decode(in.Body, &e, spec.MaxMessageBytes)
			return []spec.Output{{Kind: spec.KindAttestation, Body: spec.Encode(w.attestation(i, &e))}}
		}
		hs = append(hs, h)
	}
	rj := newRejoin(t, w)
	return append(hs, rj.harness), rj
}

func TestAdmissionAcrossBrokers(t *testing.T) {
	w := epochWorld(t, 21)
	hs, rj := attestingCluster(t, w)
	pump(t, hs)
	if len(rj.ops) != 1 {
		t.Fatalf("%d admission submissions after the peers attested, want 1", len(rj.ops))
	}
	batches := 0
	for _, in := range hs[0].enc[spec.RolePrep].inputs() {
		batches += b2i(in.Kind == spec.KindClientBatch)
	}
	if batches != 1 {
		t.Fatalf("the primary's prep got %d client batches, want the admission request's", batches)
	}
	endEpoch(t, w, hs, rj)
	pump(t, hs)
	for i, h := range hs {
		if h.r.Config().Epoch != 1 {
			t.Fatalf("replica %d is in epoch %d", i, h.r.Config().Epoch)
		}
	}
	if len(rj.admitted) != 3 || rj.r.Admitting() {
		t.Fatalf("replica 3 admitted %v (admitting %v)", rj.admitted, rj.r.Admitting())
	}
	for role := range rj.enc {
		if ins := rj.enc[role].inputs(); len(ins) == 0 || ins[0].Kind != spec.KindConfigure {
			t.Fatalf("replica 3 %s got %v, want configure first", spec.RoleName(spec.Role(role)), rj.enc[role].kinds())
		}
	}
	for i := 1; i < 3; i++ {
		if countKind(hs[i].enc[spec.RolePrep].inputs(), spec.KindEpochChange) != 1 {
			t.Fatalf("replica %d prep did not get the epoch change", i)
		}
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// endEpoch has exec 0 end the epoch admitting rj's fresh compartments: on its next
// input it emits the epoch change (to every replica) and a group key share for the
// fresh exec (to replica 3).
func endEpoch(t *testing.T, w *world, hs []*harness, rj *rejoin) {
	next, ec := w.nextEpoch(t, []uint64{0, 1, 2}, rj.fresh[0].Enrollment, rj.fresh[1].Enrollment, rj.fresh[2].Enrollment)
	share := spec.GroupKeyShare{Dealer: next.Replicas[0].Exec.Body.BoxKey, Recipient: rj.fresh[2].Enrollment.Body.BoxKey, GroupKey: next.ExecGroupKey}
	done := false
	hs[0].enc[spec.RoleExec].script = func(*fakeEnclave, spec.Input) []spec.Output {
		if done {
			return nil
		}
		done = true
		return []spec.Output{
			{Kind: spec.KindEpochChange, To: spec.Destination{Roles: spec.ToPrep | spec.ToConf | spec.ToExec, Replicas: []uint64{0, 1, 2, 3}}, Body: spec.Encode(ec)},
			{Kind: spec.KindGroupKeyShares, Body: spec.Encode(&spec.GroupKeyShares{Shares: []spec.GroupKeyShare{share}})},
		}
	}
	hs[0].peer(1, spec.KindCommit, &spec.Commit{})
	hs[0].r.Flush()
}

// TestLostShareResent: the group key share for a fresh exec is dealt once (SPEC.md
// §17.4 step 3); when the peer wire loses it, the fresh exec's broker says in its
// hints that it waits for one, and the dealer's broker sends it again (§13.2), so
// the fresh exec is configured and admitted.
func TestLostShareResent(t *testing.T) {
	w := epochWorld(t, 22)
	hs, rj := attestingCluster(t, w)
	pump(t, hs)
	endEpoch(t, w, hs, rj)
	pumpDrop(t, hs, func(kind uint64) bool { return kind == KindShare })
	if rj.r.Config().Epoch != 1 || len(rj.admitted) != 2 || !rj.r.Admitting() {
		t.Fatalf("after the share was lost: epoch %d, admitted %v, admitting %v", rj.r.Config().Epoch, rj.admitted, rj.r.Admitting())
	}
	for tick := 0; tick < 200 && rj.r.Admitting(); tick++ {
		for _, h := range hs {
			h.r.Tick()
			h.r.Flush()
		}
		pump(t, hs)
	}
	if len(rj.admitted) != 3 || rj.r.Admitting() || hs[0].r.Metrics().ShareResends == 0 {
		t.Fatalf("replica 3 admitted %v (admitting %v) after 200 ticks; replica 0 re-sent %d shares",
			rj.admitted, rj.r.Admitting(), hs[0].r.Metrics().ShareResends)
	}
	if n := countKind(rj.enc[spec.RoleExec].inputs(), spec.KindConfigure); n != 1 {
		t.Fatalf("the fresh exec got %d configures, want 1", n)
	}
}
