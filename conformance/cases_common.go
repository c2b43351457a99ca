package conformance

import (
	"crypto/ed25519"
	"crypto/sha256"

	"github.com/splitbft/splitbft/spec"
)

// This file holds the builders the single-step cases of every compartment share, and
// the cases of SPEC.md §8.1 (input preamble, configure) and §8.3 (checkpoints), which
// every role runs. Everything here is written from SPEC.md alone.

// tag returns a fixed digest derived from s: an arbitrary state or batch digest.
func tag(s string) spec.Digest { return sha256.Sum256([]byte("conformance/" + s)) }

// flip returns sig with one bit of R changed: a signature that never verifies.
func flip(sig spec.Signature) spec.Signature {
	sig[0] ^= 0x01
	return sig
}

// signAs signs body under domain with the key of enclave (role, signer); a signer
// outside the cluster signs with replica 0's key of that role (its message must fail
// an earlier rule anyway).
func (g *Gen) signAs(role spec.Role, signer uint64, domain string, body any) spec.Signature {
	if signer >= g.N {
		signer = 0
	}
	return g.Sign(role, signer, domain, body)
}

// signOtherCluster signs body as (role, signer) but binds another configuration
// digest (§3.4): such a signature is never valid in this cluster.
func (g *Gen) signOtherCluster(role spec.Role, signer uint64, domain string, body any) spec.Signature {
	cd := g.CD
	cd[0] ^= 0xff
	var sig spec.Signature
	copy(sig[:], ed25519.Sign(g.sign[slot{role, signer}], spec.SignedBytes(domain, cd, spec.Encode(body))))
	return sig
}

// Input builders.

func inProposal(p spec.Proposal) spec.Input { return In(spec.KindProposal, &p) }
func inClientBatch(b spec.Batch) spec.Input { return In(spec.KindClientBatch, &b) }
func inBatch(b spec.Batch) spec.Input       { return In(spec.KindBatch, &b) }
func inPP(p spec.PrePrepare) spec.Input     { return In(spec.KindPrePrepare, &p) }
func inPrepare(p spec.Prepare) spec.Input   { return In(spec.KindPrepare, &p) }
func inCommit(c spec.Commit) spec.Input     { return In(spec.KindCommit, &c) }
func inCP(c spec.Checkpoint) spec.Input     { return In(spec.KindCheckpoint, &c) }
func inVC(vc spec.ViewChange) spec.Input    { return In(spec.KindViewChange, &vc) }
func inNV(nv spec.NewView) spec.Input       { return In(spec.KindNewView, &nv) }
func inSuspect(v uint64) spec.Input         { return In(spec.KindSuspect, &spec.Suspect{View: v}) }

// raw wraps arbitrary body bytes as an input of kind.
func raw(kind uint64, body []byte) spec.Input { return spec.Input{Kind: kind, Body: body} }

// cps returns the CHECKPOINT inputs for (seq, state) from the execs of replicas.
func (g *Gen) cps(seq uint64, state spec.Digest, replicas ...uint64) []spec.Input {
	var ins []spec.Input
	for _, r := range replicas {
		ins = append(ins, inCP(g.Checkpoint(seq, state, r)))
	}
	return ins
}

// cpAs builds a CHECKPOINT body for replica with an arbitrary signature source.
func (g *Gen) cpSigned(body spec.CheckpointBody, signer uint64) spec.Checkpoint {
	return spec.Checkpoint{Body: body, Sig: g.signAs(spec.RoleExec, signer, spec.DomainCheckpoint, &body)}
}

// slotSigned signs s under domain with the key of (role, signer).
func (g *Gen) slotSigned(role spec.Role, signer uint64, domain string, s spec.Slot) spec.Signature {
	return g.signAs(role, signer, domain, &s)
}

// ppAs is a PRE-PREPARE with body s signed by prep signer under domain.
func (g *Gen) ppAs(s spec.Slot, signer uint64, domain string) spec.PrePrepare {
	return spec.PrePrepare{Body: s, Sig: g.slotSigned(spec.RolePrep, signer, domain, s)}
}

// prepareAs is a PREPARE with body s signed by (role, signer) under domain.
func (g *Gen) prepareAs(s spec.Slot, role spec.Role, signer uint64, domain string) spec.Prepare {
	return spec.Prepare{Body: s, Sig: g.slotSigned(role, signer, domain, s)}
}

// commitAs is a COMMIT with body s signed by (role, signer) under domain.
func (g *Gen) commitAs(s spec.Slot, role spec.Role, signer uint64, domain string) spec.Commit {
	return spec.Commit{Body: s, Sig: g.slotSigned(role, signer, domain, s)}
}

// vcSigned signs a VIEW-CHANGE body as conf signer.
func (g *Gen) vcSigned(body spec.ViewChangeBody, signer uint64) spec.ViewChange {
	return spec.ViewChange{Body: body, Sig: g.signAs(spec.RoleConf, signer, spec.DomainViewChange, &body)}
}

// genesisVCs returns VIEW-CHANGEs to view w with the genesis certificate and nothing
// prepared, from the confs of replicas.
func (g *Gen) genesisVCs(w uint64, replicas ...uint64) []spec.ViewChange {
	var vcs []spec.ViewChange
	for _, r := range replicas {
		vcs = append(vcs, g.ViewChange(w, r, g.CheckpointCert(0, spec.Digest{})))
	}
	return vcs
}

// oSigned signs each slot of O as the prep of its Replica (pre-prepare domain).
func (g *Gen) oSigned(o []spec.Slot) []spec.PrePrepare {
	var pps []spec.PrePrepare
	for _, s := range o {
		pps = append(pps, g.ppAs(s, s.Replica, spec.DomainPrePrepare))
	}
	return pps
}

// nvWith builds a NEW-VIEW for w from vcs with the given O, signed by prep signer.
func (g *Gen) nvWith(w, replica uint64, vcs []spec.ViewChange, o []spec.PrePrepare, signer uint64) spec.NewView {
	body := spec.NewViewBody{View: w, Replica: replica, ViewChanges: vcs, PrePrepares: o}
	return spec.NewView{Body: body, Sig: g.signAs(spec.RolePrep, signer, spec.DomainNewView, &body)}
}

// nvO builds the NEW-VIEW for w from vcs with slots o, everything signed correctly by
// the primary of w.
func (g *Gen) nvO(w uint64, vcs []spec.ViewChange, o []spec.Slot) spec.NewView {
	p := g.Primary(w)
	return g.nvWith(w, p, vcs, g.oSigned(o), p)
}

// batch returns a batch of the given requests.
func batch(reqs ...spec.Request) spec.Batch { return spec.Batch{Requests: reqs} }

// DelOp returns an encoded kv-v1 delete.
func DelOp(key string) []byte {
	return spec.Encode(&spec.KVOp{Op: spec.KVDelete, Key: []byte(key)})
}

// CASAbsentOp returns an encoded kv-v1 compare-and-swap requiring key to be absent.
func CASAbsentOp(key, value string) []byte {
	return spec.Encode(&spec.KVOp{Op: spec.KVCAS, Key: []byte(key), Value: []byte(value), Absent: true})
}

// configWith returns the fixture configuration changed by mod, encoded.
func (g *Gen) configWith(mod func(c *spec.Config)) []byte {
	var c spec.Config
	if err := spec.Decode(spec.Encode(g.Config), &c, spec.MaxMessageBytes); err != nil {
		panic(err)
	}
	mod(&c)
	return spec.Encode(&c)
}

// configureWith is the configure input with the configuration changed by mod and the
// fixture's own share (exec) or none.
func (g *Gen) configureWith(mod func(c *spec.Config)) spec.Input {
	return In(spec.KindConfigure, &spec.Configure{Config: g.configWith(mod), Share: g.ownShare})
}

// configureShares is the configure input with the fixture configuration and shares.
func (g *Gen) configureShares(shares ...spec.GroupKeyShare) spec.Input {
	return In(spec.KindConfigure, &spec.Configure{Config: spec.Encode(g.Config), Share: shares})
}

// freshKey returns an Ed25519 public key no fixture party holds.
func freshKey(label string) spec.PublicKey {
	seed := sha256.Sum256([]byte("conformance/fresh/" + label))
	var k spec.PublicKey
	copy(k[:], ed25519.NewKeyFromSeed(seed[:]).Public().(ed25519.PublicKey))
	return k
}

// Ed25519 encodings that the key admission rule (§3.3) refuses.
var (
	// smallOrderKey encodes the identity point (y = 1): canonical, order 1.
	smallOrderKey = spec.PublicKey{0x01}
	// nonCanonicalKey encodes y = p + 3: it decodes (leniently) to the point with
	// y = 3, which has large order, but the encoding is not canonical.
	nonCanonicalKey = spec.PublicKey{0xf0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}
)

// commonCases are the cases of §8.1 and §8.3 for role r.
func commonCases(r spec.Role) []Case {
	var cs []Case
	cs = append(cs, preambleCases(r)...)
	cs = append(cs, configureCases(r)...)
	cs = append(cs, checkpointCases(r)...)
	cs = append(cs, epochCases(r)...)
	return withRole(r, cs)
}

// withRole sets the role of cases.
func withRole(r spec.Role, cs []Case) []Case {
	for i := range cs {
		cs[i].Role = r
	}
	return cs
}
