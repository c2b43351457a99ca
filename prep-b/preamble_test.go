package prepb

import (
	"bytes"
	"testing"

	"github.com/splitbft/splitbft/spec"
)

// TestStepInputMalformed covers §7.4: a StepInput that fails §2.3 or has more than
// 4096 inputs gives one malformed rejection (index 0, kind 0) and the status.
func TestStepInputMalformed(t *testing.T) {
	fx := newFixture(t, 1, 21)
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
		before := fx.p.DebugState()
		outs := fx.splitStatus(fx.p.Step(c.raw))
		fx.expectOutputs(outs, []spec.Output{rejection(0, 0, spec.CodeMalformed, 0)})
		if fx.p.DebugState() != before {
			t.Fatalf("%s: state changed", c.name)
		}
	}
}

// TestPreamble covers §8.1 A1–A4 and F1–F4, each line failing alone.
func TestPreamble(t *testing.T) {
	fx := newUnconfigured(t, 1, 22)
	cfgBytes := spec.Encode(&fx.cfg)
	badVersion := fx.cfg
	badVersion.Version = 2
	otherKey := fx.cfg
	otherKey.Replicas = append([]spec.ReplicaConfig(nil), fx.cfg.Replicas...)
	// Swap this enclave's signing key with replica 2's: still a valid configuration,
	// but not this enclave's enrollment (the build name alone would not matter, F3).
	otherKey.Replicas[1].Prep.Body.SignKey, otherKey.Replicas[2].Prep.Body.SignKey = fx.cfg.Replicas[2].Prep.Body.SignKey, fx.cfg.Replicas[1].Prep.Body.SignKey
	smallOrder := fx.cfg
	smallOrder.Clients = append([]spec.ClientConfig(nil), fx.cfg.Clients...)
	smallOrder.Clients[0].SignKey = spec.PublicKey{1} // the identity: small order
	cases := []struct {
		name string
		in   spec.Input
		code uint64
	}{
		{"A1 unknown kind", spec.Input{Kind: spec.KindCommit, Body: []byte{0x80}}, spec.CodeUnknownKind},
		{"A1 group-key-deal", spec.Input{Kind: spec.KindGroupKeyDeal, Body: []byte{0x80}}, spec.CodeUnknownKind},
		{"A1 kind 0", spec.Input{Kind: 0}, spec.CodeUnknownKind},
		{"A2 not configured", input(spec.KindClientBatch, &spec.Batch{}), spec.CodeNotConfigured},
		{"A4 malformed", spec.Input{Kind: spec.KindConfigure, Body: []byte{0x82, 0x40}}, spec.CodeMalformed},
		{"F1 config not canonical", input(spec.KindConfigure, &spec.Configure{Config: append(append([]byte(nil), cfgBytes...), 0)}), spec.CodeBadConfig},
		{"F2 invalid config", input(spec.KindConfigure, &spec.Configure{Config: spec.Encode(&badVersion)}), spec.CodeBadConfig},
		{"F2 small-order client key", input(spec.KindConfigure, &spec.Configure{Config: spec.Encode(&smallOrder)}), spec.CodeBadConfig},
		{"F3 not our enrollment", input(spec.KindConfigure, &spec.Configure{Config: spec.Encode(&otherKey)}), spec.CodeBadConfig},
		{"F4 share present", input(spec.KindConfigure, &spec.Configure{Config: cfgBytes, Share: []spec.GroupKeyShare{{}}}), spec.CodeBadConfig},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { fx.t = t; fx.expectReject(c.in, c.code, 0) })
	}
	fx.t = t
	fx.mustAccept(input(spec.KindConfigure, &spec.Configure{Config: cfgBytes}))
	fx.expectReject(input(spec.KindConfigure, &spec.Configure{Config: cfgBytes}), spec.CodeConfigured, 0) // A3
	fx.expectReject(spec.Input{Kind: spec.KindProposal, Body: []byte{0x80}}, spec.CodeMalformed, 0)       // A4
	st := fx.status()
	want := spec.Status{Role: spec.RolePrep, Replica: 1, Configured: true, ViewActive: true}
	if !bytes.Equal(spec.Encode(&st), spec.Encode(&want)) {
		t.Fatalf("status after configure %+v", st)
	}
}

// TestConfigureBeforeInit checks F3 for a prep that was never initialised.
func TestConfigureBeforeInit(t *testing.T) {
	fx := newUnconfigured(t, 0, 23)
	fx.p = New(bytes.NewReader(nil))
	fx.expectReject(input(spec.KindConfigure, &spec.Configure{Config: spec.Encode(&fx.cfg)}), spec.CodeBadConfig, 0)
}

// TestRejectionIndex checks that rejections name their input's index and kind, and
// that later inputs of the same Step are still handled.
func TestRejectionIndex(t *testing.T) {
	fx := newFixture(t, 1, 24)
	outs := fx.step(spec.Input{Kind: 99}, input(spec.KindConfigure, &spec.Configure{}), spec.Input{Kind: spec.KindNewView, Body: []byte{0}})
	fx.expectOutputs(outs, []spec.Output{
		rejection(0, 99, spec.CodeUnknownKind, 0),
		rejection(1, spec.KindConfigure, spec.CodeConfigured, 0),
		rejection(2, spec.KindNewView, spec.CodeMalformed, 0),
	})
}
