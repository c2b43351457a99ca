package agreebtest

import "github.com/splitbft/splitbft/spec"

// Request builds a request of client c with timestamp ts and nops operations,
// signed by the client.
func (w *World) Request(c, ts uint64, nops int) spec.Request {
	body := spec.RequestBody{Client: c, Timestamp: ts}
	for i := 0; i < nops; i++ {
		var op spec.SealedOp
		w.Rng.Read(op.Nonce[:])
		op.Ciphertext = make([]byte, 17+w.Rng.Intn(MaxOpSize-16))
		w.Rng.Read(op.Ciphertext)
		body.Ops = append(body.Ops, op)
	}
	return w.SignRequest(body)
}

// SignRequest signs a request body with its client's key (clients unknown to the
// fixture sign with client 10's key).
func (w *World) SignRequest(body spec.RequestBody) spec.Request {
	k := w.ClientKeys[body.Client]
	if k == nil {
		k = w.ClientKeys[10]
	}
	return spec.Request{Body: body, Sig: w.Sign(k, spec.DomainRequest, &body)}
}

// Batch builds a batch of n fresh valid requests.
func (w *World) Batch(n int) spec.Batch {
	var b spec.Batch
	for i := 0; i < n; i++ {
		b.Requests = append(b.Requests, w.Request(Clients[i%len(Clients)], uint64(100+i), 1+i%MaxOps))
	}
	return b
}

// PrePrepare builds a PRE-PREPARE (v, s, d) signed by the prep of replica r.
func (w *World) PrePrepare(v, s uint64, d spec.Digest, r uint64) spec.PrePrepare {
	body := spec.Slot{View: v, Seq: s, Digest: d, Replica: r}
	return spec.PrePrepare{Body: body, Sig: w.Sign(w.Preps[r%N], spec.DomainPrePrepare, &body)}
}

// Proposal builds the primary's proposal of b at (v, s).
func (w *World) Proposal(v, s uint64, b spec.Batch) spec.Proposal {
	return spec.Proposal{Header: w.PrePrepare(v, s, spec.BatchDigest(&b), v%N), Batch: b}
}

// Prepare builds a PREPARE (v, s, d) signed by the prep of replica r.
func (w *World) Prepare(v, s uint64, d spec.Digest, r uint64) spec.Prepare {
	body := spec.Slot{View: v, Seq: s, Digest: d, Replica: r}
	return spec.Prepare{Body: body, Sig: w.Sign(w.Preps[r%N], spec.DomainPrepare, &body)}
}

// Checkpoint builds a CHECKPOINT (seq, state) signed by the exec of replica r.
func (w *World) Checkpoint(seq uint64, state spec.Digest, r uint64) spec.Checkpoint {
	body := spec.CheckpointBody{Seq: seq, State: state, Replica: r}
	return spec.Checkpoint{Body: body, Sig: w.Sign(w.Execs[r%N], spec.DomainCheckpoint, &body)}
}

// CheckpointCert builds a checkpoint certificate from the execs of replicas rs.
func (w *World) CheckpointCert(seq uint64, state spec.Digest, rs ...uint64) spec.CheckpointCert {
	cert := spec.CheckpointCert{Seq: seq, State: state}
	for _, r := range rs {
		cert.Proof = append(cert.Proof, w.Checkpoint(seq, state, r))
	}
	return cert
}

// PreparedCert builds a valid prepared certificate for (v, s, d): the primary's
// PRE-PREPARE and PREPAREs from the 2f lowest other replicas.
func (w *World) PreparedCert(v, s uint64, d spec.Digest) spec.PreparedCert {
	p := v % N
	pc := spec.PreparedCert{Header: w.PrePrepare(v, s, d, p)}
	for r := uint64(0); r < N && len(pc.Prepares) < 2*F; r++ {
		if r != p {
			pc.Prepares = append(pc.Prepares, w.Prepare(v, s, d, r))
		}
	}
	return pc
}

// ViewChange builds a VIEW-CHANGE for view v from the conf of replica r.
func (w *World) ViewChange(v, r uint64, stable spec.CheckpointCert, prepared ...spec.PreparedCert) spec.ViewChange {
	return w.SignedViewChange(spec.ViewChangeBody{View: v, Replica: r, Stable: stable, Prepared: prepared})
}

// SignedViewChange signs body as its sender's conf.
func (w *World) SignedViewChange(body spec.ViewChangeBody) spec.ViewChange {
	return spec.ViewChange{Body: body, Sig: w.Sign(w.Confs[body.Replica%N], spec.DomainViewChange, &body)}
}

// Genesis returns the genesis checkpoint certificate.
func Genesis() spec.CheckpointCert { return spec.CheckpointCert{} }

// NewView builds a NEW-VIEW for view v by its primary from vcs and O entries.
func (w *World) NewView(v uint64, vcs []spec.ViewChange, o []spec.Slot) spec.NewView {
	p := v % N
	body := spec.NewViewBody{View: v, Replica: p, ViewChanges: vcs}
	for _, e := range o {
		body.PrePrepares = append(body.PrePrepares, spec.PrePrepare{Body: e, Sig: w.Sign(w.Preps[p], spec.DomainPrePrepare, &e)})
	}
	return spec.NewView{Body: body, Sig: w.Sign(w.Preps[p], spec.DomainNewView, &body)}
}

// Digest returns a distinct test digest: 32 bytes b.
func Digest(b byte) spec.Digest {
	var d spec.Digest
	for i := range d {
		d[i] = b
	}
	return d
}

// Ptr returns a pointer to a copy of v.
func Ptr[T any](v T) *T { return &v }

// MakeStable delivers q matching checkpoints for seq from the execs of 0..q−1 and
// checks that seq became stable.
func (w *World) MakeStable(seq uint64) {
	w.T.Helper()
	for r := uint64(0); r < 2*F+1; r++ {
		c := w.Checkpoint(seq, Digest(byte(seq)), r)
		w.MustAccept(Input(spec.KindCheckpoint, &c))
	}
	if st := w.Status(); st.Stable != seq {
		w.T.Fatalf("seed %d: stable %d, want %d", w.Seed, st.Stable, seq)
	}
}
