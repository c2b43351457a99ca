package prepa

import (
	"bytes"
	"errors"
	"testing"

	"github.com/splitbft/splitbft/internal/agreea"
	"github.com/splitbft/splitbft/internal/stdcrypto/fixture"
	"github.com/splitbft/splitbft/spec"
)

// countingReader counts the bytes read from it.
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
	rd := &countingReader{src: bytes.NewReader(bytes.Repeat([]byte{9}, 100))}
	p := New(rd)
	good := spec.Encode(&spec.InitRequest{Role: spec.RolePrep, Replica: 2})
	tests := []struct {
		name string
		req  []byte
	}{
		{"I1 garbage", []byte{0xff}},
		{"I1 trailing byte", append(bytes.Clone(good), 0)},
		{"I2 conf role", spec.Encode(&spec.InitRequest{Role: spec.RoleConf, Replica: 2})},
	}
	for _, tc := range tests {
		if _, err := p.Init(tc.req); !errors.Is(err, ErrBadInit) {
			t.Errorf("%s: err = %v, want bad-init", tc.name, err)
		}
	}
	if rd.n != 0 {
		t.Fatalf("failed Inits read %d bytes", rd.n)
	}
	b, err := p.Init(good)
	if err != nil {
		t.Fatal(err)
	}
	if rd.n != 32 {
		t.Fatalf("Init read %d bytes, want 32", rd.n)
	}
	var e spec.Enrollment
	if err := spec.Decode(b, &e, spec.MaxMessageBytes); err != nil {
		t.Fatal(err)
	}
	if e.Body.Role != spec.RolePrep || e.Body.Replica != 2 || string(e.Body.Build) != "prep-a" ||
		e.Body.BoxKey != (spec.PublicKey{}) || e.Evidence.Format != spec.EvidenceDevInsecure || len(e.Evidence.Data) != 0 {
		t.Fatalf("enrollment %+v", e)
	}
	if !agreea.AdmitKey(e.Body.SignKey) {
		t.Fatal("own key not admissible")
	}
	if _, err := p.Init(good); !errors.Is(err, ErrBadInit) {
		t.Fatalf("I3 second Init: err = %v", err)
	}
	if _, err := New(bytes.NewReader(make([]byte, 31))).Init(good); err == nil || errors.Is(err, ErrBadInit) {
		t.Fatalf("short randomness: err = %v", err)
	}
}

// TestStepInputMalformed covers §7.4: a StepInput that fails §2.3 or has more than
// 4096 inputs yields one malformed rejection (Index 0, Kind 0) and the status.
func TestStepInputMalformed(t *testing.T) {
	h := newHarness(t, 1, defaultOpts(1))
	tooMany := make([]spec.Input, spec.MaxStepInputs+1)
	for i := range tooMany {
		tooMany[i] = spec.Input{Kind: spec.KindCommit, Body: []byte{0x80}}
	}
	good := fixture.StepBytes(spec.Input{Kind: spec.KindCommit})
	tests := []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"not an array", []byte{0x01}},
		{"trailing byte", append(bytes.Clone(good), 0)},
		{"non-shortest head", []byte{0x98, 0x00}},
		{"4097 inputs", fixture.StepBytes(tooMany...)},
	}
	for _, tc := range tests {
		before := h.State()
		out, st, err := fixture.DecodeOutput(h.p.Step(tc.in))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		rs := fixture.Rejections(out.Outputs)
		want := spec.Rejection{Code: spec.CodeMalformed}
		if len(out.Outputs) != 1 || len(rs) != 1 || rs[0] != want {
			t.Errorf("%s: outputs %s", tc.name, describe(out.Outputs))
		}
		if !st.Configured || st.Role != spec.RolePrep || st.Replica != 1 {
			t.Errorf("%s: status %+v", tc.name, st)
		}
		if h.State() != before {
			t.Errorf("%s: state changed", tc.name)
		}
	}
	// Exactly 4096 inputs are handled one by one.
	outs, _ := h.Step(tooMany[:spec.MaxStepInputs]...)
	if len(outs) != spec.MaxStepInputs {
		t.Fatalf("4096 inputs gave %d outputs", len(outs))
	}
}

// TestPreamble covers §8.1 A1–A4.
func TestPreamble(t *testing.T) {
	p, e := newPrep(t, 2, 1)
	c := fixture.New(defaultOpts(2), e)
	un := wrap(t, 2, p, c)
	pr := c.Proposal(0, 1, un.batch(1))
	un.Reject(fixture.In(spec.KindProposal, &pr), spec.CodeNotConfigured, 0) // A2
	un.Reject(spec.Input{Kind: spec.KindCommit}, spec.CodeUnknownKind, 0)    // A1 before A2
	un.Reject(spec.Input{Kind: spec.KindGroupKeyDeal}, spec.CodeUnknownKind, 0)
	_, st := un.Step()
	if st.Configured || st.View != 0 || !st.ViewActive || st.Replica != 1 {
		t.Fatalf("unconfigured status %+v", st)
	}
	un.Accept(c.Configure())
	h := un
	h.Reject(c.Configure(), spec.CodeConfigured, 0) // A3
	tests := []struct {
		name string
		in   spec.Input
		code uint64
	}{
		{"A1 commit", spec.Input{Kind: spec.KindCommit, Body: []byte{0x80}}, spec.CodeUnknownKind},
		{"A1 suspect", fixture.In(spec.KindSuspect, &spec.Suspect{}), spec.CodeUnknownKind},
		{"A1 batch", fixture.In(spec.KindBatch, &spec.Batch{}), spec.CodeUnknownKind},
		{"A1 kind 0", spec.Input{}, spec.CodeUnknownKind},
		{"A1 kind 999", spec.Input{Kind: 999}, spec.CodeUnknownKind},
		{"A4 empty body", spec.Input{Kind: spec.KindProposal}, spec.CodeMalformed},
		{"A4 wrong type", fixture.In(spec.KindProposal, &spec.Suspect{}), spec.CodeMalformed},
		{"A4 trailing", spec.Input{Kind: spec.KindCheckpoint, Body: append(spec.Encode(&spec.Checkpoint{}), 0)}, spec.CodeMalformed},
		{"A4 over cap", spec.Input{Kind: spec.KindCheckpoint, Body: bytes.Repeat([]byte{0x80}, 1025)}, spec.CodeMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h.t = t
			h.Reject(tc.in, tc.code, 0)
		})
	}
}

// TestConfigure covers §8.1 F1–F4 and the state after configure.
func TestConfigure(t *testing.T) {
	seed := uint64(3)
	p, e := newPrep(t, seed, 2)
	c := fixture.New(defaultOpts(seed), e)
	h := wrap(t, seed, p, c)
	withCfg := func(mut func(*spec.Config)) spec.Input {
		cfg := *c.Config
		cfg.Replicas = append([]spec.ReplicaConfig(nil), c.Config.Replicas...)
		cfg.Clients = append([]spec.ClientConfig(nil), c.Config.Clients...)
		mut(&cfg)
		return fixture.In(spec.KindConfigure, &spec.Configure{Config: spec.Encode(&cfg)})
	}
	other, otherEnr := newPrep(t, seed+1, 2)
	_ = other
	tests := []struct {
		name string
		in   spec.Input
	}{
		{"F1 garbage", fixture.In(spec.KindConfigure, &spec.Configure{Config: []byte{0x82, 0x01}})},
		{"F1 empty", fixture.In(spec.KindConfigure, &spec.Configure{})},
		{"F2 version", withCfg(func(c *spec.Config) { c.Version = 2 })},
		{"F2 small-order client key", withCfg(func(c *spec.Config) { c.Clients[0].SignKey = spec.PublicKey{1} })},
		{"F2 non-canonical client key", withCfg(func(c *spec.Config) {
			c.Clients[0].SignKey = spec.PublicKey{0xee, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
				0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}
		})},
		{"F3 other enclave", withCfg(func(c *spec.Config) { c.Replicas[2].Prep = otherEnr })},
		{"F4 share", fixture.In(spec.KindConfigure, &spec.Configure{Config: spec.Encode(c.Config), Share: []spec.GroupKeyShare{{}}})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h.t = t
			h.Reject(tc.in, spec.CodeBadConfig, 0)
		})
	}
	h.t = t
	// F3 compares role, replica and keys, not the build name: a configuration naming
	// another build at this slot (as the conformance fixture does) is accepted.
	same, _ := newPrep(t, seed, 2) // same seed: same keys as p
	renamed := wrap(t, seed, same, c)
	renamed.Accept(withCfg(func(c *spec.Config) { c.Replicas[2].Prep.Body.Build = []byte("prep-b") }))
	noInit := wrap(t, seed, New(fixture.NewReader(1)), c)
	noInit.Reject(c.Configure(), spec.CodeBadConfig, 0) // no enrollment yet
	outs, st := h.Step(c.Configure())
	if len(outs) != 0 || !st.Configured || st.View != 0 || st.Stable != 0 || st.Last != 0 || !st.ViewActive {
		t.Fatalf("after configure: %s %+v", describe(outs), st)
	}
}

// TestStepManyInputs: the inputs of one StepInput are handled in order, each
// completely; rejections name their input's index and kind (SPEC.md §7.4).
func TestStepManyInputs(t *testing.T) {
	h := newHarness(t, 3, defaultOpts(4))
	b1, b2 := h.batch(1), h.batch(2)
	p1 := fixture.In(spec.KindProposal, ptr(h.c.Proposal(0, 1, b1)))
	outs, st := h.Step(p1, spec.Input{Kind: spec.KindCommit}, p1, fixture.In(spec.KindProposal, ptr(h.c.Proposal(0, 2, b2))))
	kinds := []uint64{spec.KindPrepare, spec.KindReject, spec.KindReject, spec.KindPrepare}
	if len(outs) != len(kinds) {
		h.Fatalf("outputs:\n%s", describe(outs))
	}
	for i, k := range kinds {
		if outs[i].Kind != k {
			h.Fatalf("output %d is %s, want %s", i, spec.KindName(outs[i].Kind), spec.KindName(k))
		}
	}
	rs := fixture.Rejections(outs)
	if rs[0] != (spec.Rejection{Index: 1, Kind: spec.KindCommit, Code: spec.CodeUnknownKind}) ||
		rs[1] != (spec.Rejection{Index: 2, Kind: spec.KindProposal, Code: spec.CodeDuplicate}) {
		h.Fatalf("rejections %+v", rs)
	}
	if st.Last != 2 {
		h.Fatalf("status %+v", st)
	}
}
