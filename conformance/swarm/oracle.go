package swarm

import (
	"fmt"

	"github.com/splitbft/splitbft/spec"
)

// Failure is the first oracle violation of a run.
type Failure struct {
	Oracle string   // agreement, integrity, validity, monotonicity, checkpoint-agreement, client-safety, confidentiality, restart-isolation, epoch-chain, epoch-monotone, admission, retirement, fault-budget, durability, recovery, n-version, liveness, no-panic, output-shape
	Step   int      // the step it was detected at
	Phase  string   // safety or liveness
	Detail string   // what was seen
	Trace  []string // the last events before it
}

func (f *Failure) Error() string {
	return fmt.Sprintf("%s violated at step %d (%s phase): %s", f.Oracle, f.Step, f.Phase, f.Detail)
}

// oracles is what the checks of a run know: what was executed where, the states and
// results seen, the client history, the recorded traces, and the first failure. The
// world feeds them observations; they read nothing of the adversary. Where the run is
// (for a Failure) comes through where, the run's counters through stats, and the
// world's batches through seen.
type oracles struct {
	ops        map[string]opKey     // plaintext of every issued operation → (client, timestamp)
	decided    map[uint64]stateSeen // seq → the batch digest correct execs executed there
	stateAt    map[uint64]stateSeen // seq → the state digest correct compartments reached or certified
	results    map[opKey]resultSeen // the result a client accepted for an operation
	markerSeq  map[opKey]markerSeen // where an operation was executed
	traces     []*trace             // N-version traces of correct enclaves
	history    []histOp             // every request the clients issued (linearizability)
	clock      int64                // logical time of the history
	failure    *Failure             // the first violation; nil while every oracle holds
	attestedBy map[attKey]uint64    // (cd, enrollment digest) → bit set of the correct execs that attested it

	where func() (step int, phase string, trace []string) // where the run is
	stats *Stats                                          // the run's counters
	seen  worldView                                       // what they read of the world
}

func newOracles() oracles {
	return oracles{ops: map[string]opKey{}, decided: map[uint64]stateSeen{}, stateAt: map[uint64]stateSeen{},
		results: map[opKey]resultSeen{}, markerSeq: map[opKey]markerSeen{}}
}

// fail records the first violation of the run; later ones are ignored (the run stops).
func (o *oracles) fail(oracle, format string, a ...any) {
	if o.failure != nil {
		return
	}
	step, phase, trace := o.where()
	o.failure = &Failure{Oracle: oracle, Step: step, Phase: phase, Detail: fmt.Sprintf(format, a...), Trace: trace}
}

// checkMonotone is the monotonicity oracle: a correct compartment's view and stable
// checkpoint never go backwards, nor does the last executed (exec) or committed
// (conf) sequence number, and it never becomes unconfigured.
//
// At an epoch change (adopted) the view starts again at 0 and conf's and prep's last
// become StartSeq (SPEC §17.4), so only the stable checkpoint is compared then.
func (o *oracles) checkMonotone(nd *node, before, after spec.Status, adopted bool) {
	switch {
	case !after.Configured:
		o.fail("monotonicity", "%s reports itself unconfigured", nd.id)
	case after.Role != nd.id.Role || after.Replica != nd.id.Replica:
		o.fail("output-shape", "%s reports role %d replica %d", nd.id, after.Role, after.Replica)
	case adopted:
		if after.Stable < before.Stable {
			o.fail("monotonicity", "%s stable checkpoint went back from %d to %d at an epoch change", nd.id, before.Stable, after.Stable)
		}
	case after.View < before.View:
		o.fail("monotonicity", "%s view went back from %d to %d", nd.id, before.View, after.View)
	case after.Stable < before.Stable:
		o.fail("monotonicity", "%s stable checkpoint went back from %d to %d", nd.id, before.Stable, after.Stable)
	case nd.id.Role != spec.RolePrep && after.Last < before.Last:
		o.fail("monotonicity", "%s last went back from %d to %d", nd.id, before.Last, after.Last)
	}
}

// agreeState is the checkpoint-agreement oracle: every state digest a correct exec
// reaches at seq, and every stable checkpoint certificate a correct compartment
// carries for seq, name one digest.
func (o *oracles) agreeState(seq uint64, d spec.Digest, who string) {
	if seq == 0 {
		return
	}
	if old, ok := o.stateAt[seq]; ok {
		if old.d != d {
			o.fail("checkpoint-agreement", "state at seq %d: %s has %x, %s had %x", seq, who, d[:6], old.who, old.d[:6])
		}
		return
	}
	o.stateAt[seq] = stateSeen{d, who}
}

// stateSeen is the first state digest seen for a sequence number and who had it.
type stateSeen struct {
	d   spec.Digest
	who string
}

// checkCerts checks the stable checkpoint certificates inside a VIEW-CHANGE or
// NEW-VIEW a correct compartment emitted.
func (o *oracles) checkCerts(nd *node, kind uint64, body []byte) {
	switch kind {
	case spec.KindViewChange:
		var vc spec.ViewChange
		if spec.Decode(body, &vc, spec.MaxMessageBytes) == nil {
			o.agreeState(vc.Body.Stable.Seq, vc.Body.Stable.State, fmt.Sprintf("stable cert in %s's view-change", nd.id))
		}
	case spec.KindNewView:
		var nv spec.NewView
		if spec.Decode(body, &nv, spec.MaxMessageBytes) == nil {
			for _, vc := range nv.Body.ViewChanges {
				o.agreeState(vc.Body.Stable.Seq, vc.Body.Stable.State, fmt.Sprintf("stable cert in %s's new-view", nd.id))
			}
		}
	}
}

// decide is the agreement oracle: no two correct execs execute different digests at
// one sequence number. Each exec executes sequence numbers in order (or skips a
// prefix by state transfer), so this also makes the execution logs prefix-consistent.
func (o *oracles) decide(nd *node, seq uint64, d spec.Digest) {
	if old, ok := o.decided[seq]; ok {
		if old.d != d {
			o.fail("agreement", "seq %d: %s executed batch %x, %s executed %x", seq, nd.id, d[:6], old.who, old.d[:6])
		}
		return
	}
	o.decided[seq] = stateSeen{d, nd.id.String()}
	if seq > o.stats.MaxExecuted {
		o.stats.MaxExecuted = seq
	}
}

// resultSeen is the first correct result of an operation and who produced it.
type resultSeen struct {
	res string // enc(Result)
	who string
}

// correctResult records res, opened from correct exec nd's reply, as the result of
// operation k; it must equal every other correct exec's (agreement).
func (o *oracles) correctResult(nd *node, k opKey, res string) {
	if old, ok := o.results[k]; ok && old.res != res {
		o.fail("agreement", "client %d timestamp %d: %s replied %x, %s replied %x", k.client, k.ts, nd.id, res, old.who, old.res)
	} else if !ok {
		o.results[k] = resultSeen{res, nd.id.String()}
	}
}

// checkResults is the client-safety oracle: every result a client accepted for its
// request (client, ts) is the one the correct execs produced.
func (o *oracles) checkResults(client, ts uint64, results []spec.Result) {
	for j, res := range results {
		k := opKey{client, ts + uint64(j)}
		got := string(spec.Encode(&res))
		want, ok := o.results[k]
		switch {
		case !ok:
			o.fail("client-safety", "client %d accepted a result for timestamp %d that no correct exec produced", k.client, k.ts)
		case want.res != got:
			o.fail("client-safety", "client %d accepted %x for timestamp %d; correct execs replied %x", k.client, got, k.ts, want.res)
		}
	}
}
