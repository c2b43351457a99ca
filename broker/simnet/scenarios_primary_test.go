package simnet

import (
	"crypto/ed25519"
	"slices"
	"testing"

	"github.com/splitbft/splitbft/broker"
	"github.com/splitbft/splitbft/spec"
)

// Scenarios with a faulty, slow or silent primary: 1, 2, 3, 6 and 10.

// decodeProposal returns the proposal an output carries, if it is one.
func decodeProposal(o *spec.Output) (*spec.Proposal, bool) {
	if o.Kind != spec.KindProposal {
		return nil, false
	}
	var p spec.Proposal
	if spec.Decode(o.Body, &p, spec.MaxBodyBytes(spec.KindProposal)) != nil {
		return nil, false
	}
	return &p, true
}

// rewriteEnclave replaces compartment id by a Byzantine wrapper running rewrite on
// every StepOutput of the real compartment.
func (sc *scenario) rewriteEnclave(id EnclaveID, rewrite func(in *spec.StepInput, out *spec.StepOutput)) {
	sc.s.SetEnclave(id, func(real broker.Enclave) broker.Enclave { return &Byzantine{Real: real, Rewrite: rewrite} })
}

// pickOthers returns a subset of the replicas other than not, each in with
// probability 1/2, sorted.
func (sc *scenario) pickOthers(not uint64) []uint64 {
	var out []uint64
	for r := range sc.s.N() {
		if r != not && sc.rng.IntN(2) == 0 {
			out = append(out, r)
		}
	}
	return out
}

// TestScenario01PrimaryCrashMidBatch: replica 0, the primary of view 0, crashes in the
// middle of a batch: its proposal for a sequence number drawn from the seed reaches a
// subset of the backups drawn from the seed (none, some or all), then the replica
// stops. Depending on the subset the batch is prepared nowhere, at some confs, or
// committed; the backups' request timers expire on the clients' retransmissions, they
// change to view 1, the new primary re-proposes whatever may have committed (fetching
// the batch where an exec never received it) and orders the rest.
//
// Bound: final view ≤ 1. Primary(1) = 1 is correct and the network is synchronous
// (latency ≤ 3 ticks, timers ≥ 60 ticks), so view 1 is installed before any
// view-change timer can expire, and nothing makes a correct broker suspect it.
func TestScenario01PrimaryCrashMidBatch(t *testing.T) {
	runScenario(t, []uint64{101, 102, 103}, func(t *testing.T, c scenarioCase) {
		sc := newScenario(t, c, scenarioOpts{})
		at := 2 + sc.rng.Uint64N(40)
		reach := sc.pickOthers(0)
		sc.note("batch %d reaches %v", at, reach)
		crashing := false
		// The crash as the broker saw it: the proposal for seq `at` leaves for `reach`
		// only, and nothing proposed later leaves the replica.
		sc.rewriteEnclave(EnclaveID{Role: spec.RolePrep, Replica: 0}, func(_ *spec.StepInput, out *spec.StepOutput) {
			for i := range out.Outputs {
				o := &out.Outputs[i]
				if p, ok := decodeProposal(o); ok && p.Header.Body.Seq >= at {
					o.To.Replicas = []uint64{0}
					if p.Header.Body.Seq == at {
						o.To.Replicas = append(o.To.Replicas, reach...)
					}
					crashing = true
				}
			}
		})
		sc.start()
		sc.until("the interrupted batch", func() bool { return crashing }, 5_000_000)
		sc.s.Crash(0)
		sc.finish(1)
		sc.wantView(1, "the crash must cause one view change")
	})
}

// signer returns the Ed25519 key of compartment id, learned from its randomness
// (SPEC.md §3.5), and the cluster's config digest.
func (sc *scenario) signer(id EnclaveID) (ed25519.PrivateKey, spec.Digest) {
	return enclaveKeys(sc.t, sc.s, id).Sign, spec.ConfigDigest(sc.s.Config())
}

// forgeProposal returns an encoded proposal of batch b at (view, seq) signed with the
// primary prep's key.
func forgeProposal(key ed25519.PrivateKey, cd spec.Digest, view, seq, primary uint64, b spec.Batch) []byte {
	h := spec.Slot{View: view, Seq: seq, Digest: spec.BatchDigest(&b), Replica: primary}
	var sig spec.Signature
	copy(sig[:], ed25519.Sign(key, spec.SignedBytes(spec.DomainPrePrepare, cd, spec.Encode(&h))))
	return spec.Encode(&spec.Proposal{Header: spec.PrePrepare{Body: h, Sig: sig}, Batch: b})
}

// insertBeforeStatus inserts outputs before the final status output.
func insertBeforeStatus(out *spec.StepOutput, extra ...spec.Output) {
	n := len(out.Outputs)
	if n == 0 || out.Outputs[n-1].Kind != spec.KindStatus {
		out.Outputs = append(out.Outputs, extra...)
		return
	}
	out.Outputs = append(out.Outputs[:n-1], append(extra, out.Outputs[n-1])...)
}

// others returns the replicas not in not, sorted.
func (sc *scenario) others(not ...uint64) []uint64 {
	var out []uint64
	for r := range sc.s.N() {
		if !slices.Contains(not, r) {
			out = append(out, r)
		}
	}
	return out
}

// equivocation is the Byzantine Preparation enclave of primary 0 in scenario 2: at
// sequence number at it sends its real batch to lone only, the batch it proposed just
// before (second) to the other backups, and a third batch at at+1 to ahead only.
type equivocation struct {
	sc              *scenario
	key             ed25519.PrivateKey
	cd              spec.Digest
	at, lone, ahead uint64
	prev            *spec.Batch // the batch proposed before the current one
	second          spec.Digest // BatchDigest of the batch the other backups got
	done            bool        // the equivocation happened
}

// rewrite is the Byzantine.Rewrite of the enclave.
func (e *equivocation) rewrite(_ *spec.StepInput, out *spec.StepOutput) {
	var extra []spec.Output
	for i := range out.Outputs {
		o := &out.Outputs[i]
		p, ok := decodeProposal(o)
		if !ok {
			continue
		}
		if e.done || p.Header.Body.Seq != e.at {
			e.prev = &p.Batch
			continue
		}
		e.done, e.second = true, spec.BatchDigest(e.prev)
		third := spec.Batch{Requests: append(slices.Clone(e.prev.Requests), p.Batch.Requests...)}
		o.To.Replicas = []uint64{0, e.lone}
		extra = append(extra,
			spec.Output{Kind: spec.KindProposal, To: spec.Destination{Roles: o.To.Roles, Replicas: e.sc.others(0, e.lone)},
				Body: forgeProposal(e.key, e.cd, 0, e.at, 0, *e.prev)},
			spec.Output{Kind: spec.KindProposal, To: spec.Destination{Roles: o.To.Roles, Replicas: []uint64{e.ahead}},
				Body: forgeProposal(e.key, e.cd, 0, e.at+1, 0, third)})
	}
	insertBeforeStatus(out, extra...)
}

// TestScenario02PrimaryEquivocates: the Preparation enclave of primary 0 is Byzantine
// and signs with its real key (learned through EnclaveRand): at a sequence number n
// drawn from the seed it proposes its real batch to one backup and a different valid
// batch (the previous one, a replay) to the other two, and it proposes a third batch
// at (0, n+1) to one backup only, ahead of its real proposal for n+1. Only the two
// backups that got the second batch can prepare n, so nothing commits at n, every
// later sequence number waits for it, and the request timers force a view change.
// The prepared second batch must survive into view 1 (§8.5: every quorum of
// VIEW-CHANGEs contains one of the two prepared certificates), and every exec executes
// it at n.
//
// Bound: final view ≤ 1. Prep 0 misbehaves only as the primary of view 0; the primary
// of view 1 is correct and the network synchronous (as in scenario 1).
func TestScenario02PrimaryEquivocates(t *testing.T) {
	runScenario(t, []uint64{201, 202, 203}, func(t *testing.T, c scenarioCase) {
		sc := newScenario(t, c, scenarioOpts{})
		id := EnclaveID{Role: spec.RolePrep, Replica: 0}
		e := &equivocation{sc: sc, at: 3 + sc.rng.Uint64N(40), lone: 1 + sc.rng.Uint64N(3), ahead: 1 + sc.rng.Uint64N(3)}
		e.key, e.cd = sc.signer(id)
		sc.note("equivocation at %d: real batch to %d, (0, %d) to %d", e.at, e.lone, e.at+1, e.ahead)
		sc.rewriteEnclave(id, e.rewrite)
		sc.start()
		sc.until("the equivocation", func() bool { return e.done }, 5_000_000)
		sc.finish(1)
		sc.wantView(1, "the equivocation must cause one view change")
		for r := range sc.s.N() {
			x, ok := sc.s.ExecLog(r).Executed[e.at]
			if (ok && x.Digest != e.second) || (sc.synchronous() && (!ok || x.View != 1)) {
				sc.fatalf("exec %d at %d executed %+v; want the prepared second batch %x in view 1", r, e.at, x, e.second[:4])
			}
		}
	})
}

// censor returns a delivery fault for the primary's prep that removes client's
// requests from every client batch (a faulty broker), counting them in *n.
func censor(client uint64, n *int) DeliveryFault {
	return DeliveryFault{Mutate: func(kind uint64, body []byte) []byte {
		var b spec.Batch
		if kind != spec.KindClientBatch || spec.Decode(body, &b, spec.MaxMessageBytes) != nil {
			return nil
		}
		kept := slices.DeleteFunc(slices.Clone(b.Requests), func(q spec.Request) bool { return q.Body.Client == client })
		if len(kept) == len(b.Requests) {
			return nil
		}
		*n += len(b.Requests) - len(kept)
		return spec.Encode(&spec.Batch{Requests: kept})
	}}
}

// TestScenario03PrimaryCensorsClient: the broker of primary 0 removes one client's
// requests (client drawn from the seed) from every batch it hands its prep; the other
// clients are served. The censored client retransmits to every replica, the backups'
// request timers for it expire, and view 1 orders its requests.
//
// Bound: final view ≤ 1. Broker 0 censors only while its replica is the primary; the
// primary of view 1 is correct and the network synchronous.
func TestScenario03PrimaryCensorsClient(t *testing.T) {
	runScenario(t, []uint64{301, 302, 303}, func(t *testing.T, c scenarioCase) {
		sc := newScenario(t, c, scenarioOpts{})
		victim := 1 + sc.rng.Uint64N(4)
		sc.note("client %d censored", victim)
		censored := 0
		sc.s.SetDelivery(EnclaveID{Role: spec.RolePrep, Replica: 0}, censor(victim, &censored))
		sc.start()
		sc.finish(1)
		if censored == 0 {
			sc.fatalf("nothing was censored: the scenario is vacuous")
		}
		sc.wantView(1, "the censorship must cause one view change")
	})
}

// TestScenario06ViewChangeBeforeCheckpoint: in view 0, before any checkpoint, the
// Preparation enclave of primary 0 goes silent: after a number of proposals drawn
// from the seed (0 to K−2), its next proposal reaches a subset of the backups drawn
// from the seed, and it proposes nothing after that. Every VIEW-CHANGE carries the
// genesis checkpoint certificate (Seq 0, no proof), so the NEW-VIEW's O starts at
// sequence number 1 (minS = 0) and re-proposes or fills with null batches up to the
// highest prepared one.
//
// Bound: final view ≤ 1 (prep 0 is silent only as a primary; as in scenario 1).
func TestScenario06ViewChangeBeforeCheckpoint(t *testing.T) {
	runScenario(t, []uint64{601, 602, 603}, func(t *testing.T, c scenarioCase) {
		sc := newScenario(t, c, scenarioOpts{})
		k := sc.s.Config().CheckpointInterval
		last := 1 + sc.rng.Uint64N(k-1) // the last proposal, partly sent; < K
		reach := sc.pickOthers(0)
		sc.note("proposals up to %d, the last to %v", last, reach)
		silent := false
		sc.rewriteEnclave(EnclaveID{Role: spec.RolePrep, Replica: 0}, func(_ *spec.StepInput, out *spec.StepOutput) {
			out.Outputs = slices.DeleteFunc(out.Outputs, func(o spec.Output) bool {
				p, ok := decodeProposal(&o)
				return ok && p.Header.Body.Seq > last
			})
			for i := range out.Outputs {
				if p, ok := decodeProposal(&out.Outputs[i]); ok && p.Header.Body.Seq == last {
					out.Outputs[i].To.Replicas = append([]uint64{0}, reach...)
					silent = true
				}
			}
		})
		var nv *spec.NewView
		sc.watch(spec.KindNewView, func(_, _ uint64, body []byte) {
			var m spec.NewView
			if nv == nil && spec.Decode(body, &m, spec.MaxMessageBytes) == nil && m.Body.View == 1 {
				nv = &m
			}
		})
		sc.start()
		sc.until("silence", func() bool { return silent }, 5_000_000)
		sc.finish(1)
		sc.wantView(1, "the silence must cause one view change")
		if nv == nil {
			sc.fatalf("no NEW-VIEW for view 1 was sent")
		}
		for _, vc := range nv.Body.ViewChanges {
			if vc.Body.Stable.Seq != 0 || len(vc.Body.Stable.Proof) != 0 {
				sc.fatalf("VIEW-CHANGE of %d carries checkpoint %d", vc.Body.Replica, vc.Body.Stable.Seq)
			}
		}
		o := nv.Body.PrePrepares
		if len(o) > int(last) || (len(o) > 0 && o[0].Body.Seq != 1) {
			sc.fatalf("O has %d entries from seq %d; want ≤ %d from 1", len(o), o[0].Body.Seq, last)
		}
		sc.t.Logf("O: %d entries", len(o))
	})
}

// TestScenario10TwoFaultyPrimaries: the primary of view 0 and the primary of view 1
// are both faulty, so the cluster changes view twice in a row. Variants (by seed):
// replica 0 crashes and replica 1's broker never sends its NEW-VIEW (view 1 is never
// installed at the others: their view-change timers move them on); replica 0 crashes
// and replica 1's broker withholds every client batch from its prep (view 1 is
// installed but orders nothing: the request timers move the cluster on); with f = 2
// (n = 7), replicas 0 and 1 both crash.
//
// Bound: final view ≤ 2. Primaries 0 and 1 are faulty and primary(2) = 2 is correct;
// with a synchronous network view 2 is installed before any timer expires again.
func TestScenario10TwoFaultyPrimaries(t *testing.T) {
	runScenario(t, []uint64{1001, 1002, 1003}, func(t *testing.T, c scenarioCase) {
		variant := c.seed % 3
		o := scenarioOpts{}
		if variant == 0 {
			o.f = 2
		}
		sc := newScenario(t, c, o)
		after := 5 + sc.rng.IntN(40)
		sc.note("variant %d, faults after %d results", variant, after)
		sc.start()
		sc.until("some progress", func() bool { return len(sc.s.Results()) >= after }, 5_000_000)
		sc.s.Crash(0)
		switch variant {
		case 0:
			sc.s.Crash(1)
		case 1:
			for to := range sc.s.N() {
				sc.s.SetLink(1, to, LinkFault{Hold: func(kind uint64, _ []byte) bool { return kind == spec.KindNewView }})
			}
		case 2:
			batches := 0
			sc.s.SetDelivery(EnclaveID{Role: spec.RolePrep, Replica: 1}, DeliveryFault{Mutate: func(kind uint64, body []byte) []byte {
				if kind != spec.KindClientBatch {
					return nil
				}
				batches++
				return spec.Encode(&spec.Batch{})
			}})
		}
		sc.finish(2)
		sc.wantView(2, "two faulty primaries, two view changes")
	})
}
