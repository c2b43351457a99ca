package spec

// KindInfo is one row of the table of message kinds: what the codec, the broker's
// routing and peer wire, and Describe know about a kind. Adding a kind is adding a row
// (and its type and Describe case); TestKindTableConsumers fails if a consumer misses
// one.
type KindInfo struct {
	Kind     uint64
	Name     string     // the spec name (SPEC.md §5, §7)
	New      func() any // a new zero body: a pointer to the kind's Go type
	MaxBytes int        // cap on the encoded body, checked before decoding (SPEC.md §2.4)
	Producer Role       // the role whose outputs of this kind are routed, if Produced
	Produced bool       // a compartment emits it as a routed output (SPEC.md §13.1)
	Deliver  uint64     // ToPrep|ToConf|ToExec: where a replica delivers it (SPEC.md §13.1)
	Peer     bool       // it travels on the broker-to-broker wire (SPEC.md §13.2)
	Split    bool       // delivered split: Header to conf as pre-prepare, Batch to exec
}

// The size caps of SPEC.md §2.4 by class of kind.
const (
	capSmall     = 1 << 10                                         // one signed slot, a rejection
	capStatus    = 4 << 10                                         // up to 64 NeedBatch digests
	capRequest   = MaxRequestOpsLimit*(MaxOpBytesLimit+64) + 1<<10 // the largest request
	capDeal      = MaxReplicas * 1 << 10                           // one share per replica
	capReply     = MaxRequestOpsLimit*(MaxKVValue+64) + 1<<10      // one result per operation of the largest request
	capChunk     = MaxStateChunkBytes + 1<<10                      // one state chunk
	capReadReply = capReply                                        // one result per read operation
	capSummary   = MaxClients*20 + 1<<10                           // one (client, timestamp) pair of at most 19 bytes per client
	capEvidence  = 64 << 10                                        // one enrollment with its evidence (an EGo report is a few KiB)
	allRoles     = ToPrep | ToConf | ToExec                        // every compartment
	capAny       = MaxMessageBytes                                 // any other body
)

// kindTable is the table of message kinds, ordered by kind. Routes follow the table
// of SPEC.md §13.1 from the receiving side: a replica's broker delivers a kind to the
// compartments in Deliver, never back to the one that produced it.
var kindTable = []KindInfo{
	{Kind: KindRequest, Name: "request", New: func() any { return new(Request) }, MaxBytes: capRequest, Peer: true},
	{Kind: KindBatch, Name: "batch", New: func() any { return new(Batch) }, MaxBytes: capAny, Peer: true},
	{Kind: KindPrePrepare, Name: "pre-prepare", New: func() any { return new(PrePrepare) }, MaxBytes: capSmall},
	{Kind: KindProposal, Name: "proposal", New: func() any { return new(Proposal) }, MaxBytes: capAny,
		Producer: RolePrep, Produced: true, Deliver: allRoles, Peer: true, Split: true},
	{Kind: KindPrepare, Name: "prepare", New: func() any { return new(Prepare) }, MaxBytes: capSmall,
		Producer: RolePrep, Produced: true, Deliver: ToConf, Peer: true},
	{Kind: KindCommit, Name: "commit", New: func() any { return new(Commit) }, MaxBytes: capSmall,
		Producer: RoleConf, Produced: true, Deliver: ToExec, Peer: true},
	{Kind: KindCheckpoint, Name: "checkpoint", New: func() any { return new(Checkpoint) }, MaxBytes: capSmall,
		Producer: RoleExec, Produced: true, Deliver: allRoles, Peer: true},
	{Kind: KindViewChange, Name: "view-change", New: func() any { return new(ViewChange) }, MaxBytes: capAny,
		Producer: RoleConf, Produced: true, Deliver: ToPrep, Peer: true},
	{Kind: KindNewView, Name: "new-view", New: func() any { return new(NewView) }, MaxBytes: capAny,
		Producer: RolePrep, Produced: true, Deliver: allRoles, Peer: true},
	{Kind: KindStateRequest, Name: "state-request", New: func() any { return new(StateRequest) }, MaxBytes: capSmall,
		Deliver: ToExec, Peer: true},
	{Kind: KindStateChunk, Name: "state-chunk", New: func() any { return new(StateChunk) }, MaxBytes: capChunk,
		Producer: RoleExec, Produced: true, Deliver: ToExec, Peer: true},
	{Kind: KindReply, Name: "reply", New: func() any { return new(Reply) }, MaxBytes: capReply, Producer: RoleExec},
	{Kind: KindRead, Name: "read", New: func() any { return new(Read) }, MaxBytes: capRequest},
	{Kind: KindReadReply, Name: "read-reply", New: func() any { return new(ReadReply) }, MaxBytes: capReadReply, Producer: RoleExec},
	{Kind: KindEpochVote, Name: "epoch-vote", New: func() any { return new(EpochVote) }, MaxBytes: capSmall,
		Producer: RoleExec, Produced: true, Deliver: ToExec, Peer: true},
	{Kind: KindEpochChange, Name: "epoch-change", New: func() any { return new(EpochChange) }, MaxBytes: capAny,
		Producer: RoleExec, Produced: true, Deliver: allRoles, Peer: true},
	{Kind: KindAttest, Name: "attest", New: func() any { return new(Enrollment) }, MaxBytes: capEvidence,
		Deliver: ToExec, Peer: true},
	{Kind: KindAttestation, Name: "attestation", New: func() any { return new(Attestation) }, MaxBytes: capSmall,
		Producer: RoleExec, Peer: true},
	{Kind: KindRecoveryVote, Name: "recovery-vote", New: func() any { return new(EpochVote) }, MaxBytes: capSmall,
		Producer: RoleExec, Produced: true, Deliver: ToExec, Peer: true},
	{Kind: KindRecovery, Name: "recovery", New: func() any { return new(Recovery) }, MaxBytes: capAny,
		Producer: RoleExec, Deliver: ToExec, Peer: true},
	{Kind: KindConfigure, Name: "configure", New: func() any { return new(Configure) }, MaxBytes: capAny},
	{Kind: KindClientBatch, Name: "client-batch", New: func() any { return new(Batch) }, MaxBytes: capAny},
	{Kind: KindSuspect, Name: "suspect", New: func() any { return new(Suspect) }, MaxBytes: capSmall},
	{Kind: KindGroupKeyDeal, Name: "group-key-deal", New: func() any { return new(GroupKeyDeal) }, MaxBytes: capDeal},
	{Kind: KindRecover, Name: "recover", New: func() any { return new(Recover) }, MaxBytes: capAny},
	{Kind: KindSealKey, Name: "seal-key", New: func() any { return new(SealGet) }, MaxBytes: capSmall},
	{Kind: KindReject, Name: "reject", New: func() any { return new(Rejection) }, MaxBytes: capSmall},
	{Kind: KindStatus, Name: "status", New: func() any { return new(Status) }, MaxBytes: capStatus},
	{Kind: KindGroupKeyShares, Name: "group-key-shares", New: func() any { return new(GroupKeyShares) }, MaxBytes: capDeal},
	{Kind: KindTransferSummary, Name: "transfer-summary", New: func() any { return new(TransferSummary) }, MaxBytes: capSummary, Producer: RoleExec},
	{Kind: KindSealedKey, Name: "sealed-key", New: func() any { return new(SealedGroupKey) }, MaxBytes: capSmall, Producer: RoleExec},
}

// kindIndex maps a kind to its row of kindTable.
var kindIndex = func() map[uint64]int {
	m := make(map[uint64]int, len(kindTable))
	for i, k := range kindTable {
		if _, dup := m[k.Kind]; dup {
			panic("spec: kind listed twice in the kind table")
		}
		m[k.Kind] = i
	}
	return m
}()

// LookupKind returns the table row of kind k.
func LookupKind(k uint64) (KindInfo, bool) {
	i, ok := kindIndex[k]
	if !ok {
		return KindInfo{}, false
	}
	return kindTable[i], true
}

// Kinds returns every row of the table of message kinds, ordered by kind. The slice is
// a copy.
func Kinds() []KindInfo { return append([]KindInfo(nil), kindTable...) }
