package swarm

// This file is the adversary's own state: its actions, their weights, how it picks
// one, and the attacks it has under way. Its moves are in adversary.go.

// action is one kind of adversary move in the safety phase.
type action int

const (
	actDeliver      action = iota // deliver (or drop, or duplicate) a pending message
	actReplay                     // deliver any message ever seen to any compartment
	actClientBatch                // hand a batch of client requests to a prep
	actSuspect                    // fire a conf's request timer (early, late, or for the wrong view)
	actIssue                      // a client prepares its next request
	actReply                      // deliver (or drop) a reply to its client
	actStateReq                   // ask an exec for state on behalf of another
	actByz                        // a Byzantine enclave acts on its own
	actRestart                    // restart an enclave (fresh keys, not in the configuration)
	actPartition                  // start or heal a partition
	actRetransmit                 // a broker retransmits what its compartment could use
	actAdmit                      // move an admission on (attest, submit), or vouch with 2f attestations
	actWholeRestart               // every enclave stops; the cluster recovers (placed by Params.WholeRestarts, never drawn)
	numActions
)

// adversary is the state of the malicious brokers' strategy: how it weighs its moves
// and the attacks it has under way. Only its moves (methods of sim) change it; the
// oracles never read it.
type adversary struct {
	w    [numActions]float64 // weight of each action for the run's profile
	wsum float64             // their sum

	handed         map[[3]uint64]bool  // (prep, view, client<<32|ts) the adversary handed over
	splits         map[[2]uint64]split // (view, seq) → an active split-brain attack
	splitOrder     [][2]uint64         // the keys of splits, oldest first
	steering       bool                // the adversary rotates views towards an equivocating Byzantine primary
	lastSuspectAll int                 // the step of the last suspectAll (one view change per step)
	lags           map[[2]uint64]lag   // (view, seq) → COMMITs held back from some execs
	partition      uint64              // one side of the active partition as a replica bit set; 0: none
	partitionUntil int                 // the step the partition heals at
	restarts       int                 // enclaves restarted so far
	episode        episode             // the fault episode under way
}

func newAdversary() adversary {
	return adversary{handed: map[[3]uint64]bool{}, splits: map[[2]uint64]split{}, lags: map[[2]uint64]lag{}}
}

// weightsFor returns the relative weight of each action for a run's parameters,
// profile and placement.
func weightsFor(p Params, profile Profile, place Placement) [numActions]float64 {
	var w [numActions]float64
	w[actDeliver] = 80
	w[actReplay] = 80 * p.Replay / (1 - p.Replay + 1e-9) / 2
	w[actClientBatch] = 8
	w[actSuspect] = p.Suspect
	w[actIssue] = 3
	w[actReply] = 12
	w[actStateReq] = 1
	if place.hasByz() {
		w[actByz] = 4
		if profile == ProfileEquivocate {
			w[actByz] = 12
		}
	}
	if p.Restarts > 0 {
		w[actRestart] = 0.15
	}
	if p.Partitions {
		w[actPartition] = 0.4
	}
	w[actRetransmit] = 6
	if p.Restarts > 0 || len(place.Byz[2]) > 0 {
		w[actAdmit] = 3
	}
	return w
}

// hasByz reports whether the placement has any Byzantine enclave.
func (pl Placement) hasByz() bool {
	for _, ids := range pl.Byz {
		if len(ids) > 0 {
			return true
		}
	}
	return false
}

// setWeights sets the action weights.
func (a *adversary) setWeights(w [numActions]float64) {
	a.w = w
	for _, x := range w {
		a.wsum += x
	}
}

// choose returns the action that u, drawn uniformly from [0, 1), selects by weight.
func (a *adversary) choose(u float64) action {
	x := u * a.wsum
	for i, w := range a.w {
		if x < w {
			return action(i)
		}
		x -= w
	}
	return actDeliver
}

// healPartition ends the partition if its time is up at step.
func (a *adversary) healPartition(step int) {
	if a.partition != 0 && step >= a.partitionUntil {
		a.partition = 0
	}
}
