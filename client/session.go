package client

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"

	"github.com/splitbft/splitbft/spec"
)

// Errors of Session. HandleReply wraps exactly one of the reply errors, so callers can
// classify with errors.Is; none of them changes the session's state.
var (
	ErrOutstanding        = errors.New("client: a request is already outstanding (one at a time per session)")
	ErrOpCount            = errors.New("client: number of operations out of 1..MaxRequestOps")
	ErrOpSize             = errors.New("client: operation size out of range for MaxOpBytes")
	ErrTimestampExhausted = errors.New("client: timestamps exhausted")
	ErrTimestampOrder     = errors.New("client: timestamp not above those already used")

	ErrMalformedReply   = errors.New("client: reply is not a canonical REPLY or its results are malformed or not one per operation")
	ErrWrongClient      = errors.New("client: reply is for another client")
	ErrUnknownReplica   = errors.New("client: reply names a replica outside the configuration")
	ErrUnknownTimestamp = errors.New("client: reply is not for the outstanding request")
	ErrUndecryptable    = errors.New("client: reply does not open under the pairwise reply key")
	ErrDuplicateReplica = errors.New("client: replica already answered this request")
)

// Completion is an accepted request: the Result of every operation, the whole list
// vouched for by f+1 distinct replicas' execution enclaves.
type Completion struct {
	Timestamp uint64        // timestamp of the request (of its first operation)
	Results   []spec.Result // one per operation, in order
}

// Session is the deterministic, I/O-free core of a client: it builds signed, sealed
// REQUESTs and votes on replies. It is not safe for concurrent use.
//
// A session has at most one request outstanding: Execution caches only a client's
// latest request's results (SPEC.md §11.5), so a second concurrent request would make
// the first one's replies unrecoverable. Timestamps are never reused, even after
// Abandon; a new session for the same identity must start above every timestamp the
// identity ever used (SetNextTimestamp), or its requests are treated as old.
type Session struct {
	cfg       *spec.Config
	cd        spec.Digest
	id        Identity
	sign      ed25519.PrivateKey
	rand      io.Reader
	reqKey    [32]byte
	replyKeys [][32]byte // index = replica id; len == cfg.N
	replyOK   []bool     // replyOK[r] false: exec r's box key is low order, its replies never open
	next      uint64     // next unused timestamp; ≥ 1, or 0 when all are used
	viewHint  uint64     // a view vouched for by f+1 replies (the primary guess)
	out       *outstanding
	quorum    uint64 // equal result lists that decide a request: f+1 unless SetQuorum

	reqAEAD   keyedAEAD    // the cipher of reqKey
	replyAEAD []keyedAEAD  // the ciphers of replyKeys, by replica id, set up on first use
	ad        []byte       // scratch for AEAD data
	signBuf   bytes.Buffer // scratch for the bytes a request's signature covers
	scratch   struct {     // what HandleReply decodes into; zero between calls
		reply spec.Reply
	}
}

// SetQuorum makes a request decided only on q equal result lists from distinct
// replicas, f+1 ≤ q ≤ 2f+1 (default f+1). A gateway that answers fast reads needs
// 2f+1 (SPEC.md §16.6 FR2).
func (s *Session) SetQuorum(q uint64) error {
	if q < s.cfg.F+1 || q > 2*s.cfg.F+1 {
		return fmt.Errorf("client: quorum %d outside f+1..2f+1 = %d..%d", q, s.cfg.F+1, 2*s.cfg.F+1)
	}
	s.quorum = q
	return nil
}

// outstanding is the request in flight and the votes on its results.
type outstanding struct {
	req     []byte
	ts      uint64
	voted   uint64      // bit r set: replica r's reply opened (n ≤ 64)
	lists   []listVotes // the distinct result lists received (at most one per replica)
	decided *listVotes  // set by the reply that completes the request
	plain   [][]byte    // the operation plaintexts (one per operation), to re-seal them in a new epoch (Follow)
}

// last is the timestamp of the outstanding request's last operation: its replies
// carry it (SPEC.md §12.3).
func (o *outstanding) last() uint64 { return o.ts + uint64(max(len(o.plain), 1)) - 1 }

// listVotes is one distinct result list (the plaintext of a REPLY), the replicas that
// sent it and the views their replies carried.
type listVotes struct {
	plain   []byte        // enc(ReplyResults), as opened
	results []spec.Result // its decoding: one Result per operation
	who     uint64        // bit set of replicas
	views   []uint64
}

// NewSession starts a session for identity id in the cluster cfg. The identity must be
// registered in cfg with exactly its keys. rand supplies the AEAD nonces.
func NewSession(cfg *spec.Config, id Identity, rand io.Reader) (*Session, error) {
	reg := cfg.Client(id.ID)
	if reg == nil || *reg != id.Registration() {
		return nil, fmt.Errorf("client: identity %d is not registered in the configuration with these keys", id.ID)
	}
	if uint64(len(cfg.Replicas)) != cfg.N || cfg.N > 64 {
		return nil, fmt.Errorf("client: configuration lists %d replicas for n=%d", len(cfg.Replicas), cfg.N)
	}
	s := &Session{cfg: cfg, cd: spec.ConfigDigest(cfg), id: id, sign: id.signingKey(), rand: rand, next: 1, quorum: cfg.F + 1}
	k, err := requestKey(id.BoxPrivate, cfg.ExecGroupKey, s.cd, id.ID)
	if err != nil {
		return nil, err
	}
	s.reqKey = k
	s.replyKeys = make([][32]byte, cfg.N)
	s.replyOK = make([]bool, cfg.N)
	for r := range cfg.Replicas {
		k, err := replyKey(id.BoxPrivate, cfg.Replicas[r].Exec.Body.BoxKey, s.cd, id.ID, uint64(r))
		s.replyKeys[r], s.replyOK[r] = k, err == nil
	}
	return s, nil
}

// Config returns the configuration the session was created for.
func (s *Session) Config() *spec.Config { return s.cfg }

// ID returns the session's client id.
func (s *Session) ID() uint64 { return s.id.ID }

// NextTimestamp returns the timestamp the next request's first operation will get.
func (s *Session) NextTimestamp() uint64 { return s.next }

// SetNextTimestamp makes the next request start at ts, which must not be below the
// next unused timestamp (timestamps only grow). Use it when resuming an identity.
func (s *Session) SetNextTimestamp(ts uint64) error {
	if ts < s.next || ts == 0 || s.next == 0 {
		return fmt.Errorf("%w: %d < %d", ErrTimestampOrder, ts, s.next)
	}
	s.next = ts
	return nil
}

// PrimaryHint returns the replica the session believes is the primary: primary(v) for
// the highest view that f+1 replies of a completed request vouched for (initially 0).
func (s *Session) PrimaryHint() uint64 { return s.cfg.Primary(s.viewHint) }

// Outstanding returns the encoded REQUEST in flight and its timestamp, for
// retransmission; ok is false when no request is outstanding.
func (s *Session) Outstanding() (req []byte, ts uint64, ok bool) {
	if s.out == nil {
		return nil, 0, false
	}
	return s.out.req, s.out.ts, true
}

// Answered returns, in increasing order, the replicas that sent a valid reply for the
// outstanding request (none when nothing is outstanding).
func (s *Session) Answered() []uint64 {
	if s.out == nil {
		return nil
	}
	var out []uint64
	for r := range s.cfg.N {
		if s.out.voted&(1<<r) != 0 {
			out = append(out, r)
		}
	}
	return out
}

// Abandon forgets the outstanding request (its timestamps stay used). Replies for it
// are then rejected with ErrUnknownTimestamp.
func (s *Session) Abandon() { s.out = nil }
