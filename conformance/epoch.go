package conformance

import (
	"crypto/ed25519"

	"github.com/splitbft/splitbft/spec"
	"golang.org/x/crypto/curve25519"
)

// This file builds the epoch changes of SPEC.md §17 for the vectors.

// NextConfig returns a copy of the fixture's configuration advanced one epoch (Epoch+1,
// Prev the current digest) starting at (start, state), with mod applied (nil: none).
func (fx *Fixture) NextConfig(start uint64, state spec.Digest, mod func(*spec.Config)) *spec.Config {
	var next spec.Config
	if err := spec.Decode(spec.Encode(fx.Config), &next, spec.MaxMessageBytes); err != nil {
		panic("conformance: the fixture's configuration does not round-trip: " + err.Error())
	}
	next.Epoch, next.Prev, next.StartSeq, next.StartState = fx.Config.Epoch+1, fx.CD, start, state
	if mod != nil {
		mod(&next)
	}
	return &next
}

// EpochChange encodes next with the EPOCH-VOTEs for its digest of the execs of voters
// (in the order given), signed under the fixture's current digest.
func (fx *Fixture) EpochChange(next *spec.Config, voters ...uint64) spec.EpochChange {
	nd := spec.ConfigDigest(next)
	ec := spec.EpochChange{Config: spec.Encode(next)}
	for _, r := range voters {
		body := spec.EpochVoteBody{Next: nd, Replica: r}
		ec.Votes = append(ec.Votes, spec.EpochVote{Body: body, Sig: fx.Sign(spec.RoleExec, r, spec.DomainEpochVote, &body)})
	}
	return ec
}

// Enter makes next the fixture's configuration: every signature made afterwards binds
// its digest.
func (fx *Fixture) Enter(next *spec.Config) {
	fx.Config, fx.CD = next, spec.ConfigDigest(next)
}

// FreshEnrollment returns an enrollment for (role, replica) with new keys derived from
// label (dev-insecure evidence, the build of the slot it replaces).
func (fx *Fixture) FreshEnrollment(role spec.Role, replica uint64, label string) spec.Enrollment {
	e := *fx.Config.Enrollment(role, replica)
	seed := read(Stream("fresh-enrollment/"+label, fx.Seed), 32)
	copy(e.Body.SignKey[:], ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey))
	if role == spec.RoleExec {
		pub, err := curve25519.X25519(read(Stream("fresh-box/"+label, fx.Seed), 32), curve25519.Basepoint)
		if err != nil {
			panic("conformance: x25519: " + err.Error())
		}
		copy(e.Body.BoxKey[:], pub)
	}
	e.Evidence = spec.Evidence{Format: spec.EvidenceDevInsecure}
	return e
}
