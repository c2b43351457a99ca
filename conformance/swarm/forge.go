package swarm

import (
	"github.com/splitbft/splitbft/spec"
)

// This file holds what Byzantine enclaves sign: conflicting variants (equivocation),
// small-scope mutations of the fields they sign, stale variants, and eager messages.
// Every one is signed with the enclave's real key, so only quorums stop it.

// randomDigest returns another digest: a known batch's, the null batch's, or junk.
func (s *sim) randomDigest() spec.Digest {
	switch k := s.rng.IntN(4); {
	case k < 2 && len(s.batchList) > 0:
		return s.batchList[s.rng.IntN(len(s.batchList))]
	case k == 2:
		return s.null
	}
	var d spec.Digest
	for i := range d {
		d[i] = byte(s.rng.Uint32())
	}
	return d
}

// randomBatch composes a batch from requests the adversary holds; now and then one
// request carries a broken client signature (validity: it must never execute).
func (s *sim) randomBatch() (spec.Batch, bool) {
	if len(s.requests) == 0 {
		return spec.Batch{}, false
	}
	var b spec.Batch
	k := 1 + s.rng.IntN(int(s.cfg.MaxBatchRequests))
	for range k {
		var r spec.Request
		raw := s.requests[len(s.requests)-1-s.rng.IntN(min(len(s.requests), 8))].raw // mostly recent ones
		if spec.Decode(raw, &r, spec.MaxBodyBytes(spec.KindRequest)) == nil {
			b.Requests = append(b.Requests, r)
		}
	}
	if len(b.Requests) == 0 {
		return b, false
	}
	if s.rng.IntN(10) == 0 {
		r := &b.Requests[s.rng.IntN(len(b.Requests))]
		r.Sig[s.rng.IntN(64)] ^= 1 << s.rng.IntN(8)
	}
	s.noteBatch(spec.Encode(&b), &b)
	return b, true
}

// signSlot signs a slot under the domain of kind with the Byzantine key.
func (s *sim) signSlot(nd *node, kind uint64, sl spec.Slot) []byte {
	switch kind {
	case spec.KindPrepare:
		return spec.Encode(&spec.Prepare{Body: sl, Sig: s.sign(nd.key, spec.DomainPrepare, &sl)})
	case spec.KindCommit:
		return spec.Encode(&spec.Commit{Body: sl, Sig: s.sign(nd.key, spec.DomainCommit, &sl)})
	}
	return spec.Encode(&spec.PrePrepare{Body: sl, Sig: s.sign(nd.key, spec.DomainPrePrepare, &sl)})
}

// proposal signs a proposal of batch b at slot sl (its digest set from b).
func (s *sim) proposal(nd *node, sl spec.Slot, b spec.Batch) []byte {
	sl.Digest = spec.BatchDigest(&b)
	return spec.Encode(&spec.Proposal{Header: spec.PrePrepare{Body: sl, Sig: s.sign(nd.key, spec.DomainPrePrepare, &sl)}, Batch: b})
}

// slotOf decodes the slot of a slot message (proposal, prepare, commit).
func slotOf(kind uint64, body []byte) (spec.Slot, spec.Batch, bool) {
	v, err := spec.DecodeKind(kind, body)
	if err != nil {
		return spec.Slot{}, spec.Batch{}, false
	}
	switch m := v.(type) {
	case *spec.Proposal:
		return m.Header.Body, m.Batch, true
	case *spec.Prepare:
		return m.Body, spec.Batch{}, true
	case *spec.Commit:
		return m.Body, spec.Batch{}, true
	}
	return spec.Slot{}, spec.Batch{}, false
}

// equivocate signs a message that conflicts with one the enclave signed: another
// digest for the same slot, another state for the same checkpoint, a view change that
// omits prepared certificates, a NEW-VIEW with a wrong PRE-PREPARE set.
func (s *sim) equivocate(nd *node, kind uint64, body []byte) (uint64, []byte, bool) {
	if sl, _, ok := slotOf(kind, body); ok {
		if kind == spec.KindProposal {
			for range 4 { // another batch, with another digest
				if b, ok := s.randomBatch(); ok && spec.BatchDigest(&b) != sl.Digest {
					return kind, s.proposal(nd, sl, b), true
				}
			}
			return 0, nil, false
		}
		sl.Digest = s.randomDigest()
		return kind, s.signSlot(nd, kind, sl), true
	}
	switch kind {
	case spec.KindCheckpoint:
		var c spec.Checkpoint
		if spec.Decode(body, &c, spec.MaxBodyBytes(kind)) != nil {
			return 0, nil, false
		}
		c.Body.State[s.rng.IntN(32)] ^= 0x5a
		c.Sig = s.sign(nd.key, spec.DomainCheckpoint, &c.Body)
		return kind, spec.Encode(&c), true
	case spec.KindViewChange:
		var vc spec.ViewChange
		if spec.Decode(body, &vc, spec.MaxMessageBytes) != nil || len(vc.Body.Prepared) == 0 {
			return 0, nil, false
		}
		vc.Body.Prepared = vc.Body.Prepared[:s.rng.IntN(len(vc.Body.Prepared))]
		vc.Sig = s.sign(nd.key, spec.DomainViewChange, &vc.Body)
		return kind, spec.Encode(&vc), true
	case spec.KindNewView:
		return s.wrongNewView(nd, body)
	}
	return 0, nil, false
}

// wrongNewView re-signs a NEW-VIEW with one PRE-PREPARE of its O set changed: correct
// preps recompute O and reject it (W6); confs store it but it can never gather 2f
// PREPAREs (§15).
func (s *sim) wrongNewView(nd *node, body []byte) (uint64, []byte, bool) {
	var nv spec.NewView
	if spec.Decode(body, &nv, spec.MaxMessageBytes) != nil || len(nv.Body.PrePrepares) == 0 {
		return 0, nil, false
	}
	o := nv.Body.PrePrepares
	j := s.rng.IntN(len(o))
	if s.rng.IntN(3) == 0 {
		nv.Body.PrePrepares = append(o[:j:j], o[j+1:]...)
	} else {
		o[j].Body.Digest = s.randomDigest()
		o[j].Sig = s.sign(nd.key, spec.DomainPrePrepare, &o[j].Body)
	}
	nv.Sig = s.sign(nd.key, spec.DomainNewView, &nv.Body)
	return spec.KindNewView, spec.Encode(&nv), true
}

// mutate signs a small-scope mutation of a message: view or sequence ±1, another
// digest or state, another replica id.
func (s *sim) mutate(nd *node, kind uint64, body []byte) (uint64, []byte, bool) {
	if sl, b, ok := slotOf(kind, body); ok {
		switch s.rng.IntN(4) {
		case 0:
			sl.View = bump(sl.View, s.rng.IntN(2) == 0)
		case 1:
			sl.Seq = bump(sl.Seq, s.rng.IntN(2) == 0)
		case 2:
			sl.Digest = s.randomDigest()
		default:
			sl.Replica = (sl.Replica + 1 + s.rng.Uint64N(s.cfg.N-1)) % s.cfg.N
		}
		if kind == spec.KindProposal {
			h := spec.PrePrepare{Body: sl, Sig: s.sign(nd.key, spec.DomainPrePrepare, &sl)}
			return kind, spec.Encode(&spec.Proposal{Header: h, Batch: b}), true
		}
		return kind, s.signSlot(nd, kind, sl), true
	}
	switch kind {
	case spec.KindCheckpoint:
		var c spec.Checkpoint
		if spec.Decode(body, &c, spec.MaxBodyBytes(kind)) != nil {
			return 0, nil, false
		}
		switch s.rng.IntN(3) {
		case 0:
			c.Body.Seq = bump(c.Body.Seq, s.rng.IntN(2) == 0)
		case 1:
			c.Body.State = s.randomDigest()
		default:
			c.Body.Replica = (c.Body.Replica + 1) % s.cfg.N
		}
		c.Sig = s.sign(nd.key, spec.DomainCheckpoint, &c.Body)
		return kind, spec.Encode(&c), true
	case spec.KindViewChange:
		var vc spec.ViewChange
		if spec.Decode(body, &vc, spec.MaxMessageBytes) != nil {
			return 0, nil, false
		}
		if s.rng.IntN(2) == 0 {
			vc.Body.View = bump(vc.Body.View, true)
		} else {
			vc.Body.Replica = (vc.Body.Replica + 1) % s.cfg.N
		}
		vc.Sig = s.sign(nd.key, spec.DomainViewChange, &vc.Body)
		return kind, spec.Encode(&vc), true
	case spec.KindNewView:
		return s.wrongNewView(nd, body)
	}
	return 0, nil, false
}

// staleVariant re-signs a slot message or checkpoint for an older view or sequence.
func (s *sim) staleVariant(nd *node, kind uint64, body []byte) (uint64, []byte, bool) {
	sl, b, ok := slotOf(kind, body)
	if !ok {
		return 0, nil, false
	}
	if sl.View > 0 && s.rng.IntN(2) == 0 {
		sl.View--
	} else if sl.Seq > 1 {
		sl.Seq -= 1 + s.rng.Uint64N(min(sl.Seq-1, s.cfg.Window))
	}
	if kind == spec.KindProposal {
		h := spec.PrePrepare{Body: sl, Sig: s.sign(nd.key, spec.DomainPrePrepare, &sl)}
		return kind, spec.Encode(&spec.Proposal{Header: h, Batch: b}), true
	}
	return kind, s.signSlot(nd, kind, sl), true
}

func bump(x uint64, up bool) uint64 {
	if up || x == 0 {
		return x + 1
	}
	return x - 1
}

// randomSlotMsg returns the slot of a random proposal or prepare in the pool.
func (s *sim) randomSlotMsg() (spec.Slot, bool) {
	ids := s.byKind[spec.KindProposal]
	if s.rng.IntN(2) == 0 && len(s.byKind[spec.KindPrepare]) > 0 {
		ids = s.byKind[spec.KindPrepare]
	}
	if len(ids) == 0 {
		return spec.Slot{}, false
	}
	m := &s.pool[ids[len(ids)-1-s.rng.IntN(min(len(ids), 64))]] // mostly recent ones
	return spec.Slot{View: m.view, Seq: m.seq, Digest: m.digest}, true
}

// eagerPrep: as primary, propose a random batch at a random sequence number of the
// window (possibly one already used: equivocation); otherwise prepare any slot seen.
func (s *sim) eagerPrep(nd *node) bool {
	st := nd.status
	if st.View%s.cfg.N == nd.id.Replica {
		b, ok := s.randomBatch()
		if !ok {
			return false
		}
		sl := spec.Slot{View: st.View, Seq: st.Stable + 1 + s.rng.Uint64N(s.cfg.Window), Replica: nd.id.Replica}
		s.byzEmit(nd, spec.KindProposal, s.proposal(nd, sl, b), nil)
		return true
	}
	sl, ok := s.randomSlotMsg()
	if !ok {
		return false
	}
	if s.rng.IntN(3) == 0 {
		sl.Digest = s.randomDigest()
	}
	sl.Replica = nd.id.Replica
	s.byzEmit(nd, spec.KindPrepare, s.signSlot(nd, spec.KindPrepare, sl), nil)
	return true
}

// eagerConf: commit any slot seen, or send a view change that claims nothing
// prepared.
func (s *sim) eagerConf(nd *node) bool {
	if s.rng.IntN(5) == 0 {
		body := spec.ViewChangeBody{View: nd.status.View + 1 + s.rng.Uint64N(2), Replica: nd.id.Replica}
		vc := spec.ViewChange{Body: body, Sig: s.sign(nd.key, spec.DomainViewChange, &body)}
		s.byzEmit(nd, spec.KindViewChange, spec.Encode(&vc), nil)
		return true
	}
	sl, ok := s.randomSlotMsg()
	if !ok {
		return false
	}
	sl.Replica = nd.id.Replica
	s.byzEmit(nd, spec.KindCommit, s.signSlot(nd, spec.KindCommit, sl), nil)
	return true
}

// eagerExec: sign a checkpoint for a plausible sequence number with a wrong state.
func (s *sim) eagerExec(nd *node) bool {
	k := s.cfg.CheckpointInterval
	body := spec.CheckpointBody{Seq: k * (1 + nd.status.Last/k + s.rng.Uint64N(3)), State: s.randomDigest(), Replica: nd.id.Replica}
	c := spec.Checkpoint{Body: body, Sig: s.sign(nd.key, spec.DomainCheckpoint, &body)}
	s.byzEmit(nd, spec.KindCheckpoint, spec.Encode(&c), nil)
	return true
}

// forgeReply reseals a Byzantine exec's reply with a wrong result list under its real
// pairwise key: the list of its genuine reply (one result per operation of the
// request) with one result replaced, so it has the right length and agrees everywhere
// else. The reply opens, and only f+1 voting on whole lists protects the client.
func (s *sim) forgeReply(nd *node, body []byte) ([]byte, bool) {
	var r spec.Reply
	if spec.Decode(body, &r, spec.MaxBodyBytes(spec.KindReply)) != nil {
		return nil, false
	}
	cl := s.cfg.Client(r.Client)
	if cl == nil {
		return nil, false
	}
	aead, err := replyAEAD(nd.box, cl.BoxKey, s.cd, r.Client, nd.id.Replica)
	if err != nil {
		return nil, false
	}
	wrong := spec.Result{Status: spec.StatusOK, Value: []byte("forged by a Byzantine exec")}
	ad := replyAD(s.cd, &r, nd.id.Replica)
	var list spec.ReplyResults
	if pt, err := aead.Open(nil, r.Nonce[:], r.Ciphertext, ad); err != nil ||
		spec.Decode(pt, &list, spec.MaxBodyBytes(spec.KindReply)) != nil || len(list.Results) == 0 {
		list.Results = []spec.Result{{}}
	}
	list.Results[r.Timestamp%uint64(len(list.Results))] = wrong
	r.Ciphertext = aead.Seal(nil, r.Nonce[:], spec.Encode(&list), ad)
	return spec.Encode(&r), true
}
