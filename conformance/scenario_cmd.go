package conformance

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/splitbft/splitbft/spec"
)

// scenarioEnv interprets scenario commands with a fixture, remembering named batches
// and view-changes.
type scenarioEnv struct {
	fx      *Fixture
	batches map[string]spec.Batch
	vcs     map[string]spec.ViewChange
	next    *spec.Config // the configuration the last epoch command names (epoch.go)
	tmpl    *spec.Config // the template of the last recover command (scenario_recovery.go)
	plan    spec.RecoveryPlan
}

// args are a command's key=value arguments.
type args map[string]string

func (a args) u(k string) (uint64, error) {
	v, ok := a[k]
	if !ok {
		return 0, fmt.Errorf("missing %s=", k)
	}
	return strconv.ParseUint(v, 10, 64)
}

// command builds the input of one command; ok is false for definitions (no step).
func (e *scenarioEnv) command(line string) (spec.Input, bool, error) {
	f := strings.Fields(line)
	if len(f) == 0 {
		return spec.Input{}, false, fmt.Errorf("empty command")
	}
	name, a := "", args{}
	for _, w := range f[1:] {
		if k, v, ok := strings.Cut(w, "="); ok {
			a[k] = v
		} else {
			name = w
		}
	}
	switch f[0] {
	case "batch":
		return spec.Input{}, false, e.defineBatch(name, a)
	case "vc":
		return spec.Input{}, false, e.defineVC(name, a)
	case "view-change":
		vc, ok := e.vcs[name]
		if !ok {
			return spec.Input{}, false, fmt.Errorf("no view-change %q", name)
		}
		return In(spec.KindViewChange, &vc), true, nil
	case "admit":
		return spec.Input{}, false, e.defineAdmission(name, a)
	case "enter":
		return spec.Input{}, false, e.enter()
	case "enter-recovery":
		return spec.Input{}, false, e.enterRecovery(a)
	case "epoch-change":
		in, err := e.epochChange(a)
		return in, err == nil, err
	case "epoch-vote":
		in, err := e.epochVote(a)
		return in, err == nil, err
	}
	if in, ok, err := e.recoveryCommand(f[0], a); ok || err != nil {
		return in, err == nil, err
	}
	in, err := e.message(f[0], a)
	return in, err == nil, err
}

func (e *scenarioEnv) message(cmd string, a args) (spec.Input, error) {
	v, _ := a.u("v")
	n, _ := a.u("n")
	r, _ := a.u("r")
	b, d, err := e.batch(a)
	if err != nil && cmd != "configure" && cmd != "checkpoint" && cmd != "suspect" && cmd != "new-view" {
		return spec.Input{}, err
	}
	switch cmd {
	case "configure":
		return e.fx.Configure(), nil
	case "client-batch":
		return In(spec.KindClientBatch, &b), nil
	case "deliver-batch":
		return In(spec.KindBatch, &b), nil
	case "proposal":
		return In(spec.KindProposal, &spec.Proposal{Header: e.fx.PrePrepare(v, n, d), Batch: b}), nil
	case "pre-prepare":
		return In(spec.KindPrePrepare, ptr(e.fx.PrePrepare(v, n, d))), nil
	case "prepare":
		return In(spec.KindPrepare, ptr(e.fx.Prepare(v, n, d, r))), nil
	case "commit":
		return In(spec.KindCommit, ptr(e.fx.Commit(v, n, d, r))), nil
	case "checkpoint":
		return In(spec.KindCheckpoint, ptr(e.fx.Checkpoint(n, stateTag(a["state"]), r))), nil
	case "suspect":
		return In(spec.KindSuspect, &spec.Suspect{View: v}), nil
	case "new-view":
		return e.newView(a)
	}
	return spec.Input{}, fmt.Errorf("unknown command %q", cmd)
}

// batch resolves batch=NAME (or null) to the batch and its digest.
func (e *scenarioEnv) batch(a args) (spec.Batch, spec.Digest, error) {
	name := a["batch"]
	if name == "null" {
		return spec.Batch{}, spec.NullBatchDigest(), nil
	}
	b, ok := e.batches[name]
	if !ok {
		return spec.Batch{}, spec.Digest{}, fmt.Errorf("no batch %q", name)
	}
	return b, spec.BatchDigest(&b), nil
}

func (e *scenarioEnv) defineBatch(name string, a args) error {
	c, err1 := a.u("client")
	ts, err2 := a.u("ts")
	if err1 != nil || err2 != nil || name == "" || int(c) >= len(e.fx.clients) {
		return fmt.Errorf("batch needs NAME client=I ts=T")
	}
	ops := 1
	if k, err := a.u("ops"); err == nil {
		ops = int(k)
	}
	var plain [][]byte
	for j := range ops {
		plain = append(plain, PutOp(fmt.Sprintf("%s-%d", name, j), name))
	}
	e.batches[name] = spec.Batch{Requests: []spec.Request{e.fx.Request(int(c), ts, plain...)}}
	return nil
}

// defineVC builds a VIEW-CHANGE: stable=N:TAG:R1,R2,R3 is a checkpoint certificate for
// (N, H(TAG)) signed by those execs (genesis if absent); prepared=V:N:BATCH,… are
// prepared certificates.
func (e *scenarioEnv) defineVC(name string, a args) error {
	w, err1 := a.u("w")
	r, err2 := a.u("r")
	if err1 != nil || err2 != nil || name == "" {
		return fmt.Errorf("vc needs NAME w=W r=R")
	}
	stable := e.fx.CheckpointCert(0, spec.Digest{})
	if s := a["stable"]; s != "" {
		p := strings.Split(s, ":")
		if len(p) != 3 {
			return fmt.Errorf("stable=N:TAG:R1,R2,…")
		}
		n, err := strconv.ParseUint(p[0], 10, 64)
		if err != nil {
			return err
		}
		stable = e.fx.CheckpointCert(n, stateTag(p[1]), uints(p[2])...)
	}
	var prepared []spec.PreparedCert
	for _, pc := range strings.Split(a["prepared"], ",") {
		if pc == "" {
			continue
		}
		p := strings.Split(pc, ":")
		if len(p) != 3 {
			return fmt.Errorf("prepared=V:N:BATCH")
		}
		_, d, err := e.batch(args{"batch": p[2]})
		if err != nil {
			return err
		}
		prepared = append(prepared, e.fx.PreparedCert(uints(p[0])[0], uints(p[1])[0], d))
	}
	e.vcs[name] = e.fx.ViewChange(w, r, stable, prepared...)
	return nil
}

func (e *scenarioEnv) newView(a args) (spec.Input, error) {
	w, err := a.u("w")
	if err != nil {
		return spec.Input{}, err
	}
	var vcs []spec.ViewChange
	for _, n := range strings.Split(a["vcs"], ",") {
		vc, ok := e.vcs[n]
		if !ok {
			return spec.Input{}, fmt.Errorf("no view-change %q", n)
		}
		vcs = append(vcs, vc)
	}
	return In(spec.KindNewView, ptr(e.fx.NewView(w, vcs))), nil
}

// stateTag is the state digest a scenario names by a tag.
func stateTag(tag string) spec.Digest { return spec.Hash("scenario-state", []byte(tag)) }

// uints parses a comma-separated list of numbers (bad entries are skipped: the
// resulting message is then invalid, which a scenario may intend).
func uints(s string) []uint64 {
	var out []uint64
	for _, f := range strings.Split(s, ",") {
		if v, err := strconv.ParseUint(f, 10, 64); err == nil {
			out = append(out, v)
		}
	}
	if len(out) == 0 {
		out = append(out, 0)
	}
	return out
}
