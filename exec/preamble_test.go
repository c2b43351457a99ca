package exec_test

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"io"
	"testing"

	"github.com/splitbft/splitbft/exec"
	"github.com/splitbft/splitbft/exec/kv"
	"github.com/splitbft/splitbft/spec"
)

// TestInit checks Init's enrollment (keys drawn from the stream as §3.5 says, build
// name, dev-insecure evidence) and rules I1–I3.
func TestInit(t *testing.T) {
	x := exec.New(execRand(11, 2), kv.New())
	for name, req := range map[string][]byte{
		"malformed": {0x82, 0x02},
		"trailing":  append(spec.Encode(&spec.InitRequest{Role: spec.RoleExec, Replica: 2}), 0),
		"prep role": spec.Encode(&spec.InitRequest{Role: spec.RolePrep, Replica: 2}),
		"conf role": spec.Encode(&spec.InitRequest{Role: spec.RoleConf, Replica: 2}),
	} {
		if _, err := x.Init(req); !errors.Is(err, exec.ErrBadInit) {
			t.Fatalf("%s: got %v, want bad-init", name, err)
		}
	}
	codesSeen[spec.CodeBadInit] = true
	raw, err := x.Init(spec.Encode(&spec.InitRequest{Role: spec.RoleExec, Replica: 2}))
	if err != nil {
		t.Fatal(err)
	}
	var enr spec.Enrollment
	mustDecode(t, raw, &enr)
	mirror := execRand(11, 2)
	sk := ed25519.NewKeyFromSeed(readN(mirror, 32))
	box := x25519Pub(readN(mirror, 32))
	b := enr.Body
	if b.Role != spec.RoleExec || b.Replica != 2 || string(b.Build) != "exec" || !bytes.Equal(b.SignKey[:], sk.Public().(ed25519.PublicKey)) ||
		b.BoxKey != box || enr.Evidence.Format != spec.EvidenceDevInsecure || len(enr.Evidence.Data) != 0 {
		t.Fatalf("enrollment %+v does not carry the keys of the stream", enr)
	}
	if _, err := x.Init(spec.Encode(&spec.InitRequest{Role: spec.RoleExec, Replica: 2})); !errors.Is(err, exec.ErrBadInit) {
		t.Fatalf("second Init: got %v, want bad-init", err)
	}
	// A randomness source that fails during Init leaves the compartment uninitialised
	// (§7.4): a later Init with randomness succeeds.
	short := &flakyReader{r: execRand(11, 3), fail: 1}
	y := exec.New(short, kv.New())
	if _, err := y.Init(spec.Encode(&spec.InitRequest{Role: spec.RoleExec, Replica: 3})); err == nil || errors.Is(err, exec.ErrBadInit) {
		t.Fatalf("Init with failing randomness: %v", err)
	}
	if st := status(t, stepRaw(t, y, spec.Encode(&spec.StepInput{}))); !sameEnc(&st, &spec.Status{Role: spec.RoleExec}) {
		t.Fatalf("status after failed Init %+v", st)
	}
	if _, err := y.Init(spec.Encode(&spec.InitRequest{Role: spec.RoleExec, Replica: 3})); err != nil {
		t.Fatalf("Init after a randomness failure: %v", err)
	}
}

// sameEnc reports whether a and b have the same canonical encoding.
func sameEnc(a, b any) bool { return bytes.Equal(spec.Encode(a), spec.Encode(b)) }

// flakyReader fails its first fail reads after the first one, then reads from r.
type flakyReader struct {
	r    io.Reader
	n    int
	fail int
}

func (f *flakyReader) Read(p []byte) (int, error) {
	f.n++
	if f.n > 1 && f.n <= 1+f.fail {
		return 0, errors.New("entropy unavailable")
	}
	return f.r.Read(p)
}

// TestPreamble checks A1–A4 (§8.1) before and after configuration, and a malformed
// StepInput.
func TestPreamble(t *testing.T) {
	c := newUnconfigured(t, 12, defaultParams())
	x := c.execs[1]
	// Before configure the status is Status{Role, Replica} and nothing else (§7.4).
	if st := status(t, c.step(1)); !sameEnc(&st, &spec.Status{Role: spec.RoleExec, Replica: 1}) {
		t.Fatalf("pre-configure status %+v", st)
	}
	cm := c.commit(0, 0, 1, spec.Digest{1})
	for _, k := range []uint64{spec.KindRequest, spec.KindPrePrepare, spec.KindProposal, spec.KindPrepare,
		spec.KindViewChange, spec.KindReply, spec.KindClientBatch, spec.KindSuspect, spec.KindReject,
		spec.KindStatus, spec.KindGroupKeyShares, spec.KindReadReply, spec.KindAttestation, 0, 99, 1 << 40} {
		expectReject(t, x, rawInput(k, []byte{0x80}), spec.CodeUnknownKind) // A1 before configure
	}
	for _, k := range []uint64{spec.KindBatch, spec.KindCommit, spec.KindCheckpoint, spec.KindNewView, spec.KindStateRequest, spec.KindStateChunk, spec.KindRead,
		spec.KindEpochVote, spec.KindEpochChange, spec.KindAttest} {
		expectReject(t, x, rawInput(k, spec.Encode(&cm)), spec.CodeNotConfigured) // A2
	}
	expectReject(t, x, rawInput(spec.KindConfigure, []byte{0x82, 0x40}), spec.CodeMalformed)    // A4
	expectReject(t, x, rawInput(spec.KindGroupKeyDeal, []byte{0x81, 0x81}), spec.CodeMalformed) // A4
	expectReject(t, x, rawInput(spec.KindGroupKeyDeal, append([]byte{0x81, 0x80}, 0)), spec.CodeMalformed)
	c.configure(1)
	expectReject(t, x, rawInput(spec.KindSuspect, spec.Encode(&spec.Suspect{})), spec.CodeUnknownKind) // A1 after configure
	expectReject(t, x, c.configureInput(1), spec.CodeConfigured)                                       // A3
	expectReject(t, x, in(spec.KindGroupKeyDeal, &spec.GroupKeyDeal{Execs: []spec.EnrollmentBody{c.enr[1].Body}}), spec.CodeConfigured)
	good := spec.Encode(&cm)
	for name, body := range map[string][]byte{
		"empty":         nil,
		"truncated":     good[:len(good)-1],
		"trailing":      append(append([]byte{}, good...), 0),
		"wrong arity":   {0x81, 0x40},
		"short digest":  spec.Encode(&struct{ A, B any }{}),
		"non-canonical": append([]byte{0x82, 0x98, 0x04}, good[2:]...),
		"over cap":      append([]byte{0x82, 0x84, 0x00, 0x01, 0x59, 0x04, 0x00}, make([]byte, 1024)...),
	} {
		t.Run(name, func(t *testing.T) { expectReject(t, x, rawInput(spec.KindCommit, body), spec.CodeMalformed) })
	}
}

// TestMalformedStepInput checks that a StepInput failing §2.3, or with more than 4096
// inputs, gives one Rejection{0, 0, malformed, 0} and the status.
func TestMalformedStepInput(t *testing.T) {
	c := newCluster(t, 13, defaultParams())
	x := c.execs[0]
	many := make([]spec.Input, spec.MaxStepInputs+1)
	for i := range many {
		many[i] = rawInput(spec.KindReply, nil)
	}
	for name, raw := range map[string][]byte{
		"garbage":   {0xff},
		"empty":     nil,
		"trailing":  append(spec.Encode(&spec.StepInput{}), 0),
		"too many":  spec.Encode(&spec.StepInput{Inputs: many}),
		"not array": {0x40},
	} {
		before := x.DebugState()
		outs := stepRaw(t, x, raw)
		r := rejections(outs)
		if len(outs) != 2 || len(r) != 1 || r[0] != (spec.Rejection{Code: spec.CodeMalformed}) {
			t.Fatalf("%s:%s", name, describe(outs))
		}
		if x.DebugState() != before {
			t.Fatalf("%s changed state", name)
		}
	}
	// Rejections name their input's index; accepted inputs in between are handled.
	a := c.clients[0]
	bi, d := batchInput(c.kvRequest(a, put("k", "v")))
	ins := append([]spec.Input{rawInput(spec.KindReply, nil), bi, rawInput(spec.KindCommit, nil)}, c.commitInputs(0, 1, d)...)
	outs := stepRaw(t, x, spec.Encode(&spec.StepInput{Inputs: ins}))
	r := rejections(outs)
	if len(r) != 2 || r[0] != (spec.Rejection{Index: 0, Kind: spec.KindReply, Code: spec.CodeUnknownKind}) ||
		r[1] != (spec.Rejection{Index: 2, Kind: spec.KindCommit, Code: spec.CodeMalformed}) {
		t.Fatalf("rejections %+v", r)
	}
	c.checkReplies(t, outs, 0, 0, wantResult{a.id, 1, 0, ""})
}
