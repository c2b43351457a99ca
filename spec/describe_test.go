package spec

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// describeGolden renders Describe of every kind's example, a few malformed bodies, and
// DescribeStep / DescribeOutput of the example step documents.
func describeGolden() string {
	var b strings.Builder
	b.WriteString("# Describe of each kind's example (go test ./spec -run TestDescribeGolden -rewrite)\n")
	for _, k := range allKinds() {
		b.WriteString(Describe(k, Encode(exampleOf(kindTypes[k]))) + "\n")
	}
	b.WriteString("# malformed\n")
	b.WriteString(Describe(KindPrepare, []byte{0x80}) + "\n")
	b.WriteString(Describe(KindStatus, append(Encode(exStatus()), 0)) + "\n")
	b.WriteString(Describe(99, Encode(&Suspect{View: 1})) + "\n")
	b.WriteString("# DescribeStep\n" + DescribeStep(exStepInput()))
	b.WriteString("# DescribeOutput\n" + DescribeOutput(exStepOutput()))
	return b.String()
}

func TestDescribeGolden(t *testing.T) {
	path := filepath.Join(goldenDir, "describe.txt")
	want := describeGolden()
	if *rewrite {
		writeGolden(t, path, want)
		return
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run: go test ./spec -run TestDescribeGolden -rewrite)", err)
	}
	if string(got) != want {
		t.Errorf("%s differs.\n--- got\n%s\n--- want\n%s", path, got, want)
	}
	if describeGolden() != want {
		t.Error("Describe is not deterministic")
	}
}

// prefixed returns 32 bytes starting with the given prefix and then zeros.
func prefixed(p ...byte) (d Digest) { copy(d[:], p); return }

func prefixedSig(p ...byte) (s Signature) { copy(s[:], p); return }

// TestDescribeExact pins the exact text of representative bodies.
func TestDescribeExact(t *testing.T) {
	d := prefixed(0xab, 0x12, 0xcd, 0x34, 0xff)
	sig := prefixedSig(0x00, 0x11, 0xaa, 0xbb, 0xcc)
	slot := Slot{View: 1, Seq: 2, Digest: d, Replica: 3}
	three := Batch{Requests: make([]Request, 3)}
	tests := []struct {
		kind uint64
		v    any
		want string
	}{
		{KindPrepare, &Prepare{Body: slot, Sig: sig}, "prepare v=1 n=2 d=ab12cd34 r=3 sig:0011aabb"},
		{KindCommit, &Commit{Body: slot, Sig: sig}, "commit v=1 n=2 d=ab12cd34 r=3 sig:0011aabb"},
		{KindPrePrepare, &PrePrepare{Body: slot, Sig: sig}, "pre-prepare v=1 n=2 d=ab12cd34 r=3 sig:0011aabb"},
		{KindProposal, &Proposal{Header: PrePrepare{Body: Slot{Seq: 1, Digest: d}, Sig: sig}, Batch: three},
			"proposal v=0 n=1 d=ab12cd34 r=0 reqs=3 sig:0011aabb"},
		{KindReject, &Rejection{Index: 2, Kind: KindPrepare, Code: CodeBadSignature}, "reject #2 prepare code=bad-signature sub=0"},
		{KindReject, &Rejection{Index: 0, Kind: 77, Code: 99, Sub: 5}, "reject #0 kind77 code=code99 sub=5"},
		{KindStatus, &Status{Role: RolePrep, Replica: 1, Configured: true, ViewActive: true, Last: 3}, "status prep r=1 view=0 active stable=0 last=3"},
		{KindStatus, &Status{Role: RoleConf, View: 4}, "status conf r=0 unconfigured view=4 changing stable=0 last=0"},
		{KindStatus, &Status{Role: RoleExec, Configured: true, ViewActive: true, NeedState: true, NeedBatch: []Digest{d, {}, d, d, d, d}},
			"status exec r=0 view=0 active stable=0 last=0 need-state need-batch=[ab12cd34 00000000 ab12cd34 ab12cd34 +2]"},
		{KindSuspect, &Suspect{View: 9}, "suspect v=9"},
		{KindCheckpoint, &Checkpoint{Body: CheckpointBody{Seq: 16, State: d, Replica: 2}, Sig: sig}, "checkpoint n=16 s=ab12cd34 r=2 sig:0011aabb"},
		{KindStateRequest, &StateRequest{Seq: 16, State: d, Replica: 1, Index: 4}, "state-request n=16 s=ab12cd34 r=1 from=4"},
		{KindReply, &Reply{Client: 5, Timestamp: 6, Replica: 7, View: 8, Nonce: Nonce{0xde, 0xad, 0xbe, 0xef, 1}, Ciphertext: []byte{1, 2}},
			"reply c=5 t=6 r=7 v=8 nonce=deadbeef ct=0102"},
		{KindReply, &Reply{}, "reply c=0 t=0 r=0 v=0 nonce=00000000 ct=-"},
		{KindStateChunk, &StateChunk{Seq: 16, State: d, Index: 1, Count: 2, Size: 40, Ciphertext: fill(34, 0)},
			"state-chunk n=16 s=ab12cd34 i=1/2 size=40 nonce=00000000 ct=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f..(34)"},
		{KindRequest, &Request{Body: RequestBody{Client: 3, Timestamp: 9, Ops: make([]SealedOp, 2)}, Sig: sig}, "request c=3 t=9 ops=2 sig:0011aabb"},
		{KindBatch, &Batch{}, "batch d=" + short(nullDigest()) + " reqs=0 []"},
		{KindConfigure, &Configure{Config: []byte{1}}, "configure cfg=" + short(cfgDigest([]byte{1})) + " config=malformed shares=[]"},
	}
	for _, tt := range tests {
		if got := Describe(tt.kind, Encode(tt.v)); got != tt.want {
			t.Errorf("Describe(%s):\n got %q\nwant %q", KindName(tt.kind), got, tt.want)
		}
	}
}

func nullDigest() []byte          { d := NullBatchDigest(); return d[:] }
func cfgDigest(cfg []byte) []byte { d := Hash(DomainConfig, cfg); return d[:] }

func TestDescribeMalformed(t *testing.T) {
	for _, k := range allKinds() {
		for _, body := range [][]byte{nil, {0x80}, {0xf6}, append(Encode(exampleOf(kindTypes[k])), 0)} {
			if string(body) == string(Encode(exampleOf(kindTypes[k]))) {
				continue // an empty array is a valid SealGet
			}
			if got, want := Describe(k, body), KindName(k)+" malformed"; got != want {
				t.Errorf("Describe(%s, %x) = %q, want %q", KindName(k), body, got, want)
			}
		}
	}
}

func TestDescribeStepAndOutput(t *testing.T) {
	in := &StepInput{Inputs: []Input{
		{Kind: KindSuspect, Body: Encode(&Suspect{View: 2})},
		{Kind: KindPrepare, Body: []byte{0x00}},
	}}
	if got, want := DescribeStep(in), "#0 suspect v=2\n#1 prepare malformed\n"; got != want {
		t.Errorf("DescribeStep = %q, want %q", got, want)
	}
	if got := DescribeStep(&StepInput{}); got != "" {
		t.Errorf("DescribeStep(empty) = %q", got)
	}
	sus := Encode(&Suspect{View: 1})
	out := &StepOutput{Outputs: []Output{
		{Kind: KindSuspect, To: Destination{Roles: ToPrep | ToConf, Replicas: []uint64{0, 1, 2, 3}}, Body: sus},
		{Kind: KindSuspect, To: Destination{Roles: ToExec, Replicas: []uint64{2}}, Body: sus},
		{Kind: KindSuspect, To: Destination{Roles: 1<<5 | ToPrep}, Body: sus},
		{Kind: KindSuspect, To: Destination{Replicas: []uint64{1}}, Body: sus},
		{Kind: KindSuspect, Body: sus},
	}}
	want := "suspect v=1 -> prep,conf r=[0 1 2 3]\n" +
		"suspect v=1 -> exec r=[2]\n" +
		"suspect v=1 -> prep,role5 r=[]\n" +
		"suspect v=1 -> none r=[1]\n" +
		"suspect v=1 -> local\n"
	if got := DescribeOutput(out); got != want {
		t.Errorf("DescribeOutput:\n got %q\nwant %q", got, want)
	}
}

func TestKindAndCodeNames(t *testing.T) {
	for _, k := range allKinds() {
		if n := KindName(k); strings.HasPrefix(n, "kind") {
			t.Errorf("kind %d has no name", k)
		}
	}
	for c := CodeMalformed; c <= CodeBadInit; c++ {
		n := CodeName(c)
		if got, ok := CodeByName(n); !ok || got != c {
			t.Errorf("CodeByName(CodeName(%d)=%q) = %d, %v", c, n, got, ok)
		}
	}
	if _, ok := CodeByName("no-such-code"); ok || CodeName(0) != "code0" || KindName(200) != "kind200" {
		t.Error("unknown names are not reported as unknown")
	}
}
