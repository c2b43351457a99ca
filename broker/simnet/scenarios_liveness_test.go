package simnet

import (
	"testing"

	"github.com/splitbft/splitbft/broker"
	"github.com/splitbft/splitbft/client"
	"github.com/splitbft/splitbft/spec"
)

// Scenarios of liveness after state transfer and lone suspicion (issue 18): 11–14.
// In each the primary stays correct, so no correct broker may make the cluster change
// view on its own, and every conf must end active.

// sendExcept has the player send one request to every replica but skip and waits
// until f+1 replicas agree on its results; it returns the request's bytes and the
// highest sequence number any replica had executed by then (the request's is at most
// that).
func (p *player) sendExcept(ops [][]byte, skip uint64) ([]byte, uint64) {
	p.sc.t.Helper()
	raw, _, err := p.sess.Prepare(ops)
	if err != nil {
		p.sc.fatalf("player %d: %v", p.id, err)
	}
	p.done = nil
	next := uint64(0)
	p.sc.until("a player's request", func() bool {
		if p.done == nil && p.sc.s.Now() >= next {
			for r := range p.sc.s.N() {
				if r != skip {
					p.sc.s.InjectRequest(r, raw)
				}
			}
			next = p.sc.s.Now() + 150
		}
		return p.done != nil
	}, 2_000_000)
	top := uint64(0)
	for r := range p.sc.s.N() {
		top = max(top, p.sc.s.Replica(r).Status()[spec.RoleExec].Last)
	}
	return raw, top
}

// coveredBy waits until replica lagger has caught up by a state transfer that covers
// sequence number seq, and fails the row if its last transfer ends below seq (it then
// executed the request itself, and the scenario tests nothing).
func (sc *scenario) coveredBy(lagger, seq uint64) {
	sc.t.Helper()
	sc.until("the lagger's state transfer", func() bool { return sc.caughtUp(lagger) }, 5_000_000)
	xfer := sc.s.ExecLog(lagger).Transferred
	if last := xfer[len(xfer)-1]; last < seq {
		sc.preconditionFailed("replica %d transferred up to %d, below the player's request at ≤ %d", lagger, last, seq)
	}
	sc.note("replica %d transferred up to %d (request at ≤ %d)", lagger, xfer[len(xfer)-1], seq)
}

// preconditionFailed fails the row when a scripted precondition does not hold under
// synchrony (the scenario would test nothing); on lossy links (-simnet.noise), where
// timing is not argued, it skips the row instead.
func (sc *scenario) preconditionFailed(format string, a ...any) {
	sc.t.Helper()
	if !sc.synchronous() {
		sc.t.Skipf("precondition not met on lossy links: "+format, a...)
	}
	sc.fatalf(format, a...)
}

// passStable runs until the others' stable checkpoint is at least seq + K, so that
// a transfer to it covers seq.
func (sc *scenario) passStable(other, seq uint64) {
	sc.t.Helper()
	k := sc.s.Config().CheckpointInterval
	sc.until("a stable checkpoint above the request", func() bool {
		return sc.s.Replica(other).Status()[spec.RoleExec].Stable >= seq+k
	}, 5_000_000)
}

// noSuspicion runs for ticks and fails the row if any broker delivered a suspect from
// base on (base: every broker's Suspects count before) or any conf is not active in
// view 0. Like the harness's view bounds, it is checked under synchrony only.
func (sc *scenario) noSuspicion(what string, base []uint64, ticks uint64) {
	sc.t.Helper()
	sc.runFor(what, ticks)
	if !sc.synchronous() {
		return
	}
	for r := range sc.s.N() {
		if got := sc.s.Replica(r).Metrics().Suspects; got != base[r] {
			sc.fatalf("%s: replica %d's broker delivered %d suspects", what, r, got-base[r])
		}
		if v, active := sc.confView(r); v != 0 || !active {
			sc.fatalf("%s: replica %d's conf in view %d (active %v); want 0, active", what, r, v, active)
		}
	}
}

// settle runs the workload to completion and until every replica has executed the
// same sequence number, so that no replica is behind when the scenario's copy arrives.
func (sc *scenario) settle() {
	sc.t.Helper()
	sc.until("workload", func() bool { return sc.w.done(sc.s) }, 20_000_000)
	sc.converge()
}

// noTimer fails the row if replica r's broker announced a request timer expiry since
// its count was base: the copy of a covered request must start no timer at all (a
// timer that expired alone would be held back by suspicion gating, which would hide
// the bug).
func (sc *scenario) noTimer(r, base uint64) {
	sc.t.Helper()
	if got := sc.s.Replica(r).Metrics().Expiries; got != base && sc.synchronous() {
		sc.fatalf("replica %d's broker: %d request timers expired after the delayed copy", r, got-base)
	}
}

// suspects returns every broker's Suspects count.
func (sc *scenario) suspects() []uint64 {
	out := make([]uint64, sc.s.N())
	for r := range out {
		out[r] = sc.s.Replica(uint64(r)).Metrics().Suspects
	}
	return out
}

// TestScenario11DelayedCopyAfterStateTransfer (issue 18, the CCF #860 pattern): a backup
// drawn from the seed is cut off while 8 clients keep the cluster busy. A test-driven
// client sends request A and then request B to every other replica; both execute, and
// the others' stable checkpoint passes them. The network heals and the lagger catches
// up by a state transfer that covers A and B. Then a network-delayed copy of A reaches
// the lagger. Its exec never answers A (older than B, §11.5 step 1), so a timer
// started for A would expire and suspect the correct primary; the transfer summary
// (§11.7) tells the broker that A is done, so no timer starts.
//
// Bound: final view 0, no suspect delivered anywhere, every conf active.
func TestScenario11DelayedCopyAfterStateTransfer(t *testing.T) {
	runScenario(t, []uint64{1101, 1102, 1103}, func(t *testing.T, c scenarioCase) {
		sc := newScenario(t, c, scenarioOpts{clients: 8, perOps: 80, extra: 1, setup: transferSetup()})
		lagger := 1 + sc.rng.Uint64N(3)
		other := (lagger + 1) % sc.s.N()
		after := 5 + sc.rng.IntN(40)
		p := sc.player(9)
		sc.start()
		sc.until("some progress", func() bool { return len(sc.s.Results()) >= after }, 5_000_000)
		var rawA []byte
		var top uint64
		sc.lagBeyondWindow(lagger, nil, func() {
			rawA, _ = p.sendExcept([][]byte{client.PutOp([]byte("delayed"), []byte("A"))}, lagger)
			_, top = p.sendExcept([][]byte{client.PutOp([]byte("delayed"), []byte("B"))}, lagger)
			sc.passStable(other, top)
		})
		sc.coveredBy(lagger, top)
		sc.settle()
		base, expiries := sc.suspects(), sc.s.Replica(lagger).Metrics().Expiries
		sc.s.InjectRequest(lagger, rawA)
		timeout := brokerOpts().RequestTimeoutTicks
		sc.noSuspicion("after the delayed copy", base, uint64(5*timeout))
		sc.noTimer(lagger, expiries)
		sc.finish(0)
		sc.wantView(0, "the primary stayed correct")
	})
}

// TestScenario13LonePartitionHeals: a backup drawn from the seed is cut off from every
// other replica for five request timeouts while the workload runs, and a test-driven
// client sends a request to every replica, the cut-off one included. Its request timer
// expires: it cannot tell a partition from a faulty primary. But no other broker
// suspects view 0, so it delivers no suspect to its conf (suspicion gating, §13.3
// obligation 5); it only tells its peers, which do not hear it. The partition heals,
// the backup catches up, and the cluster never changes view.
//
// Bound: final view 0, no suspect delivered anywhere, every conf active.
func TestScenario13LonePartitionHeals(t *testing.T) {
	runScenario(t, []uint64{1301, 1302, 1303}, func(t *testing.T, c scenarioCase) {
		sc := newScenario(t, c, scenarioOpts{clients: 4, perOps: 60, extra: 1})
		cut := 1 + sc.rng.Uint64N(3)
		after := 5 + sc.rng.IntN(40)
		p := sc.player(5)
		sc.start()
		sc.until("some progress", func() bool { return len(sc.s.Results()) >= after }, 5_000_000)
		base := sc.suspects()
		var rest []uint64
		for r := range sc.s.N() {
			if r != cut {
				rest = append(rest, r)
			}
		}
		sc.s.Partition(rest)
		sc.note("replica %d cut off at t=%d", cut, sc.s.Now())
		p.do([][]byte{client.PutOp([]byte("lone"), []byte("x"))})
		timeout := uint64(brokerOpts().RequestTimeoutTicks)
		sc.runFor("the partition", 5*timeout)
		if sc.s.Replica(cut).Metrics().Expiries == 0 {
			sc.preconditionFailed("replica %d's request timer never expired: the scenario tests nothing", cut)
		}
		sc.s.Heal()
		sc.noSuspicion("after healing", base, 5*timeout)
		sc.finish(0)
		sc.wantView(0, "the primary stayed correct")
	})
}

// dedupTimeout is the request timeout of scenario 12: long enough that the lagger's
// state transfer completes within the window in which the primary's broker drops a
// copy of a request it proposed as a duplicate.
const dedupTimeout = 600

// TestScenario12DroppedDuplicateAfterStateTransfer: as in scenario 11, a backup drawn
// from the seed is cut off and the test-driven client's request A (its only one, so
// its exec would re-send A's cached results if A were ordered again) executes at the
// others just before the network heals. The lagger catches up by a state transfer
// that covers A, and a delayed copy of A reaches it while the primary's broker still
// drops copies of A as duplicates (within one request timeout of proposing it). So A
// is not ordered again and no exec answers the copy; the transfer summary stops the
// lagger's broker from starting a timer for it.
//
// Bound: final view 0, no suspect delivered anywhere, every conf active.
func TestScenario12DroppedDuplicateAfterStateTransfer(t *testing.T) {
	runScenario(t, []uint64{1201, 1202, 1203}, func(t *testing.T, c scenarioCase) {
		tune := func(o *broker.Options) { o.RequestTimeoutTicks = dedupTimeout }
		sc := newScenario(t, c, scenarioOpts{clients: 8, perOps: 80, extra: 1, setup: transferSetup(), tune: tune})
		lagger := 1 + sc.rng.Uint64N(3)
		other := (lagger + 1) % sc.s.N()
		after := 5 + sc.rng.IntN(40)
		p := sc.player(9)
		sc.start()
		sc.until("some progress", func() bool { return len(sc.s.Results()) >= after }, 5_000_000)
		var rawA []byte
		var top, sentAt uint64
		sc.lagBeyondWindow(lagger, nil, func() {
			sentAt = sc.s.Now()
			rawA, top = p.sendExcept([][]byte{client.PutOp([]byte("dup"), []byte("A"))}, lagger)
			sc.passStable(other, top)
		})
		sc.coveredBy(lagger, top)
		if since := sc.s.Now() - sentAt; since+50 > dedupTimeout {
			sc.preconditionFailed("the lagger caught up %d ticks after A was sent: the primary no longer drops copies of A", since)
		}
		base, expiries := sc.suspects(), sc.s.Replica(lagger).Metrics().Expiries
		sc.s.InjectRequest(lagger, rawA)
		sc.noSuspicion("after the delayed copy", base, 3*dedupTimeout)
		sc.noTimer(lagger, expiries)
		sc.finish(0)
		sc.wantView(0, "the primary stayed correct")
	})
}

// TestScenario14LoneConfReturnsToService: the broker of a backup drawn from the seed
// hands its conf suspect{0} on its own (a faulty broker, or one that believed f lying
// peers), at a point drawn from the seed. Its conf moves to view 1 alone and leaves the
// normal case; fewer than f+1 VIEW-CHANGEs for view 1 exist, so nobody joins it by the
// f+1 rule. The other brokers see its VIEW-CHANGE while their execs keep executing,
// and after LoneViewTicks each delivers suspect{0} (return to service, §10.4): the
// group moves to view 1, and the lone conf is active again.
//
// Bound: final view 1; every conf active in view 1 within LoneViewTicks plus two
// request timeouts of the suspicion (the view change itself).
func TestScenario14LoneConfReturnsToService(t *testing.T) {
	runScenario(t, []uint64{1402, 1403, 1405}, func(t *testing.T, c scenarioCase) {
		sc := newScenario(t, c, scenarioOpts{clients: 4, perOps: 120})
		lone := 1 + sc.rng.Uint64N(3)
		after := 5 + sc.rng.IntN(30)
		sc.start()
		sc.until("some progress", func() bool { return len(sc.s.Results()) >= after }, 5_000_000)
		sc.s.InjectInput(EnclaveID{Role: spec.RoleConf, Replica: lone}, spec.KindSuspect, spec.Encode(&spec.Suspect{View: 0}))
		sc.until("the lone suspicion", func() bool { v, _ := sc.confView(lone); return v == 1 }, 5_000_000)
		at := sc.s.Now()
		sc.note("replica %d's conf alone in view 1 at t=%d", lone, at)
		opt := brokerOpts()
		bound := at + uint64(4*opt.RequestTimeoutTicks+2*opt.RequestTimeoutTicks) // LoneViewTicks defaults to 4 timeouts
		sc.until("every conf active in view 1", func() bool { return sc.allActive(1) || sc.s.Now() > bound }, 5_000_000)
		if !sc.allActive(1) && sc.synchronous() {
			sc.fatalf("not every conf active in view 1 by t=%d (lone since %d)", bound, at)
		}
		if sc.w.done(sc.s) {
			sc.preconditionFailed("the workload ended before the group joined: no progress to measure")
		}
		sc.note("all active at t=%d", sc.s.Now())
		sc.finish(1)
		sc.wantView(1, "the group moves up to the lone conf once")
		for r := range sc.s.N() {
			if m := sc.s.Replica(r).Metrics(); r != lone && m.LoneJoins+m.Suspects == 0 && sc.synchronous() {
				sc.fatalf("replica %d's broker never suspected view 0", r)
			}
		}
	})
}
