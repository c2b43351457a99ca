package simnet

import (
	"slices"
	"testing"

	"github.com/splitbft/splitbft/broker"
	"github.com/splitbft/splitbft/client"
	"github.com/splitbft/splitbft/spec"
)

// Scenarios of lagging replicas and state transfer: 8 and 9. Both use K = 4, L = 8, so
// that a replica falls beyond its window quickly.

// transferSetup is the configuration of the state-transfer scenarios.
func transferSetup() broker.Setup { return broker.Setup{K: 4, L: 8} }

// lagBeyondWindow cuts replica lagger off from the others, runs busy (if any), waits
// until the others' stable checkpoint is beyond the lagger's window (h > its Last + L
// + K), runs before (if any), then heals the network.
func (sc *scenario) lagBeyondWindow(lagger uint64, busy, before func()) {
	sc.t.Helper()
	var rest []uint64
	for r := range sc.s.N() {
		if r != lagger {
			rest = append(rest, r)
		}
	}
	sc.s.Partition(rest)
	cfg := sc.s.Config()
	from := sc.s.Replica(lagger).Status()[spec.RoleExec].Last
	sc.note("replica %d cut off at seq %d", lagger, from)
	if busy != nil {
		busy()
	}
	sc.until("the others passing the lagger's window", func() bool {
		return sc.s.Replica(rest[0]).Status()[spec.RoleExec].Stable > from+cfg.Window+cfg.CheckpointInterval
	}, 5_000_000)
	if before != nil {
		before()
	}
	sc.s.Heal()
}

// caughtUp reports whether replica r installed a state transfer and has executed a
// sequence number above it itself since.
func (sc *scenario) caughtUp(r uint64) bool {
	l := sc.s.ExecLog(r)
	if len(l.Transferred) == 0 {
		return false
	}
	last := l.Transferred[len(l.Transferred)-1]
	for s := range l.Executed {
		if s > last {
			return true
		}
	}
	return false
}

// TestScenario08LaggingReplicaStateTransfer: a backup drawn from the seed is cut off
// after a point drawn from the seed while 8 clients keep the cluster busy, until the
// others' stable checkpoint lies beyond its window; then the network heals. Its COMMITs
// and PRE-PREPAREs for the sequence numbers it missed are gone from everyone's window,
// so it must learn a stable checkpoint from the others' CHECKPOINTs, fetch the snapshot
// by state transfer and resume executing — all while the workload still runs (the
// stable checkpoint it asks for keeps moving). Just before the network heals, a
// test-driven client sends one request to every replica, the lagger included, and then
// stays idle: the lagger's state transfer covers that request, so its exec never
// answers it, and its broker must not suspect the correct primary for it.
//
// Bound: final view ≤ 0. The primary is correct; the lagger sees no client request
// while it is cut off, and the one it sees when it heals is executed by the others.
func TestScenario08LaggingReplicaStateTransfer(t *testing.T) {
	runScenario(t, []uint64{801, 802, 805}, func(t *testing.T, c scenarioCase) {
		sc := newScenario(t, c, scenarioOpts{clients: 8, perOps: 60, extra: 1, setup: transferSetup()})
		lagger := 1 + sc.rng.Uint64N(3)
		after := 5 + sc.rng.IntN(60)
		p := sc.player(9)
		sc.start()
		sc.until("some progress", func() bool { return len(sc.s.Results()) >= after }, 5_000_000)
		sc.lagBeyondWindow(lagger, nil, func() { p.do([][]byte{client.PutOp([]byte("idle"), []byte("x"))}) })
		healed := sc.s.Now()
		sc.until("the lagger's state transfer", func() bool { return sc.caughtUp(lagger) }, 5_000_000)
		if sc.w.done(sc.s) {
			sc.fatalf("the workload ended before replica %d caught up: not under load", lagger)
		}
		sc.note("healed at %d, caught up at %d", healed, sc.s.Now())
		sc.finish(0)
		if m := sc.s.Replica(lagger).Metrics(); m.StateRequests == 0 {
			sc.fatalf("replica %d sent no state request", lagger)
		}
	})
}

// replayer is a faulty broker at the primary (installed at every prep: only the
// primary's gets client batches): it appends a recorded client request to the next
// client batch its prep gets, as many times as armed, and records the digests of the
// batches it forged.
type replayer struct {
	req     *spec.Request
	armed   int
	digests []spec.Digest
}

func (rp *replayer) fault() DeliveryFault {
	return DeliveryFault{Mutate: func(kind uint64, body []byte) []byte {
		var b spec.Batch
		if kind != spec.KindClientBatch || rp.armed == 0 || spec.Decode(body, &b, spec.MaxMessageBytes) != nil {
			return nil
		}
		rp.armed--
		b.Requests = append(b.Requests, *rp.req)
		rp.digests = append(rp.digests, spec.BatchDigest(&b))
		return spec.Encode(&b)
	}}
}

// executedAt returns the sequence number at which exec r executed batch d itself (0:
// it did not).
func (sc *scenario) executedAt(r uint64, d spec.Digest) uint64 {
	for s, e := range sc.s.ExecLog(r).Executed {
		if e.Digest == d {
			return s
		}
	}
	return 0
}

// replay has the faulty broker append the recorded request to one more client batch
// (the test client's own request makes one) and returns that batch's digest once it is
// ordered. A forged batch that is never ordered — lost in a view change on a lossy
// network — is forged again, up to 5 times.
func (sc *scenario) replay(rp *replayer, p *player, other []byte) spec.Digest {
	sc.t.Helper()
	for try := range 5 {
		n := len(rp.digests)
		rp.armed = 1
		p.do([][]byte{client.PutOp(other, []byte{byte('a' + try)})})
		if len(rp.digests) == n {
			continue
		}
		d := rp.digests[n]
		deadline := sc.s.Now() + 1000
		sc.until("a replay ordered", func() bool { return sc.orderedAt(d) > 0 || sc.s.Now() >= deadline }, 5_000_000)
		if sc.orderedAt(d) > 0 {
			return d
		}
	}
	sc.fatalf("no batch with the replayed request was ordered in 5 tries")
	return spec.Digest{}
}

// replayAt replays the recorded request until replica r executes a batch with it
// itself, and returns that batch's digest.
func (sc *scenario) replayAt(rp *replayer, p *player, other []byte, r uint64) spec.Digest {
	sc.t.Helper()
	for range 5 {
		d := sc.replay(rp, p, other)
		sc.until("a replay everywhere", func() bool { return sc.doneWith(d) }, 5_000_000)
		if sc.executedAt(r, d) > 0 {
			return d
		}
	}
	sc.fatalf("replica %d never executed a replay itself", r)
	return spec.Digest{}
}

// orderedAt returns the sequence number at which some replica executed batch d itself
// (all that did agree on it, as CheckExecAgreement verifies), or 0.
func (sc *scenario) orderedAt(d spec.Digest) uint64 {
	for r := range sc.s.N() {
		if s := sc.executedAt(r, d); s > 0 {
			return s
		}
	}
	return 0
}

// doneWith reports whether every replica executed batch d itself or installed a state
// transfer beyond the sequence number at which it was ordered.
func (sc *scenario) doneWith(d spec.Digest) bool {
	at := sc.orderedAt(d)
	if at == 0 {
		return false
	}
	for r := range sc.s.N() {
		xfer := sc.s.ExecLog(r).Transferred
		if sc.executedAt(r, d) == 0 && (len(xfer) == 0 || xfer[len(xfer)-1] < at) {
			return false
		}
	}
	return true
}

// TestScenario09ReplayedRequestExecutesOnce: a backup drawn from the seed is cut off.
// A test-driven client writes key k twice (request A puts "first", then request B
// puts "second"). The primary's broker is faulty: it appends A again to two later
// client batches, so A is ordered at two more sequence numbers; the cut-off replica
// then falls beyond its window, and once the network heals it receives the client
// table with A and B by state transfer; then the faulty broker appends A to a batch a
// third time, which the lagger executes itself (on a lossy network, where a replica
// may cover that batch by another state transfer, A is appended again until it does).
// No replay executes A again: k reads "second", every replica's state converges, and
// no exec sends a reply for A's timestamp after the first replay (§11.5 step 1: A is
// older than B, the client's last request).
//
// Bound: final view ≤ 0 for the replicas that were never cut off (nothing makes their
// brokers suspect the correct primary) and ≤ 1 for the lagger: while cut off it sees the
// test client's requests (sent to every replica) and cannot execute them, so its broker
// may suspect view 0 — legitimately, it cannot tell a partition from a faulty primary;
// its view-change timer then never starts (only its own VIEW-CHANGE names view 1), so
// it moves no further, and its conf waits in view 1 as in PBFT while its exec follows.
func TestScenario09ReplayedRequestExecutesOnce(t *testing.T) {
	runScenario(t, []uint64{901, 904, 909}, func(t *testing.T, c scenarioCase) {
		sc := newScenario(t, c, scenarioOpts{clients: 4, perOps: 80, extra: 1, setup: transferSetup()})
		lagger := 1 + sc.rng.Uint64N(3)
		after := sc.rng.IntN(30)
		p := sc.player(5)
		rp := &replayer{}
		for r := range sc.s.N() {
			sc.s.SetDelivery(EnclaveID{Role: spec.RolePrep, Replica: r}, rp.fault())
		}
		key, other := []byte("replayed/key"), []byte("replayed/other")
		sc.start()
		sc.until("some progress", func() bool { return len(sc.s.Results()) >= after }, 5_000_000)
		var tsA uint64
		var repliesA int
		var forged []spec.Digest // the batches with A that were ordered
		replays := func() {
			_, rawA := p.do([][]byte{client.PutOp(key, []byte("first"))})
			tsA = p.sess.NextTimestamp() - 1
			p.do([][]byte{client.PutOp(key, []byte("second"))})
			settled := sc.s.Now() + 20 // replies for A still in flight arrive
			sc.until("A's replies", func() bool { return sc.s.Now() >= settled }, 5_000_000)
			repliesA = p.replies[tsA]
			var a spec.Request
			spec.Decode(rawA, &a, spec.MaxBodyBytes(spec.KindRequest))
			rp.req = &a
			forged = append(forged, sc.replay(rp, p, other), sc.replay(rp, p, other))
		}
		sc.lagBeyondWindow(lagger, replays, nil)
		sc.until("the lagger's state transfer", func() bool { return sc.caughtUp(lagger) }, 5_000_000)
		xfer := sc.s.ExecLog(lagger).Transferred
		if seq := sc.orderedAt(forged[1]); xfer[len(xfer)-1] < seq && sc.synchronous() {
			sc.fatalf("replica %d transferred up to %d, below the second replay at %d", lagger, xfer[len(xfer)-1], seq)
		}
		forged = append(forged, sc.replayAt(rp, p, other, lagger))
		res, _ := p.do([][]byte{client.GetOp(key)})
		if res[0].Status != spec.StatusOK || string(res[0].Value) != "second" {
			sc.fatalf("k reads %d/%q after the replays; want \"second\"", res[0].Status, res[0].Value)
		}
		sc.finish(1)
		for r := range sc.s.N() {
			if v, _ := sc.confView(r); r != lagger && v != 0 && sc.synchronous() {
				sc.fatalf("replica %d ends in view %d; want 0", r, v)
			}
		}
		var seqs []uint64
		for _, d := range forged {
			seqs = append(seqs, sc.orderedAt(d))
		}
		sc.note("A replayed at %v", seqs)
		if slices.Contains(seqs, 0) || p.replies[tsA] != repliesA {
			sc.fatalf("replays at %v; replies for A %d → %d", seqs, repliesA, p.replies[tsA])
		}
	})
}
