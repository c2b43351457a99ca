package client

import (
	"bytes"
	"fmt"
	"math/bits"
	"slices"

	"github.com/splitbft/splitbft/spec"
)

// HandleReply processes one encoded REPLY. It returns done == true and the Completion
// when the reply completes the outstanding request: every operation then has f+1
// equal Results from distinct replicas (SPEC.md §12.3). A reply that is malformed, for
// another client, from an unknown replica, for no operation of the outstanding request,
// that does not open, or that repeats a replica's answer for an operation is rejected
// with the matching error and changes nothing. A reply for an operation that is
// already decided is neither opened nor checked: it is accepted silently and changes
// nothing (its replica does not count as having answered).
//
// With at most f faulty execution enclaves a wrong result is never accepted: f+1
// equal results include one from a correct enclave, and no one can seal a reply under
// another enclave's pairwise key.
func (s *Session) HandleReply(reply []byte) (Completion, bool, error) {
	r := &s.scratch.reply // a local would escape to the decoder: one allocation per reply
	defer func() { *r = spec.Reply{} }()
	if err := spec.Decode(reply, r, spec.MaxBodyBytes(spec.KindReply)); err != nil {
		return Completion{}, false, fmt.Errorf("%w: %v", ErrMalformedReply, err)
	}
	j, err := s.checkReply(r)
	if err != nil {
		return Completion{}, false, err
	}
	ov := &s.out.ops[j]
	if ov.voted&(1<<r.Replica) != 0 {
		return Completion{}, false, fmt.Errorf("%w: replica %d, timestamp %d", ErrDuplicateReplica, r.Replica, r.Timestamp)
	}
	if ov.decided != nil { // a late reply to a decided operation of the outstanding request:
		return Completion{}, false, nil // not opened, so it counts for nothing (not even Answered)
	}
	res, err := s.openReply(r)
	if err != nil {
		return Completion{}, false, err
	}
	ov.voted |= 1 << r.Replica
	s.vote(ov, res, r.Replica, r.View)
	if s.out.fresh > 0 {
		return Completion{}, false, nil
	}
	return s.complete(), true, nil
}

// checkReply checks the reply's header against the outstanding request and returns
// the operation index.
func (s *Session) checkReply(r *spec.Reply) (int, error) {
	switch {
	case r.Client != s.id.ID:
		return 0, fmt.Errorf("%w: client %d", ErrWrongClient, r.Client)
	case r.Replica >= s.cfg.N:
		return 0, fmt.Errorf("%w: replica %d, n=%d", ErrUnknownReplica, r.Replica, s.cfg.N)
	case s.out == nil:
		return 0, fmt.Errorf("%w: timestamp %d, nothing outstanding", ErrUnknownTimestamp, r.Timestamp)
	case r.Timestamp < s.out.ts:
		return 0, errEarlierRequest // the usual late reply: preformatted, it allocates nothing
	case r.Timestamp-s.out.ts >= uint64(len(s.out.ops)):
		return 0, fmt.Errorf("%w: timestamp %d, outstanding %d+%d", ErrUnknownTimestamp, r.Timestamp, s.out.ts, len(s.out.ops))
	case !s.replyOK[r.Replica]:
		return 0, fmt.Errorf("%w: replica %d has a low-order box key", ErrUndecryptable, r.Replica)
	}
	return int(r.Timestamp - s.out.ts), nil
}

// openReply opens a reply that passed checkReply and returns its Result.
func (s *Session) openReply(r *spec.Reply) (spec.Result, error) {
	s.ad = spec.AppendAD(s.ad[:0], spec.LabelReplyAD, s.cd, s.id.ID, r.Timestamp, r.Replica, r.View)
	pt, err := openWith(s.replyCipher(r.Replica), &r.Nonce, r.Ciphertext, s.ad)
	if err != nil {
		return spec.Result{}, fmt.Errorf("%w: replica %d, timestamp %d", ErrUndecryptable, r.Replica, r.Timestamp)
	}
	dec := &s.scratch.res // as in HandleReply
	defer func() { *dec = spec.Result{} }()
	if err := spec.Decode(pt, dec, spec.MaxBodyBytes(spec.KindReply)); err != nil {
		return spec.Result{}, fmt.Errorf("%w: replica %d sealed a malformed Result: %v", ErrMalformedReply, r.Replica, err)
	}
	return *dec, nil
}

// errEarlierRequest rejects a reply to an operation of an earlier request (one that
// arrives after its request was decided).
var errEarlierRequest = fmt.Errorf("%w: the reply is for an earlier request", ErrUnknownTimestamp)

// vote records replica r's result for an undecided operation and decides it once the
// session's quorum (f+1 unless SetQuorum) of distinct replicas sent the same encoded
// Result.
func (s *Session) vote(ov *opVotes, res spec.Result, r, view uint64) {
	i := slices.IndexFunc(ov.results, func(e resultVotes) bool {
		return e.res.Status == res.Status && bytes.Equal(e.res.Value, res.Value)
	})
	if i < 0 {
		ov.results = append(ov.results, resultVotes{res: res, views: make([]uint64, 0, s.quorum)})
		i = len(ov.results) - 1
	}
	e := &ov.results[i]
	e.who |= 1 << r
	e.views = append(e.views, view)
	if uint64(bits.OnesCount64(e.who)) < s.quorum {
		return
	}
	ov.decided, ov.views0 = &e.res, e.views
	ov.results = nil
	s.out.fresh--
}

// complete ends the outstanding request and updates the primary hint to the lowest view
// among the f+1 replies that decided the first operation (one of them is correct, so
// the hint is never above a correct replica's view).
func (s *Session) complete() Completion {
	c := Completion{Timestamp: s.out.ts, Results: make([]spec.Result, len(s.out.ops))}
	for i := range s.out.ops {
		c.Results[i] = *s.out.ops[i].decided
	}
	if v := slices.Min(s.out.ops[0].views0); v > s.viewHint {
		s.viewHint = v
	}
	s.out = nil
	return c
}
