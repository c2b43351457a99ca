package client

import (
	"bytes"
	"fmt"
	"math/bits"
	"slices"

	"github.com/splitbft/splitbft/spec"
)

// HandleReply processes one encoded REPLY. It returns done == true and the Completion
// when the reply completes the outstanding request: f+1 (the session's quorum)
// distinct replicas then sealed equal result lists for it (SPEC.md §12.3). Each
// replica sends one reply per request, carrying the timestamp of the request's last
// operation, whose plaintext is
// the Results of all its operations in order. A reply that is malformed, for another
// client, from an unknown replica, for another request than the outstanding one, that
// does not open, whose plaintext is not a canonical ReplyResults with one Result per
// operation, or that repeats a replica's answer is rejected with the matching error and
// changes nothing. A reply to an earlier request (the outstanding one is newer, or
// none is) is neither opened nor counted.
//
// With at most f faulty execution enclaves a wrong result is never accepted: f+1
// equal lists include one from a correct enclave, and no one can seal a reply under
// another enclave's pairwise key.
func (s *Session) HandleReply(reply []byte) (Completion, bool, error) {
	r := &s.scratch.reply // a local would escape to the decoder: one allocation per reply
	defer func() { *r = spec.Reply{} }()
	if err := spec.Decode(reply, r, spec.MaxBodyBytes(spec.KindReply)); err != nil {
		return Completion{}, false, fmt.Errorf("%w: %v", ErrMalformedReply, err)
	}
	if err := s.checkReply(r); err != nil {
		return Completion{}, false, err
	}
	if s.out.voted&(1<<r.Replica) != 0 {
		return Completion{}, false, fmt.Errorf("%w: replica %d, timestamp %d", ErrDuplicateReplica, r.Replica, r.Timestamp)
	}
	plain, res, err := s.openReply(r)
	if err != nil {
		return Completion{}, false, err
	}
	s.out.voted |= 1 << r.Replica
	if !s.vote(plain, res, r.Replica, r.View) {
		return Completion{}, false, nil
	}
	return s.complete(), true, nil
}

// checkReply checks the reply's header against the outstanding request.
func (s *Session) checkReply(r *spec.Reply) error {
	switch {
	case r.Client != s.id.ID:
		return fmt.Errorf("%w: client %d", ErrWrongClient, r.Client)
	case r.Replica >= s.cfg.N:
		return fmt.Errorf("%w: replica %d, n=%d", ErrUnknownReplica, r.Replica, s.cfg.N)
	case s.out == nil:
		return fmt.Errorf("%w: timestamp %d, nothing outstanding", ErrUnknownTimestamp, r.Timestamp)
	case r.Timestamp < s.out.ts:
		return errEarlierRequest // the usual late reply: preformatted, it allocates nothing
	case r.Timestamp != s.out.last():
		return fmt.Errorf("%w: timestamp %d, outstanding %d..%d", ErrUnknownTimestamp, r.Timestamp, s.out.ts, s.out.last())
	case !s.replyOK[r.Replica]:
		return fmt.Errorf("%w: replica %d has a low-order box key", ErrUndecryptable, r.Replica)
	}
	return nil
}

// openReply opens a reply that passed checkReply and returns its plaintext and the
// Results it decodes to, one per operation of the outstanding request.
func (s *Session) openReply(r *spec.Reply) ([]byte, []spec.Result, error) {
	s.ad = spec.AppendAD(s.ad[:0], spec.LabelReplyAD, s.cd, s.id.ID, r.Timestamp, r.Replica, r.View)
	pt, err := openWith(s.replyCipher(r.Replica), &r.Nonce, r.Ciphertext, s.ad)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: replica %d, timestamp %d", ErrUndecryptable, r.Replica, r.Timestamp)
	}
	var dec spec.ReplyResults
	if err := spec.Decode(pt, &dec, spec.MaxBodyBytes(spec.KindReply)); err != nil {
		return nil, nil, fmt.Errorf("%w: replica %d sealed a malformed result list: %v", ErrMalformedReply, r.Replica, err)
	}
	if len(dec.Results) != len(s.out.plain) {
		return nil, nil, fmt.Errorf("%w: replica %d sealed %d results for %d operations", ErrMalformedReply, r.Replica, len(dec.Results), len(s.out.plain))
	}
	return pt, dec.Results, nil
}

// errEarlierRequest rejects a reply to an earlier request (one that arrives after its
// request was decided).
var errEarlierRequest = fmt.Errorf("%w: the reply is for an earlier request", ErrUnknownTimestamp)

// vote records replica r's result list for the outstanding request and reports whether
// the session's quorum (f+1 unless SetQuorum) of distinct replicas has now sent the
// same list. Two lists are the same when their plaintexts, canonical encodings of
// ReplyResults (Decode accepts nothing else), are equal: every Status and Value equal,
// position by position.
func (s *Session) vote(plain []byte, res []spec.Result, r, view uint64) bool {
	o := s.out
	i := slices.IndexFunc(o.lists, func(l listVotes) bool { return bytes.Equal(l.plain, plain) })
	if i < 0 {
		o.lists = append(o.lists, listVotes{plain: plain, results: res, views: make([]uint64, 0, s.quorum)})
		i = len(o.lists) - 1
	}
	l := &o.lists[i]
	l.who |= 1 << r
	l.views = append(l.views, view)
	if uint64(bits.OnesCount64(l.who)) < s.quorum {
		return false
	}
	o.decided = l
	return true
}

// complete ends the outstanding request and updates the primary hint to the lowest view
// among the f+1 replies that decided it (one of them is correct, so the hint is never
// above a correct replica's view).
func (s *Session) complete() Completion {
	d := s.out.decided
	c := Completion{Timestamp: s.out.ts, Results: d.results}
	if v := slices.Min(d.views); v > s.viewHint {
		s.viewHint = v
	}
	s.out = nil
	return c
}
