package broker

import (
	"bytes"
	"slices"
	"testing"

	"github.com/splitbft/splitbft/spec"
)

var allReplicas = []uint64{0, 1, 2, 3}

func testProposal(w *world, t *testing.T) (*spec.Proposal, []byte) { return testProposalFor(w, t) }

func testProposalFor(w *world, t testing.TB) (*spec.Proposal, []byte) {
	_, q := w.request(t, 0, 1)
	b := spec.Batch{Requests: []spec.Request{*q}}
	s := spec.Slot{View: 0, Seq: 1, Digest: spec.BatchDigest(&b), Replica: 0}
	p := &spec.Proposal{Header: spec.PrePrepare{Body: s, Sig: w.sign(0, spec.RolePrep, spec.DomainPrePrepare, &s)}, Batch: b}
	return p, spec.Encode(p)
}

// TestPrimaryProposalRouting: a client request at the primary becomes a client batch
// for prep; prep's proposal goes to every peer as is, and locally to conf as its
// header and to exec as its batch, never back to prep.
func TestPrimaryProposalRouting(t *testing.T) {
	h := newHarness(t, 0, Options{BatchSize: 1})
	prop, propRaw := testProposal(h.w, t)
	h.enc[spec.RolePrep].script = func(f *fakeEnclave, in spec.Input) []spec.Output {
		if in.Kind != spec.KindClientBatch {
			return nil
		}
		return []spec.Output{{Kind: spec.KindProposal, To: spec.Destination{Roles: 7, Replicas: allReplicas}, Body: propRaw}}
	}
	raw, _ := h.w.request(t, 0, 1)
	h.r.HandleClient(raw)
	h.r.Flush()
	prep, conf, exec := h.enc[0].inputs(), h.enc[1].inputs(), h.enc[2].inputs()
	if len(prep) != 1 || prep[0].Kind != spec.KindClientBatch {
		t.Fatalf("prep got %v", h.enc[0].kinds())
	}
	var b spec.Batch
	if err := spec.Decode(prep[0].Body, &b, spec.MaxMessageBytes); err != nil || len(b.Requests) != 1 || !bytes.Equal(spec.Encode(&b.Requests[0]), raw) {
		t.Fatalf("client batch %v %v", err, b)
	}
	if len(conf) != 1 || conf[0].Kind != spec.KindPrePrepare || !bytes.Equal(conf[0].Body, spec.Encode(&prop.Header)) {
		t.Fatalf("conf got %v", h.enc[1].kinds())
	}
	if len(exec) != 1 || exec[0].Kind != spec.KindBatch || !bytes.Equal(exec[0].Body, spec.Encode(&prop.Batch)) {
		t.Fatalf("exec got %v", h.enc[2].kinds())
	}
	for p := uint64(1); p < 4; p++ {
		if k := h.net.sentKinds(t, p); !slices.Equal(k, []uint64{spec.KindProposal}) {
			t.Fatalf("peer %d got %v", p, k)
		}
	}
	if m := h.r.Metrics(); m.Batches != 1 || m.Requests != 1 || m.Steps != [3]uint64{1, 1, 1} {
		t.Fatalf("metrics %+v", m)
	}
}

// TestPeerRouting checks the receiving side of the routing table (SPEC.md §13.1).
func TestPeerRouting(t *testing.T) {
	w := newWorld(t, 1, 8, 42)
	prop, _ := testProposal(w, t)
	slot := spec.Slot{View: 0, Seq: 1, Digest: prop.Header.Body.Digest, Replica: 2}
	cases := []struct {
		kind uint64
		body any
		want [3][]uint64 // kinds per role
	}{
		{spec.KindProposal, prop, [3][]uint64{{spec.KindProposal}, {spec.KindPrePrepare}, {spec.KindBatch}}},
		{spec.KindPrepare, &spec.Prepare{Body: slot}, [3][]uint64{nil, {spec.KindPrepare}, nil}},
		{spec.KindCommit, &spec.Commit{Body: slot}, [3][]uint64{nil, nil, {spec.KindCommit}}},
		{spec.KindCheckpoint, w.checkpoint(2, 4, spec.Digest{1}), [3][]uint64{{spec.KindCheckpoint}, {spec.KindCheckpoint}, {spec.KindCheckpoint}}},
		{spec.KindViewChange, w.viewChange(2, 1), [3][]uint64{{spec.KindViewChange}, nil, nil}},
		{spec.KindNewView, &spec.NewView{Body: spec.NewViewBody{View: 1, Replica: 1}}, [3][]uint64{{spec.KindNewView}, {spec.KindNewView}, {spec.KindNewView}}},
		{spec.KindStateRequest, &spec.StateRequest{Seq: 4, Replica: 2}, [3][]uint64{nil, nil, {spec.KindStateRequest}}},
		{spec.KindStateChunk, &spec.StateChunk{Seq: 4, Count: 1}, [3][]uint64{nil, nil, nil}}, // exec wants no state
	}
	for _, tc := range cases {
		h := newHarness(t, 1, Options{})
		h.peer(2, tc.kind, tc.body)
		h.r.Flush()
		for role := range 3 {
			if got := h.enc[role].kinds(); !slices.Equal(got, tc.want[role]) {
				t.Errorf("%s: %s got %v, want %v", spec.KindName(tc.kind), spec.RoleName(spec.Role(role)), got, tc.want[role])
			}
		}
	}
}

// TestOutputRouting checks the sending side: local delivery excludes the producer,
// peers get the message once, and an output of a kind its role does not produce is
// dropped as garbage.
func TestOutputRouting(t *testing.T) {
	w := newWorld(t, 1, 8, 42)
	slot := spec.Slot{View: 0, Seq: 1, Replica: 1}
	cases := []struct {
		role    spec.Role
		kind    uint64
		body    any
		to      []uint64
		local   [3][]uint64
		peers   int
		garbage uint64
	}{
		{spec.RolePrep, spec.KindPrepare, &spec.Prepare{Body: slot}, allReplicas, [3][]uint64{nil, {spec.KindPrepare}, nil}, 3, 0},
		{spec.RoleConf, spec.KindCommit, &spec.Commit{Body: slot}, allReplicas, [3][]uint64{nil, nil, {spec.KindCommit}}, 3, 0},
		{spec.RoleExec, spec.KindCheckpoint, w.checkpoint(1, 4, spec.Digest{}), allReplicas, [3][]uint64{{spec.KindCheckpoint}, {spec.KindCheckpoint}, nil}, 3, 0},
		{spec.RoleConf, spec.KindViewChange, w.viewChange(1, 1), allReplicas, [3][]uint64{{spec.KindViewChange}, nil, nil}, 3, 0},
		{spec.RolePrep, spec.KindNewView, &spec.NewView{Body: spec.NewViewBody{View: 1, Replica: 1}}, allReplicas, [3][]uint64{nil, {spec.KindNewView}, {spec.KindNewView}}, 3, 0},
		{spec.RoleExec, spec.KindStateChunk, &spec.StateChunk{Count: 1}, []uint64{3}, [3][]uint64{}, 1, 0},
		{spec.RolePrep, spec.KindPrepare, &spec.Prepare{Body: slot}, []uint64{1, 1, 9, 2}, [3][]uint64{nil, {spec.KindPrepare}, nil}, 1, 0},
		{spec.RoleConf, spec.KindPrepare, &spec.Prepare{Body: slot}, allReplicas, [3][]uint64{}, 0, 1},                            // wrong producer
		{spec.RolePrep, spec.KindConfigure, &spec.Suspect{}, allReplicas, [3][]uint64{}, 0, 1},                                    // not a protocol output
		{spec.RolePrep, spec.KindPrepare, &spec.Commit{Body: slot}, allReplicas, [3][]uint64{nil, {spec.KindPrepare}, nil}, 3, 0}, // same bytes as a Prepare
		{spec.RoleExec, spec.KindCheckpoint, &spec.Suspect{}, allReplicas, [3][]uint64{}, 0, 1},                                   // body does not decode
	}
	for i, tc := range cases {
		h := newHarness(t, 1, Options{})
		out := spec.Output{Kind: tc.kind, To: spec.Destination{Roles: 7, Replicas: tc.to}, Body: spec.Encode(tc.body)}
		h.enc[tc.role].script = func(f *fakeEnclave, in spec.Input) []spec.Output {
			if in.Kind == spec.KindSuspect {
				return []spec.Output{out}
			}
			return nil
		}
		h.r.enqueue(tc.role, spec.KindSuspect, spec.Encode(&spec.Suspect{}))
		h.r.Flush()
		for role := range 3 {
			got := h.enc[role].kinds()
			if spec.Role(role) == tc.role {
				got = got[1:] // the triggering input
			}
			if len(got) == 0 {
				got = nil
			}
			if !slices.Equal(got, tc.local[role]) {
				t.Errorf("case %d: local %s got %v, want %v", i, spec.RoleName(spec.Role(role)), got, tc.local[role])
			}
		}
		if len(h.net.sent) != tc.peers || h.r.Metrics().Garbage != tc.garbage {
			t.Errorf("case %d: sent %d, garbage %d", i, len(h.net.sent), h.r.Metrics().Garbage)
		}
	}
}

// TestGarbageDropped: nothing undecodable reaches a compartment.
func TestGarbageDropped(t *testing.T) {
	h := newHarness(t, 1, Options{})
	good := EncodePeer(spec.KindPrepare, spec.Encode(&spec.Prepare{}))
	cases := []struct {
		from uint64
		msg  []byte
	}{
		{2, []byte{0xff}},
		{2, append(bytes.Clone(good), 0)},
		{2, EncodePeer(spec.KindPrepare, []byte{0x80})},                     // body not a Prepare
		{2, EncodePeer(spec.KindConfigure, spec.Encode(&spec.Configure{}))}, // not a peer kind
		{2, EncodePeer(spec.KindReply, spec.Encode(&spec.Reply{}))},         // not a peer kind
		{2, EncodePeer(KindFetchBatch, spec.Encode(&BatchFetch{Digests: make([]spec.Digest, MaxFetchDigests+1)}))},
		{7, good}, // unknown sender
		{1, good}, // from itself
	}
	for _, tc := range cases {
		h.r.HandlePeer(tc.from, tc.msg)
	}
	h.r.Flush()
	if m := h.r.Metrics(); m.Garbage != uint64(len(cases)) || m.Steps != [3]uint64{} {
		t.Fatalf("garbage=%d steps=%v", m.Garbage, m.Steps)
	}
	h.r.HandlePeer(2, good)
	h.r.Flush()
	if h.r.Metrics().Steps[spec.RoleConf] != 1 {
		t.Fatal("a valid message was not delivered")
	}
}

// TestStepAmortised: many inputs for one compartment go in one Step call.
func TestStepAmortised(t *testing.T) {
	h := newHarness(t, 1, Options{})
	for i := range 50 {
		h.peer(2, spec.KindPrepare, &spec.Prepare{Body: spec.Slot{Seq: uint64(i)}})
	}
	h.r.Flush()
	if m := h.r.Metrics(); m.Steps[spec.RoleConf] != 1 || m.Inputs[spec.RoleConf] != 50 {
		t.Fatalf("steps %v inputs %v", m.Steps, m.Inputs)
	}
}

// TestReplyDelivered: exec replies go to Net.Reply for their client.
func TestReplyDelivered(t *testing.T) {
	h := newHarness(t, 1, Options{})
	rep := spec.Encode(&spec.Reply{Client: 100, Timestamp: 5, Replica: 1})
	h.enc[spec.RoleExec].script = func(f *fakeEnclave, in spec.Input) []spec.Output {
		return []spec.Output{{Kind: spec.KindReply, Body: rep}}
	}
	h.peer(2, spec.KindCommit, &spec.Commit{})
	h.r.Flush()
	if len(h.net.replies) != 1 || h.net.replies[0].to != 100 || !bytes.Equal(h.net.replies[0].msg, rep) || len(h.net.sent) != 0 {
		t.Fatalf("replies %v sent %d", h.net.replies, len(h.net.sent))
	}
}

// TestRejectionsCounted: rejections are counted by code.
func TestRejectionsCounted(t *testing.T) {
	h := newHarness(t, 1, Options{})
	h.enc[spec.RoleConf].script = func(f *fakeEnclave, in spec.Input) []spec.Output {
		return []spec.Output{{Kind: spec.KindReject, Body: spec.Encode(&spec.Rejection{Kind: in.Kind, Code: spec.CodeBadSignature})}}
	}
	h.peer(2, spec.KindPrepare, &spec.Prepare{})
	h.peer(3, spec.KindPrepare, &spec.Prepare{})
	h.r.Flush()
	if got := h.r.Metrics().Rejections[spec.CodeBadSignature]; got != 2 {
		t.Fatalf("bad-signature rejections %d", got)
	}
}
