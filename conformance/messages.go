package conformance

import (
	"bytes"
	"sort"

	"github.com/splitbft/splitbft/spec"
)

// In wraps a body as a Step input of the given kind.
func In(kind uint64, body any) spec.Input {
	return spec.Input{Kind: kind, Body: spec.Encode(body)}
}

// Request builds a signed request of fixture client ci with one sealed op per
// plaintext, timestamps ts, ts+1, ….
func (fx *Fixture) Request(ci int, ts uint64, ops ...[]byte) spec.Request {
	c := fx.clients[ci]
	body := spec.RequestBody{Client: c.ID, Timestamp: ts}
	for j, op := range ops {
		body.Ops = append(body.Ops, fx.SealOp(c, ts+uint64(j), op))
	}
	return fx.SignRequest(ci, body)
}

// SignRequest signs a request body as fixture client ci.
func (fx *Fixture) SignRequest(ci int, body spec.RequestBody) spec.Request {
	var sig spec.Signature
	copy(sig[:], signEd(fx.clients[ci].Sign, spec.SignedBytes(spec.DomainRequest, fx.CD, spec.Encode(&body))))
	return spec.Request{Body: body, Sig: sig}
}

// PutOp returns an encoded kv-v1 put.
func PutOp(key, value string) []byte {
	return spec.Encode(&spec.KVOp{Op: spec.KVPut, Key: []byte(key), Value: []byte(value)})
}

// GetOp returns an encoded kv-v1 get.
func GetOp(key string) []byte {
	return spec.Encode(&spec.KVOp{Op: spec.KVGet, Key: []byte(key)})
}

// PrePrepare signs Slot{v, n, d, primary(v)} as the primary's prep.
func (fx *Fixture) PrePrepare(v, n uint64, d spec.Digest) spec.PrePrepare {
	body := spec.Slot{View: v, Seq: n, Digest: d, Replica: fx.Primary(v)}
	return spec.PrePrepare{Body: body, Sig: fx.Sign(spec.RolePrep, body.Replica, spec.DomainPrePrepare, &body)}
}

// Proposal builds the primary's proposal of batch b at (v, n).
func (fx *Fixture) Proposal(v, n uint64, b spec.Batch) spec.Proposal {
	return spec.Proposal{Header: fx.PrePrepare(v, n, spec.BatchDigest(&b)), Batch: b}
}

// Prepare signs a PREPARE as replica r's prep.
func (fx *Fixture) Prepare(v, n uint64, d spec.Digest, r uint64) spec.Prepare {
	body := spec.Slot{View: v, Seq: n, Digest: d, Replica: r}
	return spec.Prepare{Body: body, Sig: fx.Sign(spec.RolePrep, r, spec.DomainPrepare, &body)}
}

// Commit signs a COMMIT as replica r's conf.
func (fx *Fixture) Commit(v, n uint64, d spec.Digest, r uint64) spec.Commit {
	body := spec.Slot{View: v, Seq: n, Digest: d, Replica: r}
	return spec.Commit{Body: body, Sig: fx.Sign(spec.RoleConf, r, spec.DomainCommit, &body)}
}

// Checkpoint signs a CHECKPOINT as replica r's exec.
func (fx *Fixture) Checkpoint(n uint64, state spec.Digest, r uint64) spec.Checkpoint {
	body := spec.CheckpointBody{Seq: n, State: state, Replica: r}
	return spec.Checkpoint{Body: body, Sig: fx.Sign(spec.RoleExec, r, spec.DomainCheckpoint, &body)}
}

// CheckpointCert builds a stable checkpoint certificate for (n, state) from the execs
// of replicas signers (sorted by the caller), or the genesis certificate for n = 0.
func (fx *Fixture) CheckpointCert(n uint64, state spec.Digest, signers ...uint64) spec.CheckpointCert {
	cert := spec.CheckpointCert{Seq: n, State: state}
	for _, r := range signers {
		cert.Proof = append(cert.Proof, fx.Checkpoint(n, state, r))
	}
	return cert
}

// PreparedCert builds a prepared certificate for (v, n, d) with the PREPAREs of the 2f
// lowest non-primary replicas.
func (fx *Fixture) PreparedCert(v, n uint64, d spec.Digest) spec.PreparedCert {
	cert := spec.PreparedCert{Header: fx.PrePrepare(v, n, d)}
	for r := uint64(0); r < fx.N && len(cert.Prepares) < int(2*fx.Params.F); r++ {
		if r != fx.Primary(v) {
			cert.Prepares = append(cert.Prepares, fx.Prepare(v, n, d, r))
		}
	}
	return cert
}

// ViewChange signs a VIEW-CHANGE to view w as replica r's conf.
func (fx *Fixture) ViewChange(w, r uint64, stable spec.CheckpointCert, prepared ...spec.PreparedCert) spec.ViewChange {
	body := spec.ViewChangeBody{View: w, Replica: r, Stable: stable, Prepared: prepared}
	return spec.ViewChange{Body: body, Sig: fx.Sign(spec.RoleConf, r, spec.DomainViewChange, &body)}
}

// NewView builds and signs the NEW-VIEW for view w from vcs (sorted by replica),
// computing the PRE-PREPARE set as SPEC.md §8.5 says.
func (fx *Fixture) NewView(w uint64, vcs []spec.ViewChange) spec.NewView {
	body := spec.NewViewBody{View: w, Replica: fx.Primary(w), ViewChanges: vcs}
	for _, s := range OSet(fx.N, w, vcs) {
		body.PrePrepares = append(body.PrePrepares,
			spec.PrePrepare{Body: s, Sig: fx.Sign(spec.RolePrep, s.Replica, spec.DomainPrePrepare, &s)})
	}
	return spec.NewView{Body: body, Sig: fx.Sign(spec.RolePrep, body.Replica, spec.DomainNewView, &body)}
}

// OSet computes PBFT's O for view w from view-changes vcs (SPEC.md §8.5), without
// checking any signature.
func OSet(n, w uint64, vcs []spec.ViewChange) []spec.Slot {
	var minS, maxS uint64
	for _, vc := range vcs {
		minS = max(minS, vc.Body.Stable.Seq)
	}
	maxS = minS
	best := map[uint64]spec.Slot{}
	for _, vc := range vcs {
		for _, pc := range vc.Body.Prepared {
			h := pc.Header.Body
			maxS = max(maxS, h.Seq)
			cur, ok := best[h.Seq]
			if !ok || h.View > cur.View || (h.View == cur.View && bytes.Compare(h.Digest[:], cur.Digest[:]) < 0) {
				best[h.Seq] = h
			}
		}
	}
	var out []spec.Slot
	for s := minS + 1; s <= maxS; s++ {
		d := spec.NullBatchDigest()
		if b, ok := best[s]; ok {
			d = b.Digest
		}
		out = append(out, spec.Slot{View: w, Seq: s, Digest: d, Replica: w % n})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Seq < out[j].Seq })
	return out
}
