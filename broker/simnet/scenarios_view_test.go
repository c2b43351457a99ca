package simnet

import (
	"slices"
	"testing"

	"github.com/splitbft/splitbft/broker"
	"github.com/splitbft/splitbft/spec"
)

// Scenarios of view changes racing the network and replays: 4, 5 and 7.

// withholdBatches returns a delivery fault for a prep that replaces every client
// batch by an empty one (which prep rejects): a broker that stops feeding its primary,
// while *on is true. It counts the batches withheld in *n.
func withholdBatches(on *bool, n *int) DeliveryFault {
	return DeliveryFault{Mutate: func(kind uint64, _ []byte) []byte {
		if kind != spec.KindClientBatch || !*on {
			return nil
		}
		*n++
		return spec.Encode(&spec.Batch{})
	}}
}

// viewChangesSent watches the VIEW-CHANGEs sent for view w and returns a pointer to
// the virtual time at which k distinct confs had sent one (0 until then).
func (sc *scenario) viewChangesSent(w uint64, k int) *uint64 {
	at := new(uint64)
	senders := map[uint64]bool{}
	sc.watch(spec.KindViewChange, func(_, _ uint64, body []byte) {
		var vc spec.ViewChange
		if *at == 0 && spec.Decode(body, &vc, spec.MaxMessageBytes) == nil && vc.Body.View == w {
			senders[vc.Body.Replica] = true
			if len(senders) >= k {
				*at = sc.s.Now()
			}
		}
	})
	return at
}

// allActive reports whether every live conf is active in view w or later.
func (sc *scenario) allActive(w uint64) bool {
	for r := range sc.s.N() {
		if v, active := sc.confView(r); sc.isLive(r) && (v < w || !active) {
			return false
		}
	}
	return true
}

// TestScenario04PartitionDuringViewChange: the broker of primary 0 stops feeding its
// prep, the request timers expire, and a few ticks (drawn from the seed) after the
// first VIEW-CHANGE is sent the network splits into {0} | {1, 2, 3}, so replica 0 is
// cut off in the middle of the view change with whatever VIEW-CHANGEs reached it. The
// majority completes view 1 and makes progress without it; then the partition heals
// and replica 0 catches up (its exec converges with the others').
//
// Bound: final view ≤ 1 for replicas 1–3 (primary 1 is correct, the network among them
// synchronous) and ≤ 2 for replica 0: while isolated it can know q VIEW-CHANGEs only
// for view 1 (those that reached it before the split, and its own), so its broker's
// view-change timer can move it at most once more, to view 2, whose VIEW-CHANGE only it
// has sent. Replica 0's conf may therefore stay out of the normal case after healing
// (as in PBFT, until the cluster reaches its view); its exec follows the others'
// COMMITs.
func TestScenario04PartitionDuringViewChange(t *testing.T) {
	runScenario(t, []uint64{401, 402, 403}, func(t *testing.T, c scenarioCase) {
		sc := newScenario(t, c, scenarioOpts{})
		after := 5 + sc.rng.IntN(40)
		delay := sc.rng.Uint64N(12)
		sc.note("primary withholds after %d results, split %d ticks after the first VIEW-CHANGE", after, delay)
		on, withheld := false, 0
		sc.s.SetDelivery(EnclaveID{Role: spec.RolePrep, Replica: 0}, withholdBatches(&on, &withheld))
		vcAt := sc.viewChangesSent(1, 1)
		sc.start()
		sc.until("some progress", func() bool { return len(sc.s.Results()) >= after }, 5_000_000)
		on = true
		sc.until("the first VIEW-CHANGE", func() bool { return *vcAt != 0 }, 5_000_000)
		sc.runFor("the delay", delay)
		sc.s.Partition([]uint64{0}, []uint64{1, 2, 3})
		v0, a0 := sc.confView(0)
		sc.note("replica 0 split off in view %d (active %v)", v0, a0)
		majority := func() []bool { return []bool{false, true, true, true} }
		sc.live = majority
		split := len(sc.s.Results())
		sc.until("progress without replica 0", func() bool { return sc.allActive(1) && len(sc.s.Results()) >= split+20 }, 5_000_000)
		sc.wantView(1, "the majority must install view 1 without replica 0")
		sc.s.Heal()
		sc.live = nil
		sc.finish(2)
		for r := uint64(1); r < 4; r++ {
			if v, _ := sc.confView(r); v != 1 && sc.synchronous() {
				sc.fatalf("replica %d ends in view %d; want 1", r, v)
			}
		}
	})
}

// holdCommits makes the network withhold every view-0 COMMIT sent by a replica other
// than spared (a replica id ≥ n spares none), until Release.
func (sc *scenario) holdCommits(spared uint64) {
	hold := LinkFault{Hold: func(kind uint64, body []byte) bool {
		var cm spec.Commit
		return kind == spec.KindCommit && spec.Decode(body, &cm, spec.MaxBodyBytes(kind)) == nil && cm.Body.View == 0
	}}
	for from := range sc.s.N() {
		for to := range sc.s.N() {
			if from != spared {
				sc.s.SetLink(from, to, hold)
			}
		}
	}
}

// lateExecutions counts the sequence numbers execs executed after time t on view-0
// COMMIT certificates.
func (sc *scenario) lateExecutions(t uint64) int {
	late := 0
	for r := range sc.s.N() {
		for _, e := range sc.s.ExecLog(r).Executed {
			if e.View == 0 && e.At > t {
				late++
			}
		}
	}
	return late
}

// TestScenario05LateCommitsDuringViewChange: from a point drawn from the seed, the
// network withholds every view-0 COMMIT sent by three or four confs (drawn from the
// seed), so no exec gathers q matching COMMITs, execution stalls and the request
// timers start a view change. When q confs have sent their VIEW-CHANGE (the change is
// then bound to complete; plus 0 or 1 tick), or when the new primary sends its NEW-VIEW
// (drawn from the seed), the withheld view-0 COMMITs are released to a subset of
// the replicas drawn from the seed (the others never get them) and arrive during the
// change to view 1, mixed with the view-1 COMMITs for the same sequence numbers that
// the NEW-VIEW's O produces: execs that got them execute on view-0 certificates, the
// others on view-1 ones, and all must agree. Every sequence number executes once with
// one digest, no request executes twice (the workload's model and the shared counter
// would show it), and the cluster does not deadlock.
//
// Bound: final view ≤ 1 (only view-0 COMMITs are withheld; primary 1 is correct).
func TestScenario05LateCommitsDuringViewChange(t *testing.T) {
	runScenario(t, []uint64{501, 502, 503}, func(t *testing.T, c scenarioCase) {
		sc := newScenario(t, c, scenarioOpts{})
		after := 5 + sc.rng.IntN(40)
		spared := sc.rng.Uint64N(5) // a conf whose commits flow (4: none)
		// At the NEW-VIEW's sending instant no other conf can have it (latency ≥ 1); one tick
		// after q VIEW-CHANGEs the NEW-VIEW cannot have arrived anywhere yet.
		atNewView, delay := sc.rng.IntN(2) == 0, sc.rng.Uint64N(2)
		if atNewView {
			delay = 0
		}
		recv := sc.pickOthers(sc.s.N()) // the replicas the late COMMITs reach
		if len(recv) == 0 {
			recv = []uint64{sc.rng.Uint64N(sc.s.N())}
		}
		sc.note("view-0 COMMITs withheld after %d results except from %d; released to %v %d ticks after q VIEW-CHANGEs (or the NEW-VIEW: %v)",
			after, spared, recv, delay, atNewView)
		vcAt := sc.viewChangesSent(1, sc.s.Config().Quorum())
		nvAt := uint64(0)
		sc.watch(spec.KindNewView, func(_, _ uint64, _ []byte) { nvAt = max(nvAt, sc.s.Now()) })
		sc.start()
		sc.until("some progress", func() bool { return len(sc.s.Results()) >= after }, 5_000_000)
		sc.holdCommits(spared)
		sc.until("the release point", func() bool { return (!atNewView && *vcAt != 0) || nvAt != 0 }, 5_000_000)
		sc.runFor("the delay", delay)
		during := !sc.allActive(1)
		sc.s.SetAllLinks(LinkFault{})
		released := sc.s.Release(func(_, to uint64) bool { return slices.Contains(recv, to) })
		releasedAt := sc.s.Now()
		sc.note("%d COMMITs released at %d, during the change: %v", released, releasedAt, during)
		sc.finish(1)
		sc.wantView(1, "only view-0 COMMITs are withheld")
		if released == 0 || !during {
			sc.fatalf("%d COMMITs released, during the change: %v", released, during)
		}
		late := sc.lateExecutions(releasedAt)
		if late == 0 {
			sc.fatalf("no exec executed on the late view-0 COMMITs: the scenario is vacuous")
		}
		sc.t.Logf("sequence numbers executed on late view-0 COMMITs: %d", late)
	})
}

// recorded is a broker message seen on the network: its kind, sender and body.
type recorded struct {
	kind, from uint64
	body       []byte
}

// recordViewChanges records every distinct VIEW-CHANGE and NEW-VIEW sent from now on.
func (sc *scenario) recordViewChanges() *[]recorded {
	var old []recorded
	seen := map[string]bool{}
	for _, kind := range []uint64{spec.KindViewChange, spec.KindNewView} {
		sc.watch(kind, func(from, _ uint64, body []byte) {
			if !seen[string(body)] {
				seen[string(body)] = true
				old = append(old, recorded{kind, from, body})
			}
		})
	}
	return &old
}

// replayAll re-sends recorded messages to every broker as if from their sender, and has a
// faulty broker at every replica hand them to its compartments directly: VIEW-CHANGEs
// to prep, NEW-VIEWs to prep, conf and exec. It returns the number of inputs a correct
// compartment must reject as stale among those handed over directly: all but the
// NEW-VIEWs handed to the prep that built them, which W2 rejects as not-primary.
func (sc *scenario) replayAll(old []recorded) (stale uint64) {
	n := sc.s.N()
	for _, m := range old {
		if m.kind == spec.KindNewView {
			stale += 3*n - 1
		} else {
			stale += n
		}
		for to := range sc.s.N() {
			if to != m.from {
				sc.s.InjectPeer(m.from, to, broker.EncodePeer(m.kind, m.body))
			}
			sc.s.InjectInput(EnclaveID{Role: spec.RolePrep, Replica: to}, m.kind, m.body)
			if m.kind == spec.KindNewView {
				sc.s.InjectInput(EnclaveID{Role: spec.RoleConf, Replica: to}, m.kind, m.body)
				sc.s.InjectInput(EnclaveID{Role: spec.RoleExec, Replica: to}, m.kind, m.body)
			}
		}
	}
	return stale
}

// suspectsAndStale returns the suspicions delivered and the stale rejections seen,
// summed over the replicas.
func (sc *scenario) suspectsAndStale() (suspects, stale uint64) {
	for r := range sc.s.N() {
		m := sc.s.Replica(r).Metrics()
		suspects += m.Suspects
		stale += m.Rejections[spec.CodeStale]
	}
	return suspects, stale
}

// TestScenario07ReplayedViewChanges: the cluster changes view twice (the brokers of
// primaries 0 and then 1 stop feeding their preps), recording every VIEW-CHANGE and
// NEW-VIEW. Once view 2 is installed everywhere, the old quorums are replayed: every
// recorded message is re-sent to every broker as if from its original sender (a
// network replay), and a faulty broker at every replica hands them to its own
// compartments directly (VIEW-CHANGEs to prep, NEW-VIEWs to prep, conf and exec). No
// compartment's view goes backwards (checked after every instant), every replayed
// input is rejected stale, the replay starts no view change, and the workload
// completes.
//
// Bound: final view ≤ 2 (two faulty primaries, then primary 2 is correct).
func TestScenario07ReplayedViewChanges(t *testing.T) {
	runScenario(t, []uint64{701, 702, 703}, func(t *testing.T, c scenarioCase) {
		sc := newScenario(t, c, scenarioOpts{perOps: 60})
		after := 5 + sc.rng.IntN(30)
		sc.note("primary 0 withholds after %d results", after)
		var on [2]bool
		var withheld [2]int
		for r := range 2 {
			sc.s.SetDelivery(EnclaveID{Role: spec.RolePrep, Replica: uint64(r)}, withholdBatches(&on[r], &withheld[r]))
		}
		old := sc.recordViewChanges()
		sc.start()
		for w := range 2 { // view w+1: the broker of primary w withholds until it is installed
			mark := len(sc.s.Results())
			sc.until("progress", func() bool { return len(sc.s.Results()) >= mark+after/(w+1) }, 5_000_000)
			on[w] = true
			sc.until("the next view", func() bool { return sc.allActive(uint64(w + 1)) }, 5_000_000)
			on[w] = false
		}
		suspects, stale := sc.suspectsAndStale()
		sc.note("replaying %d VIEW-CHANGEs and NEW-VIEWs", len(*old))
		want := sc.replayAll(*old)
		sc.finish(2)
		suspects2, stale2 := sc.suspectsAndStale()
		sc.wantView(2, "the replay must start no view change")
		if (suspects2 != suspects && sc.synchronous()) || stale2-stale < want {
			sc.fatalf("suspects %d → %d; %d stale rejections for %d replayed messages, want at least %d",
				suspects, suspects2, stale2-stale, len(*old), want)
		}
	})
}
