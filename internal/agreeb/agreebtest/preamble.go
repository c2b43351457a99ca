package agreebtest

import (
	"bytes"
	"testing"

	"github.com/splitbft/splitbft/spec"
)

// PreambleKinds are the compartment-specific inputs of RunPreamble.
type PreambleKinds struct {
	Foreign []Case     // more A1 cases: kinds only other compartments accept
	A2      spec.Input // an input of an accepted kind other than configure
	A4      uint64     // an accepted kind other than configure, fed an undecodable body
}

// ownEnrollment returns the enrollment of setup's role at replica r in cfg.
func ownEnrollment(cfg *spec.Config, role spec.Role, r uint64) *spec.Enrollment {
	if role == spec.RolePrep {
		return &cfg.Replicas[r].Prep
	}
	return &cfg.Replicas[r].Conf
}

// RunPreamble covers §8.1 A1–A4 and F1–F4, each line failing alone, then the
// Status right after configure.
func RunPreamble(t *testing.T, s *Setup, k PreambleKinds) {
	fx := NewUnconfigured(t, s, 1, 22)
	cfgBytes := spec.Encode(&fx.Cfg)
	badVersion := fx.Cfg
	badVersion.Version = 2
	otherKey := fx.Cfg
	otherKey.Replicas = append([]spec.ReplicaConfig(nil), fx.Cfg.Replicas...)
	// Swap this enclave's signing key with replica 2's: still a valid configuration,
	// but not this enclave's enrollment (the build name alone would not matter, F3).
	e1, e2 := ownEnrollment(&otherKey, s.Role, 1), ownEnrollment(&otherKey, s.Role, 2)
	e1.Body.SignKey, e2.Body.SignKey = e2.Body.SignKey, e1.Body.SignKey
	smallOrder := fx.Cfg
	smallOrder.Clients = append([]spec.ClientConfig(nil), fx.Cfg.Clients...)
	smallOrder.Clients[0].SignKey = spec.PublicKey{1} // the identity: small order
	cases := []Case{
		{"A1 unknown kind", spec.Input{Kind: spec.KindCommit, Body: []byte{0x80}}, spec.CodeUnknownKind},
		{"A1 group-key-deal", spec.Input{Kind: spec.KindGroupKeyDeal, Body: []byte{0x80}}, spec.CodeUnknownKind},
		{"A1 kind 0", spec.Input{Kind: 0}, spec.CodeUnknownKind},
	}
	cases = append(cases, k.Foreign...)
	cases = append(cases, []Case{
		{"A2 not configured", k.A2, spec.CodeNotConfigured},
		{"A4 malformed", spec.Input{Kind: spec.KindConfigure, Body: []byte{0x82, 0x40}}, spec.CodeMalformed},
		{"F1 config not canonical", Input(spec.KindConfigure, &spec.Configure{Config: append(append([]byte(nil), cfgBytes...), 0)}), spec.CodeBadConfig},
		{"F2 invalid config", Input(spec.KindConfigure, &spec.Configure{Config: spec.Encode(&badVersion)}), spec.CodeBadConfig},
		{"F2 small-order client key", Input(spec.KindConfigure, &spec.Configure{Config: spec.Encode(&smallOrder)}), spec.CodeBadConfig},
		{"F3 not our enrollment", Input(spec.KindConfigure, &spec.Configure{Config: spec.Encode(&otherKey)}), spec.CodeBadConfig},
		{"F4 share present", Input(spec.KindConfigure, &spec.Configure{Config: cfgBytes, Share: []spec.GroupKeyShare{{}}}), spec.CodeBadConfig},
	}...)
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) { fx.T = t; fx.ExpectReject(c.In, c.Code, 0) })
	}
	fx.T = t
	fx.MustAccept(Input(spec.KindConfigure, &spec.Configure{Config: cfgBytes}))
	fx.ExpectReject(Input(spec.KindConfigure, &spec.Configure{Config: cfgBytes}), spec.CodeConfigured, 0) // A3
	fx.ExpectReject(spec.Input{Kind: k.A4, Body: []byte{0x80}}, spec.CodeMalformed, 0)                    // A4
	st := fx.Status()
	want := spec.Status{Role: s.Role, Replica: 1, Configured: true, ViewActive: true}
	if !bytes.Equal(spec.Encode(&st), spec.Encode(&want)) {
		t.Fatalf("status after configure %+v", st)
	}
}
