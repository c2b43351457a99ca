package exec

import (
	"errors"
	"fmt"
	"io"

	"github.com/splitbft/splitbft/spec"
)

// BuildName is this implementation's build name, carried in its enrollment.
const BuildName = "exec"

// Application is the replicated service that Execution drives (SPEC.md §12.6 for
// kv-v1). Implementations must be deterministic functions of the operations executed
// and the snapshots restored.
type Application interface {
	// Execute applies one decrypted operation and returns its result. It is
	// deterministic and never panics on any op bytes; an op it cannot parse gives
	// Result{StatusBadOp} and changes nothing.
	Execute(op []byte) spec.Result
	// Snapshot returns the canonical encoding of the whole state: equal states give
	// equal bytes. Exec calls it at every checkpoint (and at epoch ends, recovery
	// votes and lead-ins, and StateDigestAt), so it should not re-sort or re-encode
	// the whole state at each call. The result may be shared with the application
	// and must not be modified or appended to.
	Snapshot() []byte
	// Restore replaces the whole state with the one encoded in snapshot. It decodes
	// strictly and rejects any non-canonical snapshot with an error, leaving the
	// state unchanged. It must not keep snapshot, which the caller may reuse.
	Restore(snapshot []byte) error
	// Digest returns a digest of Snapshot(); it may be cached or incremental.
	Digest() spec.Digest
}

// ErrBadInit is returned by Init for a request that is malformed, names another role,
// or comes after a first successful Init (reject code bad-init, SPEC.md §7.1).
var ErrBadInit = errors.New("exec: bad-init")

// Exec is the Execution compartment. It implements spec.Compartment. It is not safe
// for concurrent use: the broker calls it one Step at a time.
type Exec struct {
	rand io.Reader   // the only source of randomness (§3.5)
	app  Application // the replicated application; empty at New

	inited  bool                // Init succeeded
	replica uint64              // own replica id (from Init)
	signKey signer              // own Ed25519 key; valid once inited
	boxPriv [keySize]byte       // own X25519 private key; valid once inited
	body    spec.EnrollmentBody // own enrollment body; valid once inited

	dealt    bool           // a group key has been created by a deal (g below is set)
	group    [keySize]byte  // g: the group private key, from the first deal or from configure
	groupPub spec.PublicKey // G = X25519(g, basepoint) once dealt or configured

	configured bool
	cfg        *spec.Config // set once configured; replaced only by an epoch change (§17.4)
	cd         spec.Digest  // ConfigDigest(cfg)
	null       spec.Digest  // NullBatchDigest()
	stKey      []byte       // the state-chunk key (§12.4), derived at configure

	view uint64 // highest NEW-VIEW view accepted; used only in replies
	ck   checkpoints

	// lastExec is the last executed sequence number. Invariant: lastExec ≥ ck.h
	// unless this exec is behind (NeedState), and then only state transfer moves it.
	lastExec uint64
	// commits[s][sender] is the highest-view COMMIT stored from sender for s.
	// Invariant: only for max(h, lastExec) < s ≤ h + L; at most one per sender.
	commits map[uint64]map[uint64]*spec.Commit
	// commitKeys are the conf enclaves' keys prepared for verifying COMMITs (E6),
	// the signatures exec verifies most.
	commitKeys *preparedKeys
	// committed[s] is the digest certified for s by q matching COMMITs. Invariant: only
	// for lastExec < s ≤ h + L (entries ≤ h are removed at stable checkpoints).
	committed map[uint64]spec.Digest
	// batches holds received batches by digest. Invariant: len ≤ 2L.
	batches map[spec.Digest]*spec.Batch
	// batchAge holds, for each stored batch, the stable checkpoint h at the time it was
	// stored (§11.6 age rule). Invariant: same keys as batches.
	batchAge map[spec.Digest]uint64
	// table is the client table (§11.5), by client id. Invariant: every entry has
	// Timestamp ≥ 1, at least one result, and Timestamp+len(Results)−1 without overflow.
	table map[uint64]*spec.ClientEntry
	// snapshots[s] holds own snapshots of checkpoints not yet stable. Invariant: only
	// for h < s ≤ lastExec, s a multiple of K.
	snapshots map[uint64]*heldSnapshot
	// stable is the snapshot of the stable checkpoint h, or nil if not held.
	// Invariant: if non-nil, stable.seq == h and stable.digest == stableCert.State.
	stable *heldSnapshot
	// transfer holds the chunks received of the one snapshot being transferred, or nil.
	// Invariant: if non-nil, this exec is behind and the target is (h, stableCert.State).
	transfer *transfer

	// pending is the candidate configuration produced by the config operations
	// executed so far in the batch being executed (§17.2); nil between batches.
	pending *spec.Config
	// next is set when the epoch ended after executing next.cfg.StartSeq (§17.3):
	// nothing more is executed under cfg. Invariant: nil, or lastExec == next's StartSeq.
	next *epochNext
	// votes[sender] is the one EPOCH-VOTE stored from sender in this epoch; at most n.
	votes map[uint64]*spec.EpochVote
	// retired is set when an epoch change replaced this exec's slot (§17.4): every
	// later input is rejected retired.
	retired bool

	// rec is the recovery in progress (§17.8): set by an accepted recover, while the
	// exec replays under the last configuration (cfg = Prev, configured false); nil
	// before and after. Invariant: rec != nil implies !configured.
	rec *replay

	checkEvidence EvidenceCheck         // rule AT3 (§17.5)
	sealer        Sealer                // seals the group key (§11.2); InsecureSealer by default
	keys          map[uint64]clientKeys // cache of derived per-client keys; not protocol state
	out           []spec.Output         // outputs of the Step in progress
}

// heldSnapshot is an encoded exec Snapshot with its sequence number and StateDigest.
type heldSnapshot struct {
	seq    uint64
	data   []byte // enc(Snapshot)
	digest spec.Digest
}

// New returns an uninitialised Execution compartment drawing randomness from rand and
// driving app, which must be fresh (empty state), e.g. kv.New(), configured by opts.
func New(rand io.Reader, app Application, opts ...Option) *Exec {
	e := &Exec{rand: rand, app: app, keys: map[uint64]clientKeys{}, checkEvidence: noVerifierCheck, sealer: InsecureSealer{},
		commitKeys: newCommitKeys()}
	for _, o := range opts {
		o(e)
	}
	return e
}

// Init handles the InitRequest (SPEC.md §7.1): rules I1–I3, then key generation
// (32 bytes Ed25519 seed, then 32 bytes X25519 private key). It returns the encoded
// Enrollment with dev-insecure evidence (this build produces no SGX report), or
// ErrBadInit.
func (e *Exec) Init(req []byte) ([]byte, error) {
	var r spec.InitRequest
	if err := spec.Decode(req, &r, spec.MaxInitBytes); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadInit, err)
	}
	if r.Role != spec.RoleExec {
		return nil, fmt.Errorf("%w: role %d is not exec", ErrBadInit, r.Role)
	}
	if e.inited {
		return nil, fmt.Errorf("%w: Init called twice", ErrBadInit)
	}
	var seed, box [keySize]byte
	if _, err := io.ReadFull(e.rand, seed[:]); err != nil {
		return nil, fmt.Errorf("exec: reading randomness: %w", err) // stays uninitialised (§7.4)
	}
	if _, err := io.ReadFull(e.rand, box[:]); err != nil {
		return nil, fmt.Errorf("exec: reading randomness: %w", err)
	}
	e.signKey, e.boxPriv = newSigner(seed[:]), box
	e.replica = r.Replica
	e.body = spec.EnrollmentBody{Role: spec.RoleExec, Replica: r.Replica, Build: []byte(BuildName),
		SignKey: e.signKey.public(), BoxKey: x25519Public(&e.boxPriv)}
	e.inited = true
	return spec.Encode(&spec.Enrollment{Body: e.body, Evidence: spec.Evidence{Format: spec.EvidenceDevInsecure}}), nil
}

// readNonce reads one 24-byte AEAD nonce. A failing randomness source is an
// environment failure inside the enclave, not an input problem: it panics.
func (e *Exec) readNonce() spec.Nonce {
	var n spec.Nonce
	if _, err := io.ReadFull(e.rand, n[:]); err != nil {
		panic(fmt.Sprintf("exec: randomness source failed: %v", err))
	}
	return n
}

// emit appends an output of the Step in progress.
func (e *Exec) emit(kind uint64, to spec.Destination, body []byte) {
	e.out = append(e.out, spec.Output{Kind: kind, To: to, Body: body})
}

// allReplicas returns the sorted list 0..n−1.
func (e *Exec) allReplicas() []uint64 {
	r := make([]uint64, e.cfg.N)
	for i := range r {
		r[i] = uint64(i)
	}
	return r
}

// window returns h + L, saturating; while replaying (§17.8), min(head, max(h,
// lastExec) + L): the replay stores nothing above its head.
func (e *Exec) window() uint64 {
	if e.rec != nil {
		return min(e.rec.end(), addSat(max(e.ck.h, e.lastExec), e.cfg.Window))
	}
	return addSat(e.ck.h, e.cfg.Window)
}

// addSat returns a + b, or 2^64 − 1 on overflow.
func addSat(a, b uint64) uint64 {
	if a+b < a {
		return ^uint64(0)
	}
	return a + b
}
