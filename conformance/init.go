package conformance

import "github.com/splitbft/splitbft/spec"

// testInit checks SPEC.md §7.1 (rules I1–I3) and the key derivation of §3.5.
func testInit(t Failer, role spec.Role, factory Factory) {
	const seed = 42
	in, err := Start(factory, seed, role, 2)
	if err != nil {
		t.Fatalf("init: %v", err)
	}
	want := DerivedEnrollment(seed, role, 2)
	got := in.Enrollment.Body
	if got.Role != role || got.Replica != 2 || got.SignKey != want.SignKey || got.BoxKey != want.BoxKey {
		t.Errorf("enrollment %+v does not carry the keys §3.5 derives from the stream (want sign %x box %x)", got, want.SignKey[:4], want.BoxKey[:4])
	}
	if !spec.ValidBuildName(got.Build) {
		t.Errorf("build name %q is not valid (§6.2)", got.Build)
	}
	if in.Enrollment.Evidence.Format != spec.EvidenceDevInsecure || len(in.Enrollment.Evidence.Data) != 0 {
		t.Errorf("outside an enclave the evidence must be dev-insecure with no data, got %+v", in.Enrollment.Evidence)
	}
	cases := []struct {
		rule string
		req  []byte
	}{
		{"I3", spec.Encode(&spec.InitRequest{Role: role, Replica: 2})},
	}
	for _, c := range cases {
		if _, err := in.C.Init(c.req); err == nil {
			t.Errorf("rule %s: a second Init succeeded", c.rule)
		}
	}
	fresh := func() spec.Compartment { return factory(Stream("enclave", seed)) }
	if _, err := fresh().Init([]byte{0x82, 0x00}); err == nil {
		t.Errorf("rule I1: a malformed InitRequest succeeded")
	}
	if _, err := fresh().Init(spec.Encode(&spec.InitRequest{Role: (role + 1) % 3, Replica: 2})); err == nil {
		t.Errorf("rule I2: Init for another role succeeded")
	}
	out, _, err := in.Step(In(spec.KindPrepare, &spec.Prepare{}))
	if err != nil {
		t.Fatalf("step: %v", err)
	}
	rs := Rejections(out)
	wantCode := spec.CodeNotConfigured
	if role != spec.RoleConf { // only conf accepts prepare (A1 precedes A2)
		wantCode = spec.CodeUnknownKind
	}
	if len(rs) != 1 || rs[0].Code != wantCode {
		t.Errorf("rule A1/A2: a prepare before configure gave %+v, want %s", rs, spec.CodeName(wantCode))
	}
}
