package spec

import (
	"bytes"
	"reflect"
	"strings"
	"unicode"
)

// This file holds the fixed example value of every wire type, shared by the golden,
// mutation, CDDL and fuzz tests. Every value is deterministic: changing one changes
// the golden files (regenerate with -rewrite and review the diff).

// wireType is one Go type of the package with its example value (a pointer).
type wireType struct {
	name    string // Go type name
	example any
}

// fill returns n bytes seed, seed+1, ... (wrapping).
func fill(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(i)
	}
	return b
}

func dg(seed byte) (d Digest)    { copy(d[:], fill(32, seed)); return }
func sg(seed byte) (s Signature) { copy(s[:], fill(64, seed)); return }
func nc(seed byte) (n Nonce)     { copy(n[:], fill(24, seed)); return }

func exRequest() *Request {
	return &Request{Body: RequestBody{Client: 7, Timestamp: 1000, Ops: []SealedOp{
		{Nonce: nc(0x10), Ciphertext: fill(17, 0xc0)},
		{Nonce: nc(0x11), Ciphertext: fill(40, 0x20)},
	}}, Sig: sg(0x30)}
}

func exBatch() *Batch {
	r2 := Request{Body: RequestBody{Client: 24, Timestamp: 1, Ops: []SealedOp{{Nonce: nc(0x12), Ciphertext: fill(17, 1)}}}, Sig: sg(0x31)}
	return &Batch{Requests: []Request{*exRequest(), r2}}
}

func exSlot(view, seq, replica uint64) Slot {
	return Slot{View: view, Seq: seq, Digest: BatchDigest(exBatch()), Replica: replica}
}

func exPrePrepare() *PrePrepare { return &PrePrepare{Body: exSlot(1, 2, 1), Sig: sg(0x40)} }
func exPrepare(r uint64) *Prepare {
	return &Prepare{Body: exSlot(1, 2, r), Sig: sg(0x50 + byte(r))}
}

func exCheckpoint(r uint64) *Checkpoint {
	return &Checkpoint{Body: CheckpointBody{Seq: 128, State: dg(0x60), Replica: r}, Sig: sg(0x70 + byte(r))}
}

func exCert() *CheckpointCert {
	return &CheckpointCert{Seq: 128, State: dg(0x60), Proof: []Checkpoint{*exCheckpoint(0), *exCheckpoint(1), *exCheckpoint(3)}}
}

func exPreparedCert() *PreparedCert {
	return &PreparedCert{Header: *exPrePrepare(), Prepares: []Prepare{*exPrepare(2), *exPrepare(3)}}
}

func exViewChange(r uint64) *ViewChange {
	b := ViewChangeBody{View: 2, Replica: r, Stable: CheckpointCert{State: dg(0x80)}}
	if r == 3 {
		b.Stable = *exCert()
		b.Prepared = []PreparedCert{*exPreparedCert()}
	}
	return &ViewChange{Body: b, Sig: sg(0x90 + byte(r))}
}

func exNewView() *NewView {
	return &NewView{Body: NewViewBody{View: 2, Replica: 2,
		ViewChanges: []ViewChange{*exViewChange(0), *exViewChange(2), *exViewChange(3)},
		PrePrepares: []PrePrepare{{Body: exSlot(2, 129, 2), Sig: sg(0xa0)}, {Body: Slot{View: 2, Seq: 130, Digest: NullBatchDigest(), Replica: 2}, Sig: sg(0xa1)}},
	}, Sig: sg(0xa2)}
}

func exStepInput() *StepInput {
	return &StepInput{Inputs: []Input{
		{Kind: KindPrepare, Body: Encode(exPrepare(3))},
		{Kind: KindSuspect, Body: Encode(&Suspect{View: 1})},
		{Kind: KindCommit, Body: []byte{0x80}},
	}}
}

func exStepOutput() *StepOutput {
	return &StepOutput{Outputs: []Output{
		{Kind: KindPrepare, To: Destination{Roles: ToConf, Replicas: []uint64{0, 1, 2, 3}}, Body: Encode(exPrepare(1))},
		{Kind: KindReject, Body: Encode(&Rejection{Index: 2, Kind: KindCommit, Code: CodeMalformed})},
		{Kind: KindStatus, Body: Encode(exStatus())},
	}}
}

func exStatus() *Status {
	return &Status{Role: RoleExec, Replica: 1, Configured: true, View: 2, ViewActive: false, Stable: 128, Last: 130,
		NeedState: true, NeedBatch: []Digest{dg(0xb0), dg(0xb1)}}
}

func exShare(i int) GroupKeyShare {
	return GroupKeyShare{Dealer: fakeKey(tagBox, 0), Recipient: fakeKey(tagBox, i), GroupKey: fakeKey(tagGroup, 0), Nonce: nc(0xc0 + byte(i)), Sealed: fill(48, byte(i))}
}

func exShares() *GroupKeyShares {
	return &GroupKeyShares{Shares: []GroupKeyShare{exShare(0), exShare(1), exShare(2), exShare(3)}}
}

func exDeal() *GroupKeyDeal {
	c := validConfig()
	d := &GroupKeyDeal{}
	for i := range c.Replicas {
		d.Execs = append(d.Execs, c.Replicas[i].Exec.Body)
	}
	return d
}

func exSummary() *TransferSummary {
	return &TransferSummary{Seq: 128, Clients: []ClientDone{{Client: 7, Timestamp: 1002}, {Client: 65536, Timestamp: 1 << 40}}}
}

func exKVSnapshot() *KVSnapshot {
	return &KVSnapshot{Entries: []KVEntry{{Key: []byte("a"), Value: []byte("1")}, {Key: []byte("b"), Value: nil}}}
}

func exClientEntry() *ClientEntry {
	return &ClientEntry{Client: 7, Timestamp: 1001, Results: []Result{{Status: StatusOK}, {Status: StatusCASMismatch, Value: []byte("old")}}}
}

func exEpochVote(r uint64) *EpochVote {
	return &EpochVote{Body: EpochVoteBody{Next: dg(0x21), Replica: r}, Sig: sg(0x22 + byte(r))}
}

func exEpochChange() *EpochChange {
	c := validConfig()
	c.Epoch, c.Prev, c.StartSeq, c.StartState = 1, dg(0x23), 77, dg(0x24)
	return &EpochChange{Config: Encode(c), Votes: []EpochVote{*exEpochVote(0), *exEpochVote(1), *exEpochVote(3)}}
}

func exRecoveryPlan() *RecoveryPlan {
	c := validConfig()
	c.Epoch, c.Prev, c.StartSeq = 2, dg(0x29), 131
	return &RecoveryPlan{Body: RecoveryPlanBody{Template: Encode(c), Base: *exCert()},
		Sigs: []MemberSig{{Member: 1, Sig: sg(0x2a)}}}
}

func exRecovery() *Recovery {
	p := exRecoveryPlan()
	var c Config
	if err := Decode(p.Body.Template, &c, MaxMessageBytes); err != nil {
		panic(err)
	}
	c.StartState = dg(0x2b)
	return &Recovery{Plan: *p, Config: Encode(&c), Votes: []EpochVote{*exEpochVote(0), *exEpochVote(2), *exEpochVote(3)}}
}

func exRecover() *Recover {
	c := validConfig()
	e := validConfig()
	e.StartSeq = 64
	return &Recover{Prev: Encode(c), Plan: *exRecoveryPlan(), SealedKey: *exSealedKey(),
		Lead: []LeadIn{{Configs: [][]byte{Encode(e)}, Base: *exCert()}}}
}

func exSealedKey() *SealedGroupKey {
	return &SealedGroupKey{Format: SealEGoProduct, Data: bytes.Repeat([]byte{0x2c}, 80)}
}

func exAttestation() *Attestation {
	return &Attestation{Body: AttestationBody{Enrollment: dg(0x25), Replica: 2}, Sig: sg(0x26)}
}

func exConfigOp() *ConfigOp {
	c := validConfig()
	return &ConfigOp{Tag: ConfigOpTag, Admit: []Admission{{Enrollment: c.Replicas[3].Exec, Attestations: []Attestation{*exAttestation()}}}}
}

func exConfigProposal() *ConfigOp {
	c := validConfig()
	return &ConfigOp{Tag: ConfigOpTag, Change: ConfigProposal{
		Body: ConfigProposalBody{Epoch: 1, Changes: []Change{
			{Op: ChangeAddClient, Client: c.Clients[0]},
			{Op: ChangeSetAddress, Replica: 2, Address: []byte("10.0.0.9:7000")},
			{Op: ChangeAddMember, Key: fakeKey(tagBox, 9)},
		}},
		Sigs: []MemberSig{{Member: 0, Sig: sg(0x27)}, {Member: 2, Sig: sg(0x28)}},
	}}
}

// wireTypes lists every struct type of the package, each with an example. The CDDL
// test checks that this list is complete.
func wireTypes() []wireType {
	c := validConfig()
	return []wireType{
		{"SealedOp", &exRequest().Body.Ops[0]},
		{"RequestBody", &exRequest().Body},
		{"Request", exRequest()},
		{"Batch", exBatch()},
		{"Slot", &Slot{View: 23, Seq: 24, Digest: dg(1), Replica: 255}},
		{"PrePrepare", exPrePrepare()},
		{"Proposal", &Proposal{Header: *exPrePrepare(), Batch: *exBatch()}},
		{"Prepare", exPrepare(3)},
		{"Commit", &Commit{Body: exSlot(1, 2, 2), Sig: sg(0x5f)}},
		{"CheckpointBody", &exCheckpoint(2).Body},
		{"Checkpoint", exCheckpoint(2)},
		{"CheckpointCert", exCert()},
		{"PreparedCert", exPreparedCert()},
		{"ViewChangeBody", &exViewChange(3).Body},
		{"ViewChange", exViewChange(3)},
		{"NewViewBody", &exNewView().Body},
		{"NewView", exNewView()},
		{"Reply", &Reply{Client: 65536, Timestamp: 1 << 32, Replica: 1, View: 256, Nonce: nc(0xd0), Ciphertext: fill(33, 0xe0)}},
		{"ClientMsg", &ClientMsg{Kind: 3, Client: 65536, Body: fill(24, 0xe1)}},
		{"StateRequest", &StateRequest{Seq: 128, State: dg(0x60), Replica: 0, Index: 1}},
		{"StateChunk", &StateChunk{Seq: 128, State: dg(0x60), Index: 1, Count: 3, Size: 2500000, Nonce: nc(0xd1), Ciphertext: fill(20, 0xf0)}},
		{"EnrollmentBody", &c.Replicas[1].Exec.Body},
		{"Evidence", &c.Replicas[1].Exec.Evidence},
		{"Enrollment", &c.Replicas[2].Conf},
		{"ReplicaConfig", &c.Replicas[3]},
		{"BuildPolicy", &BuildPolicy{Role: RoleConf, Build: []byte("conf-b"), UniqueID: fill(32, 0x11), ProductID: 7, MinSVN: 18446744073709551615}},
		{"ClientConfig", &c.Clients[0]},
		{"Config", c},
		{"GatewayEnrollment", exGatewayEnrollment()},
		{"GatewayAttestation", &GatewayAttestation{Enrollment: *exGatewayEnrollment(), Evidence: Evidence{Format: EvidenceEgoSGX, Data: fill(5, 0x71)}}},
		{"InitRequest", &InitRequest{Role: RoleExec, Replica: 3, Challenge: dg(0x33)}},
		{"Input", &exStepInput().Inputs[0]},
		{"StepInput", exStepInput()},
		{"Destination", &exStepOutput().Outputs[0].To},
		{"Output", &exStepOutput().Outputs[0]},
		{"StepOutput", exStepOutput()},
		{"Rejection", &Rejection{Index: 2, Kind: KindPrepare, Code: CodeBadSignature, Sub: 0}},
		{"Status", exStatus()},
		{"Configure", &Configure{Config: Encode(c), Share: []GroupKeyShare{exShare(1)}}},
		{"Suspect", &Suspect{View: 5}},
		{"GroupKeyDeal", exDeal()},
		{"GroupKeyShare", &exShares().Shares[2]},
		{"GroupKeyShares", exShares()},
		{"TransferSummary", exSummary()},
		{"ClientDone", &exSummary().Clients[1]},
		{"Frame", &Frame{Op: FrameStep, Body: Encode(&StepInput{Inputs: []Input{{Kind: KindSuspect, Body: Encode(&Suspect{View: 1})}}})}},
		{"Result", &exClientEntry().Results[1]},
		{"ReplyResults", &ReplyResults{Results: exClientEntry().Results}},
		{"KVOp", &KVOp{Op: KVCAS, Key: []byte("k"), Value: []byte("v2"), Expected: []byte("v1"), Absent: false}},
		{"Read", &Read{Client: 5, ReadID: 77, Ops: []SealedOp{{Nonce: Nonce{1}, Ciphertext: make([]byte, 17)}}}},
		{"ReadReply", &ReadReply{Client: 5, ReadID: 77, Replica: 2, Last: 40, View: 1, Nonce: Nonce{2}, Ciphertext: make([]byte, 17)}},
		{"ReadResults", &ReadResults{Results: []Result{{Status: StatusOK, Value: []byte("v")}, {Status: StatusNotFound}}}},
		{"KVOp2", &KVOp2{Op: KVMSetNX, Keys: [][]byte{[]byte("a"), []byte("b")}, Values: [][]byte{[]byte("1"), []byte("2")}}},
		{"Snapshot", &Snapshot{Seq: 128, App: Encode(exKVSnapshot()), Clients: []ClientEntry{*exClientEntry()}}},
		{"ClientEntry", exClientEntry()},
		{"KVSnapshot", exKVSnapshot()},
		{"KVEntry", &exKVSnapshot().Entries[0]},
		{"EpochVoteBody", &exEpochVote(1).Body},
		{"EpochVote", exEpochVote(1)},
		{"EpochChange", exEpochChange()},
		{"AttestationBody", &exAttestation().Body},
		{"Attestation", exAttestation()},
		{"ConfigOp", exConfigOp()},
		{"Admission", &exConfigOp().Admit[0]},
		{"ConfigProposal", &exConfigProposal().Change},
		{"ConfigProposalBody", &exConfigProposal().Change.Body},
		{"MemberSig", &exConfigProposal().Change.Sigs[0]},
		{"Change", &exConfigProposal().Change.Body.Changes[0]},
		{"RecoveryPlanBody", &exRecoveryPlan().Body},
		{"RecoveryPlan", exRecoveryPlan()},
		{"Recovery", exRecovery()},
		{"Recover", exRecover()},
		{"LeadIn", &exRecover().Lead[0]},
		{"SealedGroupKey", exSealedKey()},
		{"SealGet", &SealGet{}},
	}
}

// kindTypes maps every kind to the Go type name of its body.
var kindTypes = map[uint64]string{
	KindRequest: "Request", KindBatch: "Batch", KindPrePrepare: "PrePrepare", KindProposal: "Proposal",
	KindPrepare: "Prepare", KindCommit: "Commit", KindCheckpoint: "Checkpoint", KindViewChange: "ViewChange",
	KindNewView: "NewView", KindStateRequest: "StateRequest", KindStateChunk: "StateChunk", KindReply: "Reply",
	KindConfigure: "Configure", KindClientBatch: "Batch", KindSuspect: "Suspect", KindGroupKeyDeal: "GroupKeyDeal",
	KindReject: "Rejection", KindStatus: "Status", KindGroupKeyShares: "GroupKeyShares",
	KindRead: "Read", KindReadReply: "ReadReply",
	KindTransferSummary: "TransferSummary",
	KindEpochVote:       "EpochVote", KindEpochChange: "EpochChange", KindAttest: "Enrollment", KindAttestation: "Attestation",
	KindRecoveryVote: "EpochVote", KindRecovery: "Recovery", KindRecover: "Recover", KindSealKey: "SealGet",
	KindSealedKey: "SealedGroupKey",
}

// allKinds returns every kind in ascending order.
func allKinds() []uint64 {
	var ks []uint64
	for k := uint64(0); k < 128; k++ {
		if _, ok := kindTypes[k]; ok {
			ks = append(ks, k)
		}
	}
	return ks
}

// exampleOf returns the example of the named type.
func exampleOf(name string) any {
	for _, w := range wireTypes() {
		if w.name == name {
			return w.example
		}
	}
	panic("no example for " + name)
}

// newOf returns a pointer to a new zero value of the example's type.
func newOf(example any) any { return reflect.New(reflect.TypeOf(example).Elem()).Interface() }

// kebab converts a Go identifier to kebab-case: "PrePrepare" → "pre-prepare",
// "KVOp" → "kv-op", "UniqueID" → "unique-id".
func kebab(s string) string {
	r := []rune(s)
	var b strings.Builder
	for i, c := range r {
		if i > 0 && unicode.IsUpper(c) {
			prevLower := unicode.IsLower(r[i-1]) || unicode.IsDigit(r[i-1])
			nextLower := i+1 < len(r) && unicode.IsLower(r[i+1])
			if prevLower || (unicode.IsUpper(r[i-1]) && nextLower) {
				b.WriteByte('-')
			}
		}
		b.WriteRune(unicode.ToLower(c))
	}
	return b.String()
}

func exGatewayEnrollment() *GatewayEnrollment {
	return &GatewayEnrollment{Replica: 1, Build: []byte("gateway"), ClientIDs: []uint64{9, 10},
		SignKeys: []PublicKey{fakeKey(tagClient, 9), fakeKey(tagClient, 10)}, BoxKeys: []PublicKey{fakeKey(tagClientBox, 9), fakeKey(tagClientBox, 10)},
		TLSKey: fill(91, 0x30)}
}
