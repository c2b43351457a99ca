package confa

import (
	"bytes"
	"errors"
	"testing"

	"github.com/splitbft/splitbft/internal/agreea"
	"github.com/splitbft/splitbft/internal/stdcrypto/fixture"
	"github.com/splitbft/splitbft/spec"
)

type countingReader struct {
	n   int
	src *bytes.Reader
}

func (r *countingReader) Read(b []byte) (int, error) {
	k, err := r.src.Read(b)
	r.n += k
	return k, err
}

// TestInit covers SPEC.md §7.1 I1–I3 and §3.5 (exactly 32 bytes of randomness).
func TestInit(t *testing.T) {
	rd := &countingReader{src: bytes.NewReader(bytes.Repeat([]byte{5}, 100))}
	c := New(rd)
	good := spec.Encode(&spec.InitRequest{Role: spec.RoleConf, Replica: 3})
	for name, req := range map[string][]byte{
		"I1 garbage":   {0xff},
		"I1 trailing":  append(bytes.Clone(good), 0),
		"I2 prep role": spec.Encode(&spec.InitRequest{Role: spec.RolePrep, Replica: 3}),
		"I2 role 7":    spec.Encode(&spec.InitRequest{Role: 7, Replica: 3}),
	} {
		if _, err := c.Init(req); !errors.Is(err, ErrBadInit) {
			t.Errorf("%s: err = %v, want bad-init", name, err)
		}
	}
	if rd.n != 0 {
		t.Fatalf("failed Inits read %d bytes", rd.n)
	}
	b, err := c.Init(good)
	if err != nil || rd.n != 32 {
		t.Fatalf("Init: %v, read %d bytes", err, rd.n)
	}
	var e spec.Enrollment
	if err := spec.Decode(b, &e, spec.MaxMessageBytes); err != nil {
		t.Fatal(err)
	}
	if e.Body.Role != spec.RoleConf || e.Body.Replica != 3 || string(e.Body.Build) != "conf-a" ||
		e.Body.BoxKey != (spec.PublicKey{}) || e.Evidence.Format != spec.EvidenceDevInsecure || !agreea.AdmitKey(e.Body.SignKey) {
		t.Fatalf("enrollment %+v", e)
	}
	if _, err := c.Init(good); !errors.Is(err, ErrBadInit) {
		t.Fatalf("I3: err = %v", err)
	}
}

// TestStepInputMalformed covers §7.4 for a StepInput that fails §2.3 or is too long.
func TestStepInputMalformed(t *testing.T) {
	h := newHarness(t, 1, defaultOpts(1))
	tooMany := make([]spec.Input, spec.MaxStepInputs+1)
	for _, in := range [][]byte{nil, {0x01}, {0x98, 0x00}, append(fixture.StepBytes(), 0), fixture.StepBytes(tooMany...)} {
		before := h.State()
		out, st, err := fixture.DecodeOutput(h.p.Step(in))
		if err != nil {
			t.Fatal(err)
		}
		rs := fixture.Rejections(out.Outputs)
		if len(out.Outputs) != 1 || len(rs) != 1 || rs[0] != (spec.Rejection{Code: spec.CodeMalformed}) {
			t.Errorf("%x: outputs %s", in[:min(len(in), 8)], describe(out.Outputs))
		}
		if st.Role != spec.RoleConf || !st.Configured || !st.ViewActive || h.State() != before {
			t.Errorf("status %+v or state changed", st)
		}
	}
}

// TestPreamble covers §8.1 A1–A4 for conf.
func TestPreamble(t *testing.T) {
	p, e := newConf(t, 2, 1)
	c := fixture.New(defaultOpts(2), e)
	h := wrap(t, 2, p, c)
	h.Reject(ppIn(c.PrePrepare(0, 1, dg(1))), spec.CodeNotConfigured, 0) // A2
	h.Reject(fixture.In(spec.KindViewChange, ptr(c.ViewChange(1, 0, genesis()))), spec.CodeUnknownKind, 0)
	if _, st := h.Step(); st.Configured || st.ViewActive || st.Role != spec.RoleConf || st.Replica != 1 {
		t.Fatalf("unconfigured status %+v", st)
	}
	h.Accept(c.Configure())
	h.Reject(c.Configure(), spec.CodeConfigured, 0) // A3
	tests := []struct {
		name string
		in   spec.Input
		code uint64
	}{
		{"A1 proposal", fixture.In(spec.KindProposal, ptr(c.Proposal(0, 1, spec.Batch{}))), spec.CodeUnknownKind},
		{"A1 view-change", fixture.In(spec.KindViewChange, ptr(c.ViewChange(1, 0, genesis()))), spec.CodeUnknownKind},
		{"A1 commit", spec.Input{Kind: spec.KindCommit}, spec.CodeUnknownKind},
		{"A1 client-batch", fixture.In(spec.KindClientBatch, &spec.Batch{}), spec.CodeUnknownKind},
		{"A1 group-key-deal", spec.Input{Kind: spec.KindGroupKeyDeal}, spec.CodeUnknownKind},
		{"A4 empty", spec.Input{Kind: spec.KindPrepare}, spec.CodeMalformed},
		{"A4 prepare as pre-prepare type", spec.Input{Kind: spec.KindSuspect, Body: spec.Encode(ptr(c.Prepare(0, 1, dg(1), 2)))}, spec.CodeMalformed},
		{"A4 over cap", spec.Input{Kind: spec.KindPrepare, Body: bytes.Repeat([]byte{0x80}, 1025)}, spec.CodeMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h.t = t
			h.Reject(tc.in, tc.code, 0)
		})
	}
}

// TestConfigure covers §8.1 F1–F4 for conf.
func TestConfigure(t *testing.T) {
	seed := uint64(3)
	p, e := newConf(t, seed, 2)
	c := fixture.New(defaultOpts(seed), e)
	h := wrap(t, seed, p, c)
	withCfg := func(mut func(*spec.Config)) spec.Input {
		cfg := *c.Config
		cfg.Replicas = append([]spec.ReplicaConfig(nil), c.Config.Replicas...)
		mut(&cfg)
		return fixture.In(spec.KindConfigure, &spec.Configure{Config: spec.Encode(&cfg)})
	}
	_, otherEnr := newConf(t, seed+1, 2)
	tests := []struct {
		name string
		in   spec.Input
	}{
		{"F1 garbage", fixture.In(spec.KindConfigure, &spec.Configure{Config: []byte{0xa0}})},
		{"F2 n", withCfg(func(c *spec.Config) { c.N = 5 })},
		{"F2 small-order exec key", withCfg(func(c *spec.Config) {
			c.Replicas[0].Exec.Body.SignKey = spec.PublicKey{0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
				0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}
		})},
		{"F3 other enclave", withCfg(func(c *spec.Config) { c.Replicas[2].Conf = otherEnr })},
		{"F2 swapped enrollments", withCfg(func(c *spec.Config) {
			c.Replicas[2].Conf, c.Replicas[3].Conf = c.Replicas[3].Conf, c.Replicas[2].Conf
		})},
		{"F4 share", fixture.In(spec.KindConfigure, &spec.Configure{Config: spec.Encode(c.Config), Share: []spec.GroupKeyShare{{}}})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h.t = t
			h.Reject(tc.in, spec.CodeBadConfig, 0)
		})
	}
	h.t = t
	outs, st := h.Step(c.Configure())
	if len(outs) != 0 || !st.Configured || !st.ViewActive || st.View != 0 || st.Stable != 0 || st.Last != 0 {
		t.Fatalf("after configure: %s %+v", describe(outs), st)
	}
}

// TestStepManyInputs: the inputs of one StepInput are handled in order, each
// completely; rejections name their input's index and kind (SPEC.md §7.4).
func TestStepManyInputs(t *testing.T) {
	h := newHarness(t, 3, defaultOpts(4))
	c := h.c
	outs, st := h.Step(ppIn(c.PrePrepare(0, 1, dg(1))), prIn(c.Prepare(0, 1, dg(1), 1)),
		prIn(c.Prepare(0, 1, dg(1), 1)), prIn(c.Prepare(0, 1, dg(1), 2)), suspectIn(0), prIn(c.Prepare(0, 1, dg(1), 3)))
	kinds := []uint64{spec.KindReject, spec.KindCommit, spec.KindViewChange, spec.KindReject}
	if len(outs) != len(kinds) {
		h.Fatalf("outputs:\n%s", describe(outs))
	}
	for i, k := range kinds {
		if outs[i].Kind != k {
			h.Fatalf("output %d is %s, want %s", i, spec.KindName(outs[i].Kind), spec.KindName(k))
		}
	}
	rs := fixture.Rejections(outs)
	if rs[0] != (spec.Rejection{Index: 2, Kind: spec.KindPrepare, Code: spec.CodeDuplicate}) ||
		rs[1] != (spec.Rejection{Index: 5, Kind: spec.KindPrepare, Code: spec.CodeStale}) {
		h.Fatalf("rejections %+v", rs)
	}
	if st.View != 1 || st.ViewActive || st.Last != 1 {
		h.Fatalf("status %+v", st)
	}
}
