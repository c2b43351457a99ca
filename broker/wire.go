package broker

import (
	"fmt"

	"github.com/splitbft/splitbft/spec"
)

// The broker-to-broker wire.
//
// Every message between two replicas' brokers is one PeerMsg, encoded with the spec
// codec (canonical CBOR, toarray) and decoded strictly (spec.Decode or DecodeShared,
// which accept the same bytes; round-trip gate);
// anything that does not decode, or whose Body does not decode as its Kind, is dropped
// and counted as garbage, so a compartment never sees undecodable bytes.
//
//	PeerMsg{Kind, Body}
//
//	Kind                      Body                 receiver delivers it to
//	spec.KindRequest      1   spec.Request         batching (if primary), timers
//	spec.KindBatch        2   spec.Batch           local exec, only if its NeedBatch lists the digest
//	spec.KindProposal     4   spec.Proposal        prep (proposal), conf (pre-prepare = Header), exec (batch)
//	spec.KindPrepare      5   spec.Prepare         conf
//	spec.KindCommit       6   spec.Commit          exec
//	spec.KindCheckpoint   7   spec.Checkpoint      prep, conf, exec
//	spec.KindViewChange   8   spec.ViewChange      prep (and the broker's view-change join rule)
//	spec.KindNewView      9   spec.NewView         prep, conf, exec
//	spec.KindStateRequest 10  spec.StateRequest    exec
//	spec.KindStateChunk   11  spec.StateChunk      exec, only while it wants state
//	KindFetchBatch        128 BatchFetch           answered with one KindBatch per cached digest
//	KindHint              129 Hint                 nobody: a lag hint (retransmission) and a suspicion (gating)
//	KindShare             130 spec.GroupKeyShares  a fresh exec awaiting its group key share (one share)
//	spec.KindEpochChange  16  spec.EpochChange     verified (EC1–EC4), stored in the chain, then prep, conf, exec
//	spec.KindAttest       17  spec.Enrollment      exec, only from the enrollment's own replica's broker
//	spec.KindAttestation  18  spec.Attestation     the admission in progress (admission.go)
//
// Protocol kinds travel exactly as the producing compartment emitted them (the sender
// does not split a proposal; the receiver does, per SPEC.md §13.1). Nothing in a
// PeerMsg is trusted: compartments verify every signature themselves, and the broker
// only uses what it learns for timers and fetching.
type PeerMsg struct {
	_    struct{} `cbor:",toarray"`
	Kind uint64
	Body []byte
}

// Broker-level kinds (above every spec kind).
const (
	KindFetchBatch uint64 = 128 // BatchFetch: "send me these batches"
	KindHint       uint64 = 129 // Hint: the sender's progress, for lag detection
	KindShare      uint64 = 130 // spec.GroupKeyShares with one share, for a newly admitted exec (SPEC.md §17.4)
)

// MaxFetchDigests bounds the digests in one BatchFetch (the size of exec's NeedBatch).
const MaxFetchDigests = 64

// maxPeerMsgBytes caps an encoded PeerMsg: the largest body plus the envelope.
const maxPeerMsgBytes = spec.MaxMessageBytes + 64

// BatchFetch asks a peer broker for the batches with these digests, which it answers
// from the proposals it has seen.
type BatchFetch struct {
	_       struct{}      `cbor:",toarray"`
	Digests []spec.Digest // at most MaxFetchDigests
}

// Hint is a broker's progress summary, sent to peers periodically (and at once when a
// request timer expires). A receiver that is ahead retransmits its recent outputs to
// the sender; a receiver whose own request timer expired counts the sender's Suspect
// towards the f+1 brokers it needs to suspect a view. It is a hint: a lie costs
// bandwidth, which retransmission rate limits bound, or helps a correct broker whose
// own timer expired to suspect — which f liars alone cannot make happen.
type Hint struct {
	_        struct{} `cbor:",toarray"`
	ExecLast uint64   // the sender's exec Status.Last
	Stable   uint64   // the sender's exec Status.Stable
	View     uint64   // the sender's conf Status.View
	Active   bool     // the sender's conf Status.ViewActive
	Suspect  bool     // the sender's broker suspects View: a request timer expired (SPEC.md §13.3 obligation 5)
	Epoch    uint64   // the epoch of the sender's configuration: a receiver with a later one forwards the epoch changes it lacks (SPEC.md §17.7)
	// ShareWait: the sender has a fresh exec installed in Epoch that waits for its group
	// key share; a receiver in the same epoch re-sends the share its exec dealt for it
	// (SPEC.md §17.4 step 3).
	ShareWait bool
}

// EncodePeer returns enc(PeerMsg{kind, body}), assembled from heads and the body bytes.
func EncodePeer(kind uint64, body []byte) []byte {
	return spec.AppendKindBody(make([]byte, 0, len(body)+20), kind, body)
}

// DecodePeer decodes a PeerMsg strictly and checks that its Body decodes as its Kind.
// It returns the message and the decoded body (a pointer to the kind's type). The
// message's Body is a sub-slice of msg, not a copy, and so are the byte strings of the
// decoded body (a Request's, Batch's or Proposal's ciphertexts; spec.DecodeKindShared):
// msg must not be modified after the call (every host hands over a fresh or read-only
// buffer).
func DecodePeer(msg []byte) (*PeerMsg, any, error) {
	kind, body, err := spec.KindBodyRaw(msg, maxPeerMsgBytes) // Decode's checks, without copying the body
	if err != nil {
		return nil, nil, err
	}
	v, err := decodePeerBody(kind, body)
	if err != nil {
		return nil, nil, err
	}
	return &PeerMsg{Kind: kind, Body: body}, v, nil
}

// decodePeerBody decodes a body of a kind the peer wire accepts.
func decodePeerBody(kind uint64, body []byte) (any, error) {
	switch kind {
	case KindFetchBatch:
		var f BatchFetch
		if err := spec.Decode(body, &f, 1<<12); err != nil {
			return nil, err
		}
		if len(f.Digests) > MaxFetchDigests {
			return nil, fmt.Errorf("%w: %d digests in a fetch", spec.ErrMalformed, len(f.Digests))
		}
		return &f, nil
	case KindHint:
		var h Hint
		if err := spec.Decode(body, &h, 96); err != nil {
			return nil, err
		}
		return &h, nil
	case KindShare:
		var gs spec.GroupKeyShares
		if err := spec.Decode(body, &gs, spec.MaxBodyBytes(spec.KindGroupKeyShares)); err != nil {
			return nil, err
		}
		if len(gs.Shares) != 1 {
			return nil, fmt.Errorf("%w: %d shares in a share message", spec.ErrMalformed, len(gs.Shares))
		}
		return &gs, nil
	}
	if info, ok := spec.LookupKind(kind); ok && info.Peer {
		// The value's byte strings share the frame's memory (a PeerMsg frame is one
		// message, never changed once read): a proposal's requests are not copied.
		return spec.DecodeKindShared(kind, body)
	}
	return nil, fmt.Errorf("%w: kind %d is not a peer kind", spec.ErrMalformed, kind)
}
