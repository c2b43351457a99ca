package spec

import (
	"errors"
	"fmt"
)

// This file defines the messages and operations of epochs, admission and governance
// (SPEC.md §17). Like every message they encode as CBOR arrays in field order.

// EpochVoteBody is the signed part of an EPOCH-VOTE: exec Replica's vote that the
// configuration with digest Next follows the current one (SPEC.md §17.3).
type EpochVoteBody struct {
	_       struct{} `cbor:",toarray"`
	Next    Digest
	Replica uint64
}

// EpochVote is an exec's signed vote (kind KindEpochVote), domain DomainEpochVote,
// under the digest of the epoch it ends.
type EpochVote struct {
	_    struct{} `cbor:",toarray"`
	Body EpochVoteBody
	Sig  Signature
}

// EpochChange carries the next configuration and q votes for it (kind
// KindEpochChange, SPEC.md §17.1). Votes are from distinct execs, sorted by Replica.
type EpochChange struct {
	_      struct{} `cbor:",toarray"`
	Config []byte   // canonical Config encoding
	Votes  []EpochVote
}

// AttestationBody is the signed part of an ATTESTATION: exec Replica checked the
// evidence of the enrollment with digest Enrollment (SPEC.md §17.5).
type AttestationBody struct {
	_          struct{} `cbor:",toarray"`
	Enrollment Digest   // EnrollmentDigest of the attested enrollment's body
	Replica    uint64
}

// Attestation is an exec's signed attestation (kind KindAttestation), domain
// DomainAttest, under the current configuration digest.
type Attestation struct {
	_    struct{} `cbor:",toarray"`
	Body AttestationBody
	Sig  Signature
}

// ConfigOpTag is the first element of every ConfigOp: no application operation
// decodes as a ConfigOp (SPEC.md §17.2).
var ConfigOpTag = []byte("splitbft/v1/config-op")

// ConfigOp is the plaintext of a sealed operation that changes the configuration
// (SPEC.md §17.2): exactly one of Admit (non-empty) or Change (a ConfigProposal with signatures) is set.
type ConfigOp struct {
	_      struct{} `cbor:",toarray"`
	Tag    []byte   // ConfigOpTag
	Admit  []Admission
	Change ConfigProposal
}

// Admission asks that Enrollment replace its slot, with q attestations from
// distinct execs of the current configuration (rules AD1–AD3).
type Admission struct {
	_            struct{} `cbor:",toarray"`
	Enrollment   Enrollment
	Attestations []Attestation
}

// Change ops of a governance proposal (SPEC.md §17.2).
const (
	ChangeAddClient    uint64 = 1 // Client
	ChangeRemoveClient uint64 = 2 // Client.ID
	ChangeAddBuild     uint64 = 3 // Build
	ChangeRemoveBuild  uint64 = 4 // Build, exactly as listed
	ChangeSetAddress   uint64 = 5 // Replica, Address
	ChangeAddMember    uint64 = 6 // Key
	ChangeRemoveMember uint64 = 7 // Key
	ChangeSetThreshold uint64 = 8 // Replica holds the new threshold
)

// Change is one change of a proposal; fields its Op does not use are zero or empty.
type Change struct {
	_       struct{} `cbor:",toarray"`
	Op      uint64
	Client  ClientConfig
	Build   BuildPolicy
	Replica uint64
	Address []byte
	Key     PublicKey
}

// ConfigProposalBody is what the members sign: the changes, for the epoch they apply to.
type ConfigProposalBody struct {
	_       struct{} `cbor:",toarray"`
	Epoch   uint64
	Changes []Change
}

// MemberSig is member Member's signature on a ConfigProposalBody, domain DomainProposal,
// under the current configuration digest.
type MemberSig struct {
	_      struct{} `cbor:",toarray"`
	Member uint64   // index in Config.Members
	Sig    Signature
}

// ConfigProposal is a member-signed configuration change (rules GP1–GP3).
type ConfigProposal struct {
	_    struct{} `cbor:",toarray"`
	Body ConfigProposalBody
	Sigs []MemberSig
}

// SigVerifier reports whether sig is a valid Ed25519 signature (SPEC.md §3.3) of msg
// under pub. It is supplied by the caller because this package does no curve
// arithmetic.
type SigVerifier func(pub PublicKey, msg []byte, sig Signature) bool

// ErrEpoch is wrapped by every error of VerifyEpochChange.
var ErrEpoch = errors.New("spec: invalid epoch change")

// VerifyEpochChange applies EC1–EC4 of SPEC.md §17.1 to ec after prev (whose digest
// is prevDigest), for a party whose stable sequence number is h (tools pass
// prev.StartSeq), and returns the next configuration. It is the check of clients,
// brokers and tools; compartments implement the rules themselves.
func VerifyEpochChange(prev *Config, prevDigest Digest, h uint64, ec *EpochChange, verify SigVerifier, admit KeyAdmitter) (*Config, error) {
	var next Config
	if err := Decode(ec.Config, &next, MaxMessageBytes); err != nil {
		return nil, fmt.Errorf("%w: EC1: config does not decode: %v", ErrEpoch, err)
	}
	if err := next.Validate(admit); err != nil {
		return nil, fmt.Errorf("%w: EC1: %v", ErrEpoch, err)
	}
	if next.Epoch != prev.Epoch+1 || next.Prev != prevDigest {
		return nil, fmt.Errorf("%w: EC2: epoch %d does not follow epoch %d", ErrEpoch, next.Epoch, prev.Epoch)
	}
	if !sameFrame(prev, &next) || next.StartSeq <= prev.StartSeq || next.StartSeq < h {
		return nil, fmt.Errorf("%w: EC3: epoch %d changes n, f, name, K, L or the group key, or does not start after epoch %d's start and at or above %d", ErrEpoch, next.Epoch, prev.Epoch, h)
	}
	nd := ConfigDigest(&next)
	if uint64(len(ec.Votes)) != uint64(prev.Quorum()) {
		return nil, fmt.Errorf("%w: EC4: %d votes, want %d", ErrEpoch, len(ec.Votes), prev.Quorum())
	}
	for i := range ec.Votes {
		v := &ec.Votes[i]
		if v.Body.Replica >= prev.N || (i > 0 && v.Body.Replica <= ec.Votes[i-1].Body.Replica) || v.Body.Next != nd {
			return nil, fmt.Errorf("%w: EC4: vote %d (replica %d) out of order, unknown or for another configuration", ErrEpoch, i, v.Body.Replica)
		}
		key := prev.Replicas[v.Body.Replica].Exec.Body.SignKey
		if !verify(key, SignedBytes(DomainEpochVote, prevDigest, Encode(&v.Body)), v.Sig) {
			return nil, fmt.Errorf("%w: EC4: vote of replica %d: bad signature", ErrEpoch, v.Body.Replica)
		}
	}
	return &next, nil
}

// sameFrame reports whether b keeps what EC3 fixes for the life of a cluster.
func sameFrame(a, b *Config) bool {
	return a.N == b.N && a.F == b.F && string(a.Name) == string(b.Name) &&
		a.CheckpointInterval == b.CheckpointInterval && a.Window == b.Window && a.ExecGroupKey == b.ExecGroupKey
}

// VerifyChain verifies changes in order from the trusted configuration start and
// returns the configuration reached (start itself when changes is empty).
func VerifyChain(start *Config, changes []EpochChange, verify SigVerifier, admit KeyAdmitter) (*Config, error) {
	cur := start
	for i := range changes {
		next, err := VerifyEpochChange(cur, ConfigDigest(cur), cur.StartSeq, &changes[i], verify, admit)
		if err != nil {
			return nil, fmt.Errorf("epoch change %d: %w", i, err)
		}
		cur = next
	}
	return cur, nil
}
