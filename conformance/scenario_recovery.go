package conformance

import (
	"fmt"

	"github.com/splitbft/splitbft/spec"
)

// The recovery commands of the scenario language (SPEC.md §17.8), for a fresh exec
// (header "fresh: true") after the fixture's configuration C, which needs members
// (header "params: … members=3 threshold=2"):
//
//	recover base=N head=H     the recover input: C, the plan of members 0 and 1 for the
//	    template with head H (RecoveryTemplate) from base N (0: C's genesis; 4: the
//	    checkpoint (4, D) of runScenario certified by execs 0, 2, 3), C's sealed key
//	base-chunk                the single chunk of scenarioSnapshot at (4, D), under C
//	recovery-vote r=R state=NAME  exec R of C' votes for the template with StartState
//	    the digest of the named snapshot (recoveryStates)
//	enter-recovery state=NAME the fixture moves to that C': later messages are signed
//	    by the enclaves of C' under its digest
//	seal-key                  the seal-key input (§11.2)

// recoveryStates are the snapshots a scenario's C' may start from, each derived by
// hand from §11.5 and §12.6 (as scenarioSnapshot).
var recoveryStates = map[string]func() []byte{
	"genesis":   genesisSnapshot,
	"scenario4": scenarioSnapshot,
	"scenario4+B5": func() []byte {
		// scenarioSnapshot, then seq 5 = batch B5 of client 102 at ts 6 (the scenario
		// command "batch B5 client=2 ts=6"): put(B5-0, B5), result OK.
		kv := spec.KVSnapshot{Entries: []spec.KVEntry{
			{Key: []byte("B5-0"), Value: []byte("B5")},
			{Key: []byte("b"), Value: []byte("2")},
			{Key: []byte("c"), Value: []byte("3")},
		}}
		snap := spec.Snapshot{Seq: 5, App: spec.Encode(&kv), Clients: []spec.ClientEntry{
			{Client: 100, Timestamp: 3, Results: []spec.Result{{Status: spec.StatusOK}}},
			{Client: 101, Timestamp: 1, Results: []spec.Result{{Status: spec.StatusOK}, {Status: spec.StatusOK, Value: []byte("1")}}},
			{Client: 102, Timestamp: 6, Results: []spec.Result{{Status: spec.StatusOK}}},
		}}
		return spec.Encode(&snap)
	},
}

// recoveryCommand builds the input of a recovery command that is a step; ok is false
// for any other command.
func (e *scenarioEnv) recoveryCommand(cmd string, a args) (spec.Input, bool, error) {
	switch cmd {
	case "recover":
		in, err := e.recover(a)
		return in, true, err
	case "base-chunk":
		return inChunk((&Gen{Fixture: e.fx}).wholeChunk(scenarioDigest(), scenarioSnapshot())), true, nil
	case "recovery-vote":
		next, err := e.recoveryNext(a)
		if err != nil {
			return spec.Input{}, true, err
		}
		r, err := a.u("r")
		if err != nil {
			return spec.Input{}, true, fmt.Errorf("recovery-vote needs r=R state=NAME")
		}
		return inRecoveryVote(e.fx.RecoveryVote(next, r)), true, nil
	case "seal-key":
		return In(spec.KindSealKey, &spec.SealGet{}), true, nil
	}
	return spec.Input{}, false, nil
}

func (e *scenarioEnv) recover(a args) (spec.Input, error) {
	base, err1 := a.u("base")
	head, err2 := a.u("head")
	if err1 != nil || err2 != nil || (base != 0 && base != 4) || len(e.fx.members) < 2 {
		return spec.Input{}, fmt.Errorf("recover needs base=0|4 head=H and a fixture with members")
	}
	cert := e.fx.Config.GenesisCert()
	if base == 4 {
		cert = e.fx.CheckpointCert(4, scenarioDigest(), 0, 2, 3)
	}
	e.tmpl = e.fx.RecoveryTemplate(head, nil)
	e.plan = e.fx.RecoveryPlan(e.tmpl, cert, 0, 1)
	return e.fx.RecoverInput(e.plan, e.fx.SealedKey()), nil
}

// recoveryNext is C': the last recover's template with StartState the digest of the
// snapshot named by state=.
func (e *scenarioEnv) recoveryNext(a args) (*spec.Config, error) {
	snap, ok := recoveryStates[a["state"]]
	if !ok || e.tmpl == nil {
		return nil, fmt.Errorf("needs a recover before it and state=genesis|scenario4|scenario4+B5")
	}
	return RecoveryNext(e.tmpl, spec.StateDigest(snap())), nil
}

func (e *scenarioEnv) enterRecovery(a args) error {
	next, err := e.recoveryNext(a)
	if err != nil {
		return fmt.Errorf("enter-recovery %v", err)
	}
	e.fx.EnterRecovery(next)
	e.tmpl = nil
	return nil
}
