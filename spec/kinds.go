package spec

import "fmt"

// WireVersion is the version of this wire format (SPEC.md §14).
const WireVersion uint64 = 1

// Message and input kinds (SPEC.md §5, §7). Kinds 1..31 are protocol messages that
// cross between replicas or with clients; 32..63 are local inputs from the broker;
// 64..95 are local outputs to the broker.
const (
	KindRequest      uint64 = 1  // Request: client → broker → primary prep (inside a batch)
	KindBatch        uint64 = 2  // Batch: → exec
	KindPrePrepare   uint64 = 3  // PrePrepare: → conf
	KindProposal     uint64 = 4  // Proposal: primary prep → backup prep (split by the broker for conf and exec)
	KindPrepare      uint64 = 5  // Prepare: prep → conf
	KindCommit       uint64 = 6  // Commit: conf → exec
	KindCheckpoint   uint64 = 7  // Checkpoint: exec → prep, conf, exec
	KindViewChange   uint64 = 8  // ViewChange: conf → prep
	KindNewView      uint64 = 9  // NewView: prep → prep, conf, exec
	KindStateRequest uint64 = 10 // StateRequest: exec → exec
	KindStateChunk   uint64 = 11 // StateChunk: exec → exec
	KindReply        uint64 = 12 // Reply: exec → client
	KindRead         uint64 = 13 // Read: client → broker → own exec (SPEC.md §16.6)
	KindReadReply    uint64 = 14 // ReadReply: exec → client
	KindEpochVote    uint64 = 15 // EpochVote: exec → exec (SPEC.md §17.3)
	KindEpochChange  uint64 = 16 // EpochChange: exec → prep, conf, exec (SPEC.md §17.4)
	KindAttest       uint64 = 17 // Enrollment: a recovering replica's broker → exec of every other replica (SPEC.md §17.5)
	KindAttestation  uint64 = 18 // Attestation: exec → its broker → the requesting broker
	KindRecoveryVote uint64 = 19 // EpochVote: recovering exec → exec (SPEC.md §17.8)
	KindRecovery     uint64 = 20 // Recovery: exec → its broker → every broker → exec (SPEC.md §17.8)

	KindConfigure    uint64 = 32 // Configure: broker → any compartment, once
	KindClientBatch  uint64 = 33 // Batch: broker → primary prep, requests to order
	KindSuspect      uint64 = 34 // Suspect: broker → conf
	KindGroupKeyDeal uint64 = 35 // GroupKeyDeal: broker → one exec, before Configure
	KindRecover      uint64 = 36 // Recover: broker → a fresh exec, instead of Configure (SPEC.md §17.8)
	KindSealKey      uint64 = 37 // SealGet: broker → exec, asks for the sealed group key (SPEC.md §11.2)

	KindReject          uint64 = 64 // Rejection
	KindStatus          uint64 = 65 // Status
	KindGroupKeyShares  uint64 = 66 // GroupKeyShares
	KindTransferSummary uint64 = 67 // TransferSummary: exec → its own broker, after a state transfer
	KindSealedKey       uint64 = 68 // SealedGroupKey: exec → its own broker, for storage (SPEC.md §11.2)
)

// KindName returns the spec name of a kind, or "kind<N>" for an unknown one.
func KindName(k uint64) string {
	if info, ok := LookupKind(k); ok {
		return info.Name
	}
	return fmt.Sprintf("kind%d", k)
}

// Role bits for Destination.Roles.
const (
	ToPrep uint64 = 1 << RolePrep
	ToConf uint64 = 1 << RoleConf
	ToExec uint64 = 1 << RoleExec
)

// Reject codes (SPEC.md §4). A code names the first rule an input broke.
const (
	CodeMalformed      uint64 = 1  // not a canonical encoding of the kind's type, or a size cap exceeded
	CodeUnknownKind    uint64 = 2  // this compartment does not accept this kind
	CodeNotConfigured  uint64 = 3  // only KindConfigure (and KindGroupKeyDeal for exec) before configuration
	CodeConfigured     uint64 = 4  // KindConfigure or KindGroupKeyDeal after configuration
	CodeBadConfig      uint64 = 5  // the config fails validation or does not contain this enclave's enrollment
	CodeUnknownSender  uint64 = 6  // replica id ≥ N, or client not registered
	CodeBadSignature   uint64 = 7  // signature does not verify under the sender's enrolled key
	CodeWrongView      uint64 = 8  // message for a view other than the current one
	CodeOutOfWindow    uint64 = 9  // sequence number not in (h, h+L]
	CodeNotPrimary     uint64 = 10 // sender is not primary of the view, or this prep is not / is the primary
	CodeConflict       uint64 = 11 // a different digest was already accepted from the same sender for the same slot
	CodeDuplicate      uint64 = 12 // an identical message was already accepted
	CodeDigestMismatch uint64 = 13 // batch or snapshot does not hash to the certified digest
	CodeBadRequest     uint64 = 14 // a request in a batch is invalid (Sub names it)
	CodeBatchLimit     uint64 = 15 // batch, request or operation exceeds a configured limit
	CodeEmptyBatch     uint64 = 16 // a client batch left no valid request
	CodeWindowFull     uint64 = 17 // the primary has no free sequence number in the window
	CodeViewChanging   uint64 = 18 // normal-case input while a view change is in progress
	CodeBadCertificate uint64 = 19 // a certificate inside the message is invalid
	CodeStale          uint64 = 20 // for an older view or a sequence number at or below the stable checkpoint
	CodeBadNewView     uint64 = 21 // NEW-VIEW's PRE-PREPARE set differs from the one recomputed
	CodeStoreFull      uint64 = 22 // a bounded store is full; retry later
	CodeBadCheckpoint  uint64 = 23 // checkpoint seq not a positive multiple of K
	CodeBadChunk       uint64 = 24 // a state chunk is inconsistent, does not open, or is not wanted
	CodeBadTimestamp   uint64 = 25 // request timestamp 0 or timestamps overflow
	CodeBadShare       uint64 = 26 // group key share missing, does not open, or does not match the group key
	CodeBadInit        uint64 = 27 // InitRequest malformed, or Init called twice
	CodeBadEvidence    uint64 = 28 // evidence not admitted under the build policies (SPEC.md §17.5)
	CodeRetired        uint64 = 29 // replaced in a later epoch; accepts nothing more (SPEC.md §17.4)
)

var codeNames = map[uint64]string{
	CodeMalformed: "malformed", CodeUnknownKind: "unknown-kind", CodeNotConfigured: "not-configured",
	CodeConfigured: "configured", CodeBadConfig: "bad-config", CodeUnknownSender: "unknown-sender",
	CodeBadSignature: "bad-signature", CodeWrongView: "wrong-view", CodeOutOfWindow: "out-of-window",
	CodeNotPrimary: "not-primary", CodeConflict: "conflict", CodeDuplicate: "duplicate",
	CodeDigestMismatch: "digest-mismatch", CodeBadRequest: "bad-request", CodeBatchLimit: "batch-limit",
	CodeEmptyBatch: "empty-batch", CodeWindowFull: "window-full", CodeViewChanging: "view-changing",
	CodeBadCertificate: "bad-certificate", CodeStale: "stale", CodeBadNewView: "bad-new-view",
	CodeStoreFull: "store-full", CodeBadCheckpoint: "bad-checkpoint", CodeBadChunk: "bad-chunk",
	CodeBadTimestamp: "bad-timestamp", CodeBadShare: "bad-share", CodeBadInit: "bad-init",
	CodeBadEvidence: "bad-evidence", CodeRetired: "retired",
}

// CodeName returns the spec name of a reject code, or "code<N>".
func CodeName(c uint64) string {
	if s, ok := codeNames[c]; ok {
		return s
	}
	return fmt.Sprintf("code%d", c)
}

// CodeByName returns the code with the given spec name.
func CodeByName(name string) (uint64, bool) {
	for c, s := range codeNames {
		if s == name {
			return c, true
		}
	}
	return 0, false
}

// Domain-separation strings, one per signed or hashed object (SPEC.md §3.4).
const (
	DomainRequest    = "splitbft/v1/request"
	DomainPrePrepare = "splitbft/v1/pre-prepare"
	DomainPrepare    = "splitbft/v1/prepare"
	DomainCommit     = "splitbft/v1/commit"
	DomainCheckpoint = "splitbft/v1/checkpoint"
	DomainViewChange = "splitbft/v1/view-change"
	DomainNewView    = "splitbft/v1/new-view"
	DomainEnrollment = "splitbft/v1/enrollment"
	DomainConfig     = "splitbft/v1/config"
	DomainBatch      = "splitbft/v1/batch"
	DomainState      = "splitbft/v1/state"
	DomainEpochVote  = "splitbft/v1/epoch-vote"
	DomainAttest     = "splitbft/v1/attestation"
	DomainProposal   = "splitbft/v1/proposal"

	// DomainClientAttach signs a client's attach to a client-port connection
	// (§13.2); its "config digest" is the connection's TLS binding.
	DomainClientAttach = "splitbft/v1/client-attach"

	DomainRecoveryPlan = "splitbft/v1/recovery-plan"
	DomainRecoveryVote = "splitbft/v1/recovery-vote"
)

// HKDF info labels and AEAD domains (SPEC.md §12).
const (
	LabelRequestKey  = "splitbft/v1/request-key"
	LabelReplyKey    = "splitbft/v1/reply-key"
	LabelGroupWrap   = "splitbft/v1/group-key-wrap"
	LabelStateKey    = "splitbft/v1/state-key"
	LabelRequestAD   = "splitbft/v1/request-op"
	LabelReplyAD     = "splitbft/v1/reply-results" // a Reply sealing ReplyResults (§12.3)
	LabelStateAD     = "splitbft/v1/state-chunk"
	LabelGroupWrapAD = "splitbft/v1/group-key-share"
)

// Size caps (SPEC.md §2.4), checked on the byte length before decoding.
const (
	MaxFrameBytes      = 64 << 20 // a process-boundary frame
	MaxInitBytes       = 1 << 10  // an InitRequest
	MaxStepInputs      = 4096     // inputs in one StepInput
	MaxMessageBytes    = 48 << 20 // any single body
	MaxStateChunkBytes = 1 << 20  // plaintext bytes in one state chunk
	MaxSnapshotBytes   = 1 << 30  // a whole snapshot
	MaxNesting         = 16       // CBOR nesting depth
	MaxArrayElements   = 1 << 24  // elements in one CBOR array (a kv snapshot may hold millions of keys)
)
