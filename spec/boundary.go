package spec

// This file defines the enclave boundary (SPEC.md §7): the documents that cross
// between the broker and a compartment.

// Compartment is the in-process form of the enclave boundary. The same bytes cross it
// whether the compartment runs in-process or as its own process behind frames.
//
// Init is called once, first. It generates the compartment's keys (from the
// implementation's injected randomness) and returns an encoded Enrollment, or an
// error for an InitRequest that is malformed or called twice.
//
// Step takes an encoded StepInput and returns an encoded StepOutput. It never fails
// and never panics on any input: a bad input yields a Rejection output.
type Compartment interface {
	Init(req []byte) ([]byte, error)
	Step(in []byte) []byte
}

// InitRequest tells a new enclave who it is.
type InitRequest struct {
	_         struct{} `cbor:",toarray"`
	Role      Role
	Replica   uint64
	Challenge Digest // the digest of the epoch the instance starts for, zero at formation; bound into the evidence (SPEC.md §7.2, §17.5)
}

// Input is one item of a StepInput: a message or a local event, by kind.
type Input struct {
	_    struct{} `cbor:",toarray"`
	Kind uint64   // a Kind* constant
	Body []byte   // the canonical encoding of the kind's body type
}

// StepInput is the argument of Step: up to MaxStepInputs inputs, handled in order.
type StepInput struct {
	_      struct{} `cbor:",toarray"`
	Inputs []Input
}

// Destination says where an output goes. Roles is a bit set (1 << role); Replicas is
// sorted and duplicate-free. For KindReply both are empty: the reply goes to its
// client. For KindReject, KindStatus, KindGroupKeyShares and KindTransferSummary both
// are empty: the output is for the local broker.
type Destination struct {
	_        struct{} `cbor:",toarray"`
	Roles    uint64
	Replicas []uint64
}

// Output is one item of a StepOutput.
type Output struct {
	_    struct{} `cbor:",toarray"`
	Kind uint64
	To   Destination
	Body []byte // canonical encoding of the kind's body type
}

// StepOutput is the result of Step. Outputs appear in the order they were produced;
// the last output is always exactly one KindStatus.
type StepOutput struct {
	_       struct{} `cbor:",toarray"`
	Outputs []Output
}

// Rejection reports that input Index of the StepInput was not accepted (kind
// KindReject). Sub is the index of the offending request inside a batch, or 0.
// A rejected input changed no state.
type Rejection struct {
	_     struct{} `cbor:",toarray"`
	Index uint64   // index of the input in StepInput.Inputs
	Kind  uint64   // that input's kind
	Code  uint64   // a Code* constant
	Sub   uint64
}

// Status is the compartment's summary for the broker's timers and operators (kind
// KindStatus). It is a hint: nothing in it is trusted by anyone.
type Status struct {
	_          struct{} `cbor:",toarray"`
	Role       Role
	Replica    uint64
	Configured bool
	View       uint64
	ViewActive bool   // false while a view change is in progress
	Stable     uint64 // sequence number of the latest stable checkpoint (h)
	Last       uint64 // prep: last assigned or prepared seq; conf: last committed; exec: last executed
	NeedState  bool   // exec: a stable checkpoint above Last is known, state transfer wanted
	NeedBatch  []Digest
}

// TransferSummary is what an exec tells its own broker after it installed a state by
// transfer (kind KindTransferSummary, SPEC.md §11.7): Seq, the installed checkpoint,
// and for every client in the installed client table, in increasing Client order, the
// timestamp of the last operation executed for it. It is local (never sent to a peer)
// and a hint: the broker uses it only to stop request timers (§13.3 obligation 5),
// and nobody trusts it.
type TransferSummary struct {
	_       struct{} `cbor:",toarray"`
	Seq     uint64
	Clients []ClientDone
}

// ClientDone is one client's entry in a TransferSummary.
type ClientDone struct {
	_         struct{} `cbor:",toarray"`
	Client    uint64
	Timestamp uint64 // the client's last executed timestamp: ClientEntry.Timestamp + len(Results) − 1
}

// Configure delivers the cluster configuration (kind KindConfigure). Share is the
// exec group key share for exec compartments and empty for prep and conf.
type Configure struct {
	_      struct{} `cbor:",toarray"`
	Config []byte   // canonical Config encoding
	Share  []GroupKeyShare
}

// Suspect tells Confirmation that its broker's request timer expired in View (kind
// KindSuspect). It affects liveness only.
type Suspect struct {
	_    struct{} `cbor:",toarray"`
	View uint64
}

// GroupKeyDeal asks an exec compartment, before Configure, to create the execution
// group key and wrap it for each listed exec enrollment (kind KindGroupKeyDeal).
type GroupKeyDeal struct {
	_     struct{} `cbor:",toarray"`
	Execs []EnrollmentBody
}

// GroupKeyShare is the exec group private key wrapped for one exec enclave.
type GroupKeyShare struct {
	_         struct{}  `cbor:",toarray"`
	Dealer    PublicKey // the dealer's X25519 box key
	Recipient PublicKey // the recipient's X25519 box key
	GroupKey  PublicKey // the group public key
	Nonce     Nonce
	Sealed    []byte // XChaCha20-Poly1305 of the 32-byte group private key
}

// GroupKeyShares is the dealer's answer to GroupKeyDeal (kind KindGroupKeyShares),
// one share per listed enrollment, in the same order.
type GroupKeyShares struct {
	_      struct{} `cbor:",toarray"`
	Shares []GroupKeyShare
}

// Frame is one unit of the process boundary (SPEC.md §7.5): a call from the broker or
// its answer. On the stream each frame is a 4-byte big-endian length followed by that
// many bytes of Frame encoding, at most MaxFrameBytes.
type Frame struct {
	_    struct{} `cbor:",toarray"`
	Op   uint64   // FrameInit, FrameStep, FrameResult, FrameError
	Body []byte
}

// Frame operations.
const (
	FrameInit   uint64 = 1 // Body: InitRequest; answered by FrameResult(Enrollment) or FrameError
	FrameStep   uint64 = 2 // Body: StepInput; answered by FrameResult(StepOutput)
	FrameResult uint64 = 3
	FrameError  uint64 = 4 // Body: a Code* value as the CBOR unsigned integer
)
