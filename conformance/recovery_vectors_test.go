package conformance

import (
	"crypto/ed25519"
	"strings"
	"testing"

	"github.com/splitbft/splitbft/spec"
)

// TestRecoveryVectorsHitTheirRule checks the generator's recovery vectors against
// spec.VerifyPlan and spec.VerifyRecovery (SPEC.md §17.8): a vector expecting a
// rejection by RC1–RC5 fails that rule (the error names it) with the expected code,
// not an earlier one; a vector expecting acceptance, or a rejection by RV4 or RV5,
// carries a plan (or recovery) that passes. So a vector cannot
// pass an implementation for the wrong reason.
func TestRecoveryVectorsHitTheirRule(t *testing.T) {
	vs, err := Generate(execCases())
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, v := range vs {
		prev, ok := recoverPrev(t, v)
		if !ok || (v.Final.Kind != spec.KindRecover && v.Final.Kind != spec.KindRecovery) {
			continue
		}
		rule := v.Rule[strings.LastIndex(v.Rule, ",")+1:]
		code, err := verifyFinal(t, prev, v.Final)
		switch {
		case strings.HasPrefix(rule, "RC") && !v.Accept:
			if err == nil || code != v.Code || !strings.Contains(err.Error(), rule+":") {
				t.Errorf("%s (seed %d): want %s by %s, got code %s: %v", v.Name, v.Seed, spec.CodeName(v.Code), rule, spec.CodeName(code), err)
			}
			checked++
		case v.Accept || rule == "RV4" || rule == "RV5":
			if err != nil {
				t.Errorf("%s (seed %d): its plan or recovery fails verification: %v", v.Name, v.Seed, err)
			}
			checked++
		}
	}
	t.Logf("%d recovery vectors checked", checked)
	if checked < 25 {
		t.Fatalf("only %d recovery vectors checked", checked)
	}
}

// recoverPrev returns C from the vector's first recover input (setup or final).
func recoverPrev(t *testing.T, v *Vector) (*spec.Config, bool) {
	ins := []spec.Input{}
	for _, s := range v.Steps {
		ins = append(ins, s.Inputs...)
	}
	for _, in := range append(ins, v.Final) {
		var r spec.Recover
		if in.Kind != spec.KindRecover || spec.Decode(in.Body, &r, spec.MaxMessageBytes) != nil {
			continue
		}
		var c spec.Config
		if err := spec.Decode(r.Prev, &c, spec.MaxMessageBytes); err != nil || c.Validate(nil) != nil {
			return nil, false // RV2 vectors: no C to verify against
		}
		return &c, true
	}
	return nil, false
}

// verifyFinal runs the spec's own check of the final recover or recovery after prev.
func verifyFinal(t *testing.T, prev *spec.Config, in spec.Input) (uint64, error) {
	verify := func(pub spec.PublicKey, msg []byte, sig spec.Signature) bool {
		return ed25519.Verify(pub[:], msg, sig[:])
	}
	admit := func(spec.PublicKey) bool { return true }
	cd := spec.ConfigDigest(prev)
	if in.Kind == spec.KindRecover {
		var r spec.Recover
		if err := spec.Decode(in.Body, &r, spec.MaxMessageBytes); err != nil {
			t.Fatal(err)
		}
		_, code, err := spec.VerifyPlan(prev, cd, &r.Plan, verify, admit)
		return code, err
	}
	var rc spec.Recovery
	if err := spec.Decode(in.Body, &rc, spec.MaxMessageBytes); err != nil {
		t.Fatal(err)
	}
	_, code, err := spec.VerifyRecovery(prev, cd, &rc, verify, admit)
	return code, err
}
