package agreebtest

import (
	"bytes"
	"errors"
	"math/rand"
	"testing"

	"github.com/splitbft/splitbft/spec"
)

// This file holds the test bodies of the rules prep-b and conf-b enforce
// identically; each compartment's own tests call them with its Setup.

// Case is one input that fails exactly one accept line with Code.
type Case struct {
	Name string
	In   spec.Input
	Code uint64
}

// countingReader counts the bytes read from it.
type countingReader struct {
	r *rand.Rand
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	c.n += len(p)
	return c.r.Read(p)
}

// otherRole returns the agreement role that is not role.
func otherRole(role spec.Role) spec.Role {
	if role == spec.RolePrep {
		return spec.RoleConf
	}
	return spec.RolePrep
}

// RunInit covers §7.1 I1–I3 (each error wrapping errBadInit, the state unchanged),
// the enrollment shape and §3.5 (exactly 32 bytes of randomness read).
func RunInit(t *testing.T, s *Setup, errBadInit error) {
	const seed = 7
	cr := &countingReader{r: rand.New(rand.NewSource(seed))}
	p := s.New(cr)
	good := spec.Encode(&spec.InitRequest{Role: s.Role, Replica: 2})
	cases := []struct {
		name string
		req  []byte
	}{
		{"I1 not a document", []byte{0xff}},
		{"I1 trailing bytes", append(append([]byte(nil), good...), 0)},
		{"I2 wrong role", spec.Encode(&spec.InitRequest{Role: otherRole(s.Role), Replica: 2})},
	}
	for _, c := range cases {
		if _, err := p.Init(c.req); !errors.Is(err, errBadInit) {
			t.Fatalf("%s: err = %v, want bad-init", c.name, err)
		}
	}
	if cr.n != 0 || p.DebugState() != s.New(nil).DebugState() {
		t.Fatalf("failed Init read randomness or changed state")
	}
	raw, err := p.Init(good)
	if err != nil {
		t.Fatal(err)
	}
	if cr.n != 32 {
		t.Fatalf("Init read %d bytes of randomness, want 32", cr.n)
	}
	var e spec.Enrollment
	if err := spec.Decode(raw, &e, spec.MaxMessageBytes); err != nil {
		t.Fatal(err)
	}
	want := spec.EnrollmentBody{Role: s.Role, Replica: 2, Build: []byte(s.Build), SignKey: e.Body.SignKey}
	if !bytes.Equal(spec.Encode(&e.Body), spec.Encode(&want)) || e.Evidence.Format != spec.EvidenceDevInsecure || len(e.Evidence.Data) != 0 {
		t.Fatalf("enrollment %+v", e)
	}
	before := p.DebugState()
	if _, err := p.Init(good); !errors.Is(err, errBadInit) { // I3
		t.Fatalf("second Init: err = %v, want bad-init", err)
	}
	if cr.n != 32 || p.DebugState() != before {
		t.Fatal("second Init changed state or read randomness")
	}
}

// RunInitShortRandomness checks that a failing randomness source fails Init
// without initialising: the state stays that of a fresh compartment.
func RunInitShortRandomness(t *testing.T, s *Setup) {
	p := s.New(bytes.NewReader(make([]byte, 31)))
	if _, err := p.Init(spec.Encode(&spec.InitRequest{Role: s.Role})); err == nil {
		t.Fatal("Init succeeded with 31 bytes of randomness")
	}
	if p.DebugState() != s.New(nil).DebugState() {
		t.Fatalf("failed Init initialised the compartment:\n%s", p.DebugState())
	}
}

// RunStepInputMalformed covers §7.4: a StepInput that fails §2.3 or has more than
// 4096 inputs gives one malformed rejection (index 0, kind 0) and the status, and
// changes no state.
func RunStepInputMalformed(t *testing.T, s *Setup) {
	fx := NewConfigured(t, s, 1, 21)
	tooMany := spec.StepInput{Inputs: make([]spec.Input, spec.MaxStepInputs+1)}
	good := spec.Encode(&spec.StepInput{})
	cases := []struct {
		name string
		raw  []byte
	}{
		{"empty", nil},
		{"not an array", []byte{0x01}},
		{"trailing byte", append(append([]byte(nil), good...), 0)},
		{"non-shortest head", []byte{0x81, 0x98, 0x00}},
		{"too many inputs", spec.Encode(&tooMany)},
	}
	for _, c := range cases {
		before := fx.P.DebugState()
		outs := fx.SplitStatus(fx.P.Step(c.raw))
		fx.ExpectOutputs(outs, []spec.Output{Rejection(0, 0, spec.CodeMalformed, 0)})
		if fx.P.DebugState() != before {
			t.Fatalf("%s: state changed", c.name)
		}
	}
}

// RunConfigureBeforeInit checks F3 for a compartment that was never initialised.
func RunConfigureBeforeInit(t *testing.T, s *Setup) {
	fx := NewUnconfigured(t, s, 0, 23)
	fx.P = s.New(bytes.NewReader(nil))
	fx.ExpectReject(Input(spec.KindConfigure, &spec.Configure{Config: spec.Encode(&fx.Cfg)}), spec.CodeBadConfig, 0)
}

// RunRejectionIndex checks that rejections name their input's index and kind, and
// that later inputs of the same Step are still handled.
func RunRejectionIndex(t *testing.T, s *Setup) {
	fx := NewConfigured(t, s, 1, 24)
	outs := fx.Step(spec.Input{Kind: 99}, Input(spec.KindConfigure, &spec.Configure{}), spec.Input{Kind: spec.KindNewView, Body: []byte{0}})
	fx.ExpectOutputs(outs, []spec.Output{
		Rejection(0, 99, spec.CodeUnknownKind, 0),
		Rejection(1, spec.KindConfigure, spec.CodeConfigured, 0),
		Rejection(2, spec.KindNewView, spec.CodeMalformed, 0),
	})
}
