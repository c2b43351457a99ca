package exec_test

import (
	"flag"
	"testing"

	"github.com/splitbft/splitbft/exec"
	"github.com/splitbft/splitbft/exec/kv"
	"github.com/splitbft/splitbft/spec"
)

// fuzzFixture is built once: a cluster whose exec 0 keys are re-created for every fuzz
// iteration (same stream, same enrollment), configured with the same input, and given
// a short prefix so that stores are not empty.
type fuzzFixture struct {
	c      *cluster
	setup  []byte // enc(StepInput) of configure and the prefix
	inputs []spec.Input
}

func newFuzzFixture(t testing.TB) *fuzzFixture {
	c := newCluster(t, 71, defaultParams())
	a := c.clients[0]
	bi, d := batchInput(c.kvRequest(a, put("k", "v"), get("k")))
	b2, _ := batchInput(c.kvRequest(a, get("k")))
	prefix := append([]spec.Input{c.configureInput(0), bi, b2}, c.commitInputs(0, 1, d)[:2]...)
	cert := c.checkpointCert(10, spec.Digest{0x42})
	cp := c.checkpointMsg(1, 20, spec.Digest{0x43})
	fx := &fuzzFixture{c: c, setup: spec.Encode(&spec.StepInput{Inputs: prefix})}
	fx.inputs = []spec.Input{
		c.commitInputs(0, 1, d)[2], c.commitInputs(0, 2, spec.NullBatchDigest())[0], bi,
		in(spec.KindCheckpoint, &cp), c.newViewInput(c.newViewBody(1, &cert), 1),
		in(spec.KindStateRequest, &spec.StateRequest{Seq: 0, Replica: 1}),
		in(spec.KindStateChunk, ptr(c.sealChunk(10, spec.Digest{0x42}, 0, 1, 3, []byte{0x82, 0x80, 0x80}))),
		c.configureInput(0), in(spec.KindGroupKeyDeal, &spec.GroupKeyDeal{}),
		in(spec.KindEpochVote, ptr(c.vote(2, spec.Digest{0x44}))),
		in(spec.KindEpochChange, ptr(c.epochChange(c.successor(1, spec.Digest{0x45}, nil), 0, 1, 2))),
		in(spec.KindAttest, &spec.Enrollment{Body: spec.EnrollmentBody{Role: spec.RoleConf, Replica: 1, Build: []byte("conf-t"), SignKey: spec.PublicKey{0x46}}}),
	}
	return fx
}

func ptr[T any](v T) *T { return &v }

// fresh returns a configured exec 0 in the fixture's prefix state.
func (fx *fuzzFixture) fresh(t testing.TB) *exec.Exec {
	x := exec.New(execRand(fx.c.seed, 0), kv.New())
	if _, err := x.Init(spec.Encode(&spec.InitRequest{Role: spec.RoleExec, Replica: 0})); err != nil {
		t.Fatal(err)
	}
	if r := rejections(stepRaw(t, x, fx.setup)); len(r) != 0 {
		t.Fatalf("fuzz prefix rejected: %+v", r)
	}
	return x
}

// checkStep runs raw on x: it must not panic, must return a well-formed StepOutput
// ending in one status, and if every input was rejected (or the StepInput itself was
// malformed) the state must be unchanged.
func checkStep(t *testing.T, x *exec.Exec, raw []byte) {
	want := 1 // a malformed StepInput gets one rejection
	var si spec.StepInput
	if spec.Decode(raw, &si, spec.MaxMessageBytes) == nil && len(si.Inputs) <= spec.MaxStepInputs {
		want = len(si.Inputs)
	}
	before := x.DebugState()
	outs := stepRaw(t, x, raw)
	if len(rejections(outs)) != want || len(outs) != want+1 {
		return // something was accepted
	}
	if after := x.DebugState(); after != before {
		t.Fatalf("a step of only rejections changed the state:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

// FuzzStep feeds arbitrary Input{Kind, Body} and arbitrary raw StepInput bytes into a
// configured exec.
func FuzzStep(f *testing.F) {
	fx := newFuzzFixture(f)
	for _, in := range fx.inputs {
		f.Add(in.Kind, in.Body, spec.Encode(&spec.StepInput{Inputs: []spec.Input{in}}))
	}
	f.Add(uint64(0), []byte{}, []byte{0x81, 0x80})
	f.Fuzz(func(t *testing.T, kind uint64, body, raw []byte) {
		x := fx.fresh(t)
		checkStep(t, x, spec.Encode(&spec.StepInput{Inputs: []spec.Input{{Kind: kind, Body: body}}}))
		checkStep(t, x, raw)
	})
}

// TestFuzzSeeds mutates the seed inputs deterministically (every single-byte change of
// each body at a few positions) as a quick fuzz run inside go test.
func TestFuzzSeeds(t *testing.T) {
	fx := newFuzzFixture(t)
	x := fx.fresh(t)
	for _, in := range fx.inputs {
		for pos := 0; pos < len(in.Body); pos += 1 + len(in.Body)/24 {
			for _, delta := range []byte{1, 0x80} {
				body := append([]byte{}, in.Body...)
				body[pos] ^= delta
				checkStep(t, x, spec.Encode(&spec.StepInput{Inputs: []spec.Input{{Kind: in.Kind, Body: body}}}))
			}
		}
	}
}

// TestEveryCodeCovered checks that the tests above observed every reject code §11 can
// produce at exec (when the whole suite runs unfiltered and in order).
func TestEveryCodeCovered(t *testing.T) {
	if f := flag.Lookup("test.run"); f != nil && f.Value.String() != "" {
		t.Skip("needs the whole suite")
	}
	if f := flag.Lookup("test.shuffle"); f != nil && f.Value.String() != "off" {
		t.Skip("needs the suite in order")
	}
	for _, code := range []uint64{spec.CodeMalformed, spec.CodeUnknownKind, spec.CodeNotConfigured, spec.CodeConfigured,
		spec.CodeBadConfig, spec.CodeUnknownSender, spec.CodeBadSignature, spec.CodeOutOfWindow, spec.CodeNotPrimary,
		spec.CodeConflict, spec.CodeDuplicate, spec.CodeDigestMismatch, spec.CodeBatchLimit, spec.CodeEmptyBatch,
		spec.CodeBadCertificate, spec.CodeStale, spec.CodeBadNewView, spec.CodeStoreFull, spec.CodeBadCheckpoint,
		spec.CodeBadChunk, spec.CodeBadShare, spec.CodeBadInit, spec.CodeBadEvidence, spec.CodeRetired} {
		if !codesSeen[code] {
			t.Errorf("reject code %s never exercised", spec.CodeName(code))
		}
	}
}
