package conformance

import (
	"fmt"
	"strings"

	"github.com/splitbft/splitbft/spec"
)

// The epoch commands of the scenario language (SPEC.md §17):
//
//	admit NAME role=R replica=I attesters=A,B,C  defines batch NAME: client 0's request
//	    at timestamp 1 whose one operation admits a fresh enclave for (R, I) with the
//	    attestations of those execs; the next configuration becomes the one an exec
//	    computes when that batch is the first one executed, at seq 1
//	epoch-vote r=R            exec R's EPOCH-VOTE for the next configuration
//	epoch-change start=N state=TAG voters=A,B,C   an EPOCH-CHANGE to the next epoch
//	    starting at (N, H(TAG)); it becomes the next configuration
//	enter                     the fixture moves to the next configuration: later
//	    messages are signed under its digest

func roleByName(name string) (spec.Role, error) {
	for _, r := range []spec.Role{spec.RolePrep, spec.RoleConf, spec.RoleExec} {
		if spec.RoleName(r) == name {
			return r, nil
		}
	}
	return 0, fmt.Errorf("unknown role %q", name)
}

func (e *scenarioEnv) defineAdmission(name string, a args) error {
	role, err := roleByName(a["role"])
	r, err2 := a.u("replica")
	if err != nil || err2 != nil || name == "" || r >= e.fx.N {
		return fmt.Errorf("admit needs NAME role=prep|conf|exec replica=I attesters=A,B,C")
	}
	enr := e.fx.FreshEnrollment(role, r, "scenario/"+name)
	adm := e.fx.Admission(enr, uints(a["attesters"])...)
	op := spec.ConfigOp{Tag: spec.ConfigOpTag, Admit: []spec.Admission{adm}}
	e.batches[name] = spec.Batch{Requests: []spec.Request{e.fx.Request(0, 1, spec.Encode(&op))}}
	e.next = e.fx.boundaryNextAt1(func(c *spec.Config) { *c.Replicas[r].Slot(role) = enr })
	return nil
}

func (e *scenarioEnv) epochChange(a args) (spec.Input, error) {
	n, err := a.u("start")
	if err != nil || a["voters"] == "" {
		return spec.Input{}, fmt.Errorf("epoch-change needs start=N state=TAG voters=A,B,C")
	}
	e.next = e.fx.NextConfig(n, stateTag(a["state"]), nil)
	ec := e.fx.EpochChange(e.next, uints(a["voters"])...)
	return In(spec.KindEpochChange, &ec), nil
}

func (e *scenarioEnv) epochVote(a args) (spec.Input, error) {
	r, err := a.u("r")
	if err != nil || e.next == nil {
		return spec.Input{}, fmt.Errorf("epoch-vote needs r=R after admit or epoch-change")
	}
	body := spec.EpochVoteBody{Next: spec.ConfigDigest(e.next), Replica: r}
	return In(spec.KindEpochVote, &spec.EpochVote{Body: body, Sig: e.fx.Sign(spec.RoleExec, min(r, e.fx.N-1), spec.DomainEpochVote, &body)}), nil
}

func (e *scenarioEnv) enter() error {
	if e.next == nil {
		return fmt.Errorf("enter needs a next configuration (admit or epoch-change)")
	}
	e.fx.Enter(e.next)
	e.next = nil
	return nil
}

// boundaryNextAt1 is the configuration an exec computes when the batch at seq 1 held
// only fixture client 0's accepted config operation at timestamp 1 (SPEC.md §17.2,
// §17.3): change applied, Epoch+1, Prev the current digest, StartSeq 1, StartState the
// digest of the snapshot after seq 1 (the empty kv, client 0's result "1" for epoch 1).
func (fx *Fixture) boundaryNextAt1(change func(*spec.Config)) *spec.Config {
	epoch := fx.Config.Epoch + 1
	snap := spec.Snapshot{Seq: 1, App: spec.Encode(&spec.KVSnapshot{}), Clients: []spec.ClientEntry{
		{Client: fx.clients[0].ID, Timestamp: 1, Results: []spec.Result{{Status: spec.StatusOK, Value: []byte(strings.TrimSpace(fmt.Sprint(epoch)))}}},
	}}
	return fx.NextConfig(1, spec.StateDigest(spec.Encode(&snap)), change)
}
