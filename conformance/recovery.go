package conformance

import (
	"bytes"
	"crypto/ed25519"
	"fmt"

	"github.com/splitbft/splitbft/internal/testcluster"
	"github.com/splitbft/splitbft/spec"
)

// This file builds the inputs of a recovery of a whole cluster (SPEC.md §17.8) for
// the vectors: the fixture's configuration is the last epoch C (its members sign the
// plan, its confs and execs certify the log the exec replays), and the next epoch C'
// holds fresh keys in every slot, the exec under test (NewFreshFixture) in its own.
// The fresh keys of slot (role, r) come from FreshEnrollment with label
// recoveryLabel(role, r), so the fixture can sign as any enclave of C'.

// recoveryLabel is the FreshEnrollment label of slot (role, r) in C'.
func recoveryLabel(role spec.Role, r uint64) string {
	return fmt.Sprintf("recovery/%s/%d", spec.RoleName(role), r)
}

// recoverySignKey is the private signing key of slot (role, r) in C': the under-test
// enclave's own (§3.5) in its slot, else the one FreshEnrollment derives.
func (fx *Fixture) recoverySignKey(role spec.Role, r uint64) ed25519.PrivateKey {
	if fx.fresh && role == fx.Role && r == fx.ID {
		k, err := testcluster.DeriveKeys(Stream("enclave", fx.Seed), role)
		if err != nil {
			panic(err) // Stream never fails
		}
		return k.Sign
	}
	return ed25519.NewKeyFromSeed(read(Stream("fresh-enrollment/"+recoveryLabel(role, r), fx.Seed), 32))
}

// recoveryBox is the X25519 private key of exec r in C' (as recoverySignKey).
func (fx *Fixture) recoveryBox(r uint64) []byte {
	if fx.fresh && fx.Role == spec.RoleExec && r == fx.ID {
		k, err := testcluster.DeriveKeys(Stream("enclave", fx.Seed), spec.RoleExec)
		if err != nil {
			panic(err) // Stream never fails
		}
		return bytes.Clone(k.Box[:])
	}
	return read(Stream("fresh-box/"+recoveryLabel(spec.RoleExec, r), fx.Seed), 32)
}

// RecoveryTemplate is the template of a recovery after the fixture's configuration C
// with head head (SPEC.md §17.8): C with every enrollment replaced by a fresh one
// (the under-test enclave in its slot when the fixture is fresh), Epoch + 1, Prev the
// digest of C, StartSeq head, StartState zero; mod (nil: none) is applied last.
func (fx *Fixture) RecoveryTemplate(head uint64, mod func(*spec.Config)) *spec.Config {
	return fx.NextConfig(head, spec.Digest{}, func(c *spec.Config) {
		for r := range c.Replicas {
			for _, role := range []spec.Role{spec.RolePrep, spec.RoleConf, spec.RoleExec} {
				*c.Replicas[r].Slot(role) = fx.FreshEnrollment(role, uint64(r), recoveryLabel(role, uint64(r)))
			}
		}
		if fx.fresh {
			*c.Replicas[fx.ID].Slot(fx.Role) = fx.own
		}
		if mod != nil {
			mod(c)
		}
	})
}

// RecoveryPlan is the plan for tmpl from base signed by the members at the given
// indexes (in that order) under the digest of C.
func (fx *Fixture) RecoveryPlan(tmpl *spec.Config, base spec.CheckpointCert, members ...int) spec.RecoveryPlan {
	return fx.signPlan(spec.RecoveryPlanBody{Template: spec.Encode(tmpl), Base: base}, members...)
}

// signPlan signs body by the members at the given indexes under the digest of C.
func (fx *Fixture) signPlan(body spec.RecoveryPlanBody, members ...int) spec.RecoveryPlan {
	return spec.RecoveryPlan{Body: body, Sigs: fx.memberSigs(spec.DomainRecoveryPlan, spec.Encode(&body), members)}
}

// memberSigs signs body (domain, under the digest of C) by the members at the given
// indexes, in that order: a proposal's or a recovery plan's signatures.
func (fx *Fixture) memberSigs(domain string, body []byte, members []int) []spec.MemberSig {
	msg := spec.SignedBytes(domain, fx.CD, body)
	var sigs []spec.MemberSig
	for _, m := range members {
		var sig spec.Signature
		copy(sig[:], ed25519.Sign(fx.members[m], msg))
		sigs = append(sigs, spec.MemberSig{Member: uint64(m), Sig: sig})
	}
	return sigs
}

// SealedKey is C's group key as an exec outside an enclave seals it (format 0,
// SPEC.md §11.2).
func (fx *Fixture) SealedKey() spec.SealedGroupKey {
	return spec.SealedGroupKey{Format: spec.SealInsecure, Data: bytes.Clone(fx.group)}
}

// RecoverInput is the recover input with C as Prev, plan and sealed.
func (fx *Fixture) RecoverInput(plan spec.RecoveryPlan, sealed spec.SealedGroupKey) spec.Input {
	return In(spec.KindRecover, &spec.Recover{Prev: spec.Encode(fx.Config), Plan: plan, SealedKey: sealed})
}

// RecoveryNext is C': a copy of tmpl with StartState state.
func RecoveryNext(tmpl *spec.Config, state spec.Digest) *spec.Config {
	next := *tmpl
	next.StartState = state
	return &next
}

// RecoveryVote is exec r of C' voting for next, signed under the digest of C.
func (fx *Fixture) RecoveryVote(next *spec.Config, r uint64) spec.EpochVote {
	body := spec.EpochVoteBody{Next: spec.ConfigDigest(next), Replica: r}
	msg := spec.SignedBytes(spec.DomainRecoveryVote, fx.CD, spec.Encode(&body))
	var sig spec.Signature
	copy(sig[:], ed25519.Sign(fx.recoverySignKey(spec.RoleExec, r), msg))
	return spec.EpochVote{Body: body, Sig: sig}
}

// Recovery is the chain step starting next: plan, next and the votes of the execs of
// voters (in the order given).
func (fx *Fixture) Recovery(plan spec.RecoveryPlan, next *spec.Config, voters ...uint64) spec.Recovery {
	rc := spec.Recovery{Plan: plan, Config: spec.Encode(next)}
	for _, r := range voters {
		rc.Votes = append(rc.Votes, fx.RecoveryVote(next, r))
	}
	return rc
}

// EnterRecovery makes C' = next the fixture's configuration and signs from then on
// with the keys of C' (SPEC.md §17.8, "Adopting C'").
func (fx *Fixture) EnterRecovery(next *spec.Config) {
	for r := uint64(0); r < fx.N; r++ {
		for _, role := range []spec.Role{spec.RolePrep, spec.RoleConf, spec.RoleExec} {
			fx.sign[slot{role, r}] = fx.recoverySignKey(role, r)
		}
		fx.execBox[r] = fx.recoveryBox(r)
	}
	fx.Enter(next)
}

// genesisSnapshot is enc(Snapshot) of the fresh state at seq 0 (§11.5).
func genesisSnapshot() []byte {
	return spec.Encode(&spec.Snapshot{Seq: 0, App: spec.Encode(&spec.KVSnapshot{})})
}
