package spec

// This file defines the protocol messages exchanged between replicas and with clients
// (SPEC.md §5). Every struct encodes as a CBOR array (toarray) whose elements appear in
// field order. A "Body" struct is the signed part of a message; the enclosing struct
// adds the signature. The bytes a signer signs are SignedBytes(domain, configDigest,
// Encode(body)) (SPEC.md §3.4).

// Digest is a SHA-256 output.
type Digest [32]byte

// PublicKey is an Ed25519 or X25519 public key in its 32-byte encoding.
type PublicKey [32]byte

// Signature is an Ed25519 signature (R || S).
type Signature [64]byte

// Nonce is an XChaCha20-Poly1305 nonce.
type Nonce [24]byte

// SealedOp is one client operation, encrypted for the execution group. Its timestamp
// is Request.Timestamp plus its index in Request.Ops.
type SealedOp struct {
	_          struct{} `cbor:",toarray"`
	Nonce      Nonce
	Ciphertext []byte // XChaCha20-Poly1305 output: sealed Operation plus 16-byte tag
}

// RequestBody is the part of a REQUEST that the client signs.
type RequestBody struct {
	_         struct{}   `cbor:",toarray"`
	Client    uint64     // registered client id
	Timestamp uint64     // timestamp of Ops[0]; Ops[i] has Timestamp+i; > 0
	Ops       []SealedOp // 1 ≤ len ≤ Config.MaxRequestOps
}

// Request is a client's signed REQUEST (kind KindRequest).
type Request struct {
	_    struct{} `cbor:",toarray"`
	Body RequestBody
	Sig  Signature // by the client's Ed25519 key, domain DomainRequest
}

// Batch is an ordered list of requests proposed under one sequence number (kind
// KindBatch). An empty batch is the null batch of a view change.
type Batch struct {
	_        struct{} `cbor:",toarray"`
	Requests []Request
}

// Slot names one agreement instance and the batch digest agreed in it. It is the body
// of PRE-PREPARE, PREPARE and COMMIT.
type Slot struct {
	_       struct{} `cbor:",toarray"`
	View    uint64
	Seq     uint64
	Digest  Digest // BatchDigest of the batch
	Replica uint64 // the sender's replica id
}

// PrePrepare is the primary Preparation compartment's signed header (kind
// KindPrePrepare). Body.Replica == Body.View mod N.
type PrePrepare struct {
	_    struct{} `cbor:",toarray"`
	Body Slot
	Sig  Signature // by the primary's prep key, domain DomainPrePrepare
}

// Proposal is a PRE-PREPARE header with the batch it names (kind KindProposal). The
// signature covers the header only; the broker delivers Header alone to Confirmation
// (as KindPrePrepare) and Batch alone to Execution (as KindBatch).
type Proposal struct {
	_      struct{} `cbor:",toarray"`
	Header PrePrepare
	Batch  Batch
}

// Prepare is a backup Preparation compartment's signed PREPARE (kind KindPrepare).
type Prepare struct {
	_    struct{} `cbor:",toarray"`
	Body Slot
	Sig  Signature // by the sender's prep key, domain DomainPrepare
}

// Commit is a Confirmation compartment's signed COMMIT (kind KindCommit).
type Commit struct {
	_    struct{} `cbor:",toarray"`
	Body Slot
	Sig  Signature // by the sender's conf key, domain DomainCommit
}

// CheckpointBody is the signed part of a CHECKPOINT.
type CheckpointBody struct {
	_       struct{} `cbor:",toarray"`
	Seq     uint64   // a multiple of Config.CheckpointInterval, > 0
	State   Digest   // StateDigest of the snapshot after executing Seq
	Replica uint64
}

// Checkpoint is an Execution compartment's signed CHECKPOINT (kind KindCheckpoint).
type Checkpoint struct {
	_    struct{} `cbor:",toarray"`
	Body CheckpointBody
	Sig  Signature // by the sender's exec key, domain DomainCheckpoint
}

// CheckpointCert proves that the checkpoint (Seq, State) is stable: 2f+1 CHECKPOINTs
// from distinct exec enclaves, all with this Seq and State, sorted by Replica. The
// genesis certificate is Seq 0, State GenesisState(), no Proof.
type CheckpointCert struct {
	_     struct{} `cbor:",toarray"`
	Seq   uint64
	State Digest
	Proof []Checkpoint
}

// PreparedCert proves that Header.Body.Digest was prepared at (view, seq): the
// primary's PRE-PREPARE and 2f PREPAREs from distinct non-primary prep enclaves with
// the same View, Seq and Digest, sorted by Replica.
type PreparedCert struct {
	_        struct{} `cbor:",toarray"`
	Header   PrePrepare
	Prepares []Prepare
}

// ViewChangeBody is the signed part of a VIEW-CHANGE.
type ViewChangeBody struct {
	_        struct{}       `cbor:",toarray"`
	View     uint64         // the view the sender moves to
	Replica  uint64         // sender
	Stable   CheckpointCert // the sender's latest stable checkpoint
	Prepared []PreparedCert // for each seq in (Stable.Seq, Stable.Seq+L] the sender prepared, the certificate of the highest view; sorted by seq
}

// ViewChange is a Confirmation compartment's signed VIEW-CHANGE (kind KindViewChange).
type ViewChange struct {
	_    struct{} `cbor:",toarray"`
	Body ViewChangeBody
	Sig  Signature // by the sender's conf key, domain DomainViewChange
}

// NewViewBody is the signed part of a NEW-VIEW.
type NewViewBody struct {
	_           struct{} `cbor:",toarray"`
	View        uint64
	Replica     uint64       // == View mod N
	ViewChanges []ViewChange // 2f+1 for View from distinct conf enclaves, sorted by Replica
	PrePrepares []PrePrepare // PBFT's O set, sorted by Seq (SPEC.md §8.5)
}

// NewView is the new primary Preparation compartment's signed NEW-VIEW (kind
// KindNewView).
type NewView struct {
	_    struct{} `cbor:",toarray"`
	Body NewViewBody
	Sig  Signature // by the primary's prep key, domain DomainNewView
}

// Reply is an Execution compartment's reply to one request (kind KindReply): the
// Results of all its operations, in order, sealed as enc(ReplyResults) (SPEC.md
// §12.3). It is authenticated and encrypted under the pairwise key of (client, exec
// enclave), not signed.
type Reply struct {
	_          struct{} `cbor:",toarray"`
	Client     uint64
	Timestamp  uint64 // the timestamp of the request's last operation (Request.Timestamp + len(Ops) − 1)
	Replica    uint64 // the replying exec enclave's replica id
	View       uint64 // the replica's view, a hint for the client
	Nonce      Nonce
	Ciphertext []byte // sealed ReplyResults
}

// ReplyResults is the plaintext of a Reply: one Result per operation of the request,
// in order (SPEC.md §12.3). It has the shape of ReadResults; the AEAD data keeps the
// two apart.
type ReplyResults struct {
	_       struct{} `cbor:",toarray"`
	Results []Result
}

// StateRequest asks an Execution compartment for the snapshot at a stable checkpoint
// (kind KindStateRequest). It is not signed: the answer is encrypted for the
// execution group and checked against a certified digest.
type StateRequest struct {
	_       struct{} `cbor:",toarray"`
	Seq     uint64
	State   Digest
	Replica uint64 // requester
	Index   uint64 // first chunk wanted
}

// StateChunk carries one encrypted piece of a snapshot (kind KindStateChunk).
type StateChunk struct {
	_          struct{} `cbor:",toarray"`
	Seq        uint64
	State      Digest
	Index      uint64
	Count      uint64 // total number of chunks, ≥ 1
	Size       uint64 // total snapshot length in bytes
	Nonce      Nonce
	Ciphertext []byte // chunk Index of the snapshot, sealed under the exec group key
}

// ClientMsg is every frame of a broker's client port (§13.2): Kind is hello (1),
// request (2), reply (3), read (4) or epoch (5); Client the client id (the addressee
// of a reply, 0 for an epoch); Body the hello string or the carried message's
// encoding.
type ClientMsg struct {
	_      struct{} `cbor:",toarray"`
	Kind   uint64
	Client uint64
	Body   []byte
}
