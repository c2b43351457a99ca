package confb

import (
	"github.com/splitbft/splitbft/spec"
)

// request builds a request of client c with timestamp ts and nops operations,
// signed by the client.
func (fx *fixture) request(c, ts uint64, nops int) spec.Request {
	body := spec.RequestBody{Client: c, Timestamp: ts}
	for i := 0; i < nops; i++ {
		var op spec.SealedOp
		fx.rng.Read(op.Nonce[:])
		op.Ciphertext = make([]byte, 17+fx.rng.Intn(testMaxOpSize-16))
		fx.rng.Read(op.Ciphertext)
		body.Ops = append(body.Ops, op)
	}
	return fx.signRequest(body)
}

// signRequest signs a request body with its client's key (clients unknown to the
// fixture sign with client 10's key).
func (fx *fixture) signRequest(body spec.RequestBody) spec.Request {
	k := fx.clients[body.Client]
	if k == nil {
		k = fx.clients[10]
	}
	return spec.Request{Body: body, Sig: fx.sign(k, spec.DomainRequest, &body)}
}

// batch builds a batch of n fresh valid requests.
func (fx *fixture) batch(n int) spec.Batch {
	var b spec.Batch
	for i := 0; i < n; i++ {
		b.Requests = append(b.Requests, fx.request(testClients[i%len(testClients)], uint64(100+i), 1+i%testMaxOps))
	}
	return b
}

// prePrepare builds a PRE-PREPARE (v, s, d) signed by the prep of replica r.
func (fx *fixture) prePrepare(v, s uint64, d spec.Digest, r uint64) spec.PrePrepare {
	body := spec.Slot{View: v, Seq: s, Digest: d, Replica: r}
	return spec.PrePrepare{Body: body, Sig: fx.sign(fx.preps[r%testN], spec.DomainPrePrepare, &body)}
}

// proposal builds the primary's proposal of b at (v, s).
func (fx *fixture) proposal(v, s uint64, b spec.Batch) spec.Proposal {
	return spec.Proposal{Header: fx.prePrepare(v, s, spec.BatchDigest(&b), v%testN), Batch: b}
}

// prepare builds a PREPARE (v, s, d) signed by the prep of replica r.
func (fx *fixture) prepare(v, s uint64, d spec.Digest, r uint64) spec.Prepare {
	body := spec.Slot{View: v, Seq: s, Digest: d, Replica: r}
	return spec.Prepare{Body: body, Sig: fx.sign(fx.preps[r%testN], spec.DomainPrepare, &body)}
}

// checkpoint builds a CHECKPOINT (seq, state) signed by the exec of replica r.
func (fx *fixture) checkpoint(seq uint64, state spec.Digest, r uint64) spec.Checkpoint {
	body := spec.CheckpointBody{Seq: seq, State: state, Replica: r}
	return spec.Checkpoint{Body: body, Sig: fx.sign(fx.execs[r%testN], spec.DomainCheckpoint, &body)}
}

// checkpointCert builds a checkpoint certificate from the execs of replicas rs.
func (fx *fixture) checkpointCert(seq uint64, state spec.Digest, rs ...uint64) spec.CheckpointCert {
	cert := spec.CheckpointCert{Seq: seq, State: state}
	for _, r := range rs {
		cert.Proof = append(cert.Proof, fx.checkpoint(seq, state, r))
	}
	return cert
}

// preparedCert builds a valid prepared certificate for (v, s, d): the primary's
// PRE-PREPARE and PREPAREs from the 2f lowest other replicas.
func (fx *fixture) preparedCert(v, s uint64, d spec.Digest) spec.PreparedCert {
	p := v % testN
	pc := spec.PreparedCert{Header: fx.prePrepare(v, s, d, p)}
	for r := uint64(0); r < testN && len(pc.Prepares) < 2*testF; r++ {
		if r != p {
			pc.Prepares = append(pc.Prepares, fx.prepare(v, s, d, r))
		}
	}
	return pc
}

// viewChange builds a VIEW-CHANGE for view w from the conf of replica r.
func (fx *fixture) viewChange(w, r uint64, stable spec.CheckpointCert, prepared ...spec.PreparedCert) spec.ViewChange {
	body := spec.ViewChangeBody{View: w, Replica: r, Stable: stable, Prepared: prepared}
	return spec.ViewChange{Body: body, Sig: fx.sign(fx.confs[r%testN], spec.DomainViewChange, &body)}
}

// genesis returns the genesis checkpoint certificate.
func genesis() spec.CheckpointCert { return spec.CheckpointCert{} }

// newView builds a NEW-VIEW for view w by its primary from vcs and O entries.
func (fx *fixture) newView(w uint64, vcs []spec.ViewChange, o []spec.Slot) spec.NewView {
	p := w % testN
	body := spec.NewViewBody{View: w, Replica: p, ViewChanges: vcs}
	for _, e := range o {
		body.PrePrepares = append(body.PrePrepares, spec.PrePrepare{Body: e, Sig: fx.sign(fx.preps[p], spec.DomainPrePrepare, &e)})
	}
	return spec.NewView{Body: body, Sig: fx.sign(fx.preps[p], spec.DomainNewView, &body)}
}

// digest returns a distinct test digest.
func digest(b byte) spec.Digest {
	var d spec.Digest
	for i := range d {
		d[i] = b
	}
	return d
}
