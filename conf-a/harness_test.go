package confa

import (
	"fmt"
	"testing"

	"github.com/splitbft/splitbft/internal/stdcrypto/fixture"
	"github.com/splitbft/splitbft/spec"
)

// harness drives one configured Conf inside a fixture cluster.
type harness struct {
	t    testing.TB
	seed uint64
	p    *Conf
	c    *fixture.Cluster
}

// defaultOpts is the cluster of most tests: n = 4, f = 1, K = 2, L = 8.
func defaultOpts(seed uint64) fixture.Options { return fixture.Options{Seed: seed} }

// newConf returns an initialised, unconfigured Conf for replica id and its enrollment.
func newConf(t testing.TB, seed, id uint64) (*Conf, spec.Enrollment) {
	t.Helper()
	p := New(fixture.NewReader(seed*1000 + id))
	b, err := p.Init(spec.Encode(&spec.InitRequest{Role: spec.RoleConf, Replica: id}))
	if err != nil {
		t.Fatalf("seed %d: Init: %v", seed, err)
	}
	var e spec.Enrollment
	if err := spec.Decode(b, &e, spec.MaxMessageBytes); err != nil {
		t.Fatalf("seed %d: enrollment: %v", seed, err)
	}
	return p, e
}

// newHarness returns a configured conf of replica id in a cluster shaped by opt.
func newHarness(t testing.TB, id uint64, opt fixture.Options) *harness {
	t.Helper()
	p, e := newConf(t, opt.Seed, id)
	h := &harness{t: t, seed: opt.Seed, p: p, c: fixture.New(opt, e)}
	h.accept(h.c.Configure())
	return h
}

func (h *harness) fatalf(format string, a ...any) {
	h.t.Helper()
	h.t.Fatalf("seed %d: %s", h.seed, fmt.Sprintf(format, a...))
}

// step runs one StepInput and returns its outputs without the final status.
func (h *harness) step(ins ...spec.Input) ([]spec.Output, *spec.Status) {
	h.t.Helper()
	out, st, err := fixture.DecodeOutput(h.p.Step(fixture.StepBytes(ins...)))
	if err != nil {
		h.fatalf("step output: %v", err)
	}
	return out.Outputs, st
}

// accept runs in alone and fails the test if any output is a rejection.
func (h *harness) accept(in spec.Input) []spec.Output {
	h.t.Helper()
	outs, _ := h.step(in)
	if rs := fixture.Rejections(outs); len(rs) != 0 {
		h.fatalf("%s rejected: %s (sub %d)", spec.KindName(in.Kind), spec.CodeName(rs[0].Code), rs[0].Sub)
	}
	return outs
}

// reject runs in alone and checks that its only output is the Rejection with code
// and sub, and that the state is unchanged.
func (h *harness) reject(in spec.Input, code, sub uint64) {
	h.t.Helper()
	before := h.p.DebugState()
	outs, _ := h.step(in)
	want := spec.Rejection{Index: 0, Kind: in.Kind, Code: code, Sub: sub}
	rs := fixture.Rejections(outs)
	if len(outs) != 1 || len(rs) != 1 || rs[0] != want {
		h.fatalf("%s: got %s, want only rejection %s sub %d", spec.KindName(in.Kind), describe(outs), spec.CodeName(code), sub)
	}
	if after := h.p.DebugState(); after != before {
		h.fatalf("%s rejected with %s but state changed:\nbefore:\n%s\nafter:\n%s", spec.KindName(in.Kind), spec.CodeName(code), before, after)
	}
}

// describe renders outputs for failure messages.
func describe(outs []spec.Output) string {
	return spec.DescribeOutput(&spec.StepOutput{Outputs: outs})
}

// only returns the single output of outs, which must have the given kind.
func (h *harness) only(outs []spec.Output, kind uint64) spec.Output {
	h.t.Helper()
	if len(outs) != 1 || outs[0].Kind != kind {
		h.fatalf("want exactly one %s, got:\n%s", spec.KindName(kind), describe(outs))
	}
	return outs[0]
}

// checkTo fails unless o goes to roles at every replica.
func (h *harness) checkTo(o spec.Output, roles uint64) {
	h.t.Helper()
	if o.To.Roles != roles || fmt.Sprint(o.To.Replicas) != fmt.Sprint(h.c.AllReplicas()) {
		h.fatalf("%s to %+v, want roles %b at every replica", spec.KindName(o.Kind), o.To, roles)
	}
}

// decode decodes an output body of kind into v.
func (h *harness) decode(o spec.Output, v any) {
	h.t.Helper()
	if err := spec.Decode(o.Body, v, spec.MaxBodyBytes(o.Kind)); err != nil {
		h.fatalf("decode %s: %v", spec.KindName(o.Kind), err)
	}
}

// ppIn and prIn return the input of a PRE-PREPARE or a PREPARE.
func ppIn(pp spec.PrePrepare) spec.Input { return fixture.In(spec.KindPrePrepare, &pp) }

func prIn(p spec.Prepare) spec.Input { return fixture.In(spec.KindPrepare, &p) }

func ptr[T any](v T) *T { return &v }

// dg and state return distinct test digests (batch digests and state digests).
func dg(b byte) spec.Digest { return spec.Digest{b, 0xd1} }

func state(b byte) spec.Digest { return spec.Digest{b, 0xcc} }

func genesis() spec.CheckpointCert { return spec.CheckpointCert{} }

// id returns the replica id of the conf under test.
func (h *harness) id() uint64 { return h.p.self.Replica }

func (h *harness) checkpoint(seq uint64, st spec.Digest, r uint64) spec.Input {
	return fixture.In(spec.KindCheckpoint, ptr(h.c.Checkpoint(seq, st, r)))
}

// suspectIn returns the suspect input for view.
func suspectIn(view uint64) spec.Input {
	return fixture.In(spec.KindSuspect, &spec.Suspect{View: view})
}

// prepared feeds the PRE-PREPARE and the PREPAREs of the backups rs for (view, seq,
// d) and returns the outputs of the last input.
func (h *harness) prepared(view, seq uint64, d spec.Digest, rs ...uint64) []spec.Output {
	h.t.Helper()
	outs := h.accept(ppIn(h.c.PrePrepare(view, seq, d)))
	for _, r := range rs {
		outs = h.accept(prIn(h.c.Prepare(view, seq, d, r)))
	}
	return outs
}

// commit decodes the single COMMIT among outs and checks its destination and
// signature.
func (h *harness) commit(outs []spec.Output) spec.Commit {
	h.t.Helper()
	o := h.only(outs, spec.KindCommit)
	h.checkTo(o, spec.ToExec)
	var cm spec.Commit
	h.decode(o, &cm)
	if cm.Body.Replica != h.id() || !h.c.Verify(spec.RoleConf, h.id(), spec.DomainCommit, &cm.Body, cm.Sig) {
		h.fatalf("commit %+v does not verify as ours", cm.Body)
	}
	return cm
}

// state returns the dump of the prep under test.
func (h *harness) state() string { return h.p.DebugState() }
