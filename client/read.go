package client

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"time"

	"github.com/splitbft/splitbft/spec"
)

// This file is the client side of the fast read path (SPEC.md §16.6): a READ of
// read-only operations sent to every exec, accepted only on 2f+1 equal answers at the
// same executed sequence number. Callers that use it must acknowledge ordered
// operations only on 2f+1 matching replies too (SetQuorum), or a fast read may miss
// an acknowledged write (FR2).

// ErrNoFastRead is returned by FastRead when the transport cannot send READs.
var ErrNoFastRead = errors.New("client: the transport has no fast read path")

// ReadSender is implemented by a Transport that can send a READ to every replica.
type ReadSender interface {
	SendRead(read []byte) error
}

// PendingRead collects the READ-REPLYs of one READ. It is not safe for concurrent use.
type PendingRead struct {
	s       *Session
	id      uint64
	n       int               // operations
	voted   uint64            // bit r: replica r answered
	byValue map[string]uint64 // u64(Last) || enc(ReadResults) → replicas
	decided []spec.Result
}

// NewRead builds a READ of the read-only operation plaintexts ops with a fresh random
// ReadID and returns it encoded with its vote collector. It does not touch the
// session's outstanding request or timestamps.
func (s *Session) NewRead(ops [][]byte) (*PendingRead, []byte, error) {
	if len(ops) == 0 || uint64(len(ops)) > s.cfg.MaxRequestOps {
		return nil, nil, fmt.Errorf("%w: %d", ErrOpCount, len(ops))
	}
	var idb [8]byte
	if _, err := s.rand.Read(idb[:]); err != nil {
		return nil, nil, fmt.Errorf("client: read id: %w", err)
	}
	m := spec.Read{Client: s.id.ID, ReadID: binary.BigEndian.Uint64(idb[:]), Ops: make([]spec.SealedOp, len(ops))}
	for j, op := range ops {
		if uint64(len(op))+16 > s.cfg.MaxOpBytes {
			return nil, nil, fmt.Errorf("%w: %d bytes", ErrOpSize, len(op))
		}
		nonce, err := readNonce(s.rand)
		if err != nil {
			return nil, nil, err
		}
		ad := spec.ReadOpAD(s.cd, s.id.ID, m.ReadID, uint64(j))
		m.Ops[j] = spec.SealedOp{Nonce: nonce, Ciphertext: seal(s.reqKey, nonce, op, ad)}
	}
	return &PendingRead{s: s, id: m.ReadID, n: len(ops), byValue: map[string]uint64{}}, spec.Encode(&m), nil
}

// Handle processes one encoded READ-REPLY. It returns done == true with the results
// once 2f+1 distinct replicas sealed equal results at the same sequence number. A
// reply that is not for this read, does not open, or repeats a replica is rejected
// with an error and changes nothing.
func (p *PendingRead) Handle(raw []byte) ([]spec.Result, bool, error) {
	var r spec.ReadReply
	s := p.s
	if err := spec.Decode(raw, &r, spec.MaxBodyBytes(spec.KindReadReply)); err != nil {
		return nil, false, fmt.Errorf("%w: %v", ErrMalformedReply, err)
	}
	switch {
	case r.Client != s.id.ID || r.ReadID != p.id:
		return nil, false, fmt.Errorf("%w: client %d read %d", ErrUnknownTimestamp, r.Client, r.ReadID)
	case r.Replica >= s.cfg.N || !s.replyOK[r.Replica]:
		return nil, false, fmt.Errorf("%w: replica %d", ErrUnknownReplica, r.Replica)
	case p.voted&(1<<r.Replica) != 0:
		return nil, false, fmt.Errorf("%w: replica %d", ErrDuplicateReplica, r.Replica)
	}
	pt, err := open(s.replyKeys[r.Replica], r.Nonce, r.Ciphertext, spec.ReadReplyAD(s.cd, r.Client, r.ReadID, r.Replica, r.Last, r.View))
	if err != nil {
		return nil, false, fmt.Errorf("%w: replica %d", ErrUndecryptable, r.Replica)
	}
	var res spec.ReadResults
	if err := spec.Decode(pt, &res, spec.MaxBodyBytes(spec.KindReadReply)); err != nil || len(res.Results) != p.n {
		return nil, false, fmt.Errorf("%w: replica %d sealed malformed results", ErrMalformedReply, r.Replica)
	}
	p.voted |= 1 << r.Replica
	key := string(spec.U64(r.Last)) + string(pt)
	p.byValue[key] |= 1 << r.Replica
	if p.decided == nil && uint64(bits.OnesCount64(p.byValue[key])) >= 2*s.cfg.F+1 {
		p.decided = res.Results
	}
	return p.decided, p.decided != nil, nil
}

// Hopeless reports that no answer can reach 2f+1 any more: too few replicas are left
// to complete the largest group of equal answers.
func (p *PendingRead) Hopeless() bool {
	best := 0
	for _, v := range p.byValue {
		best = max(best, bits.OnesCount64(v))
	}
	left := int(p.s.cfg.N) - bits.OnesCount64(p.voted)
	return p.decided == nil && best+left < int(2*p.s.cfg.F+1)
}

// FastRead sends the read-only operations ops as one READ and waits up to wait for
// 2f+1 equal answers at one sequence number (SPEC.md §16.6). ok is false when they
// did not come (answers at different states, replicas down, or the wait ran out):
// the caller then orders the operations instead. It returns ErrNoFastRead when the
// transport cannot send READs.
func (c *Client) FastRead(ctx context.Context, ops [][]byte, wait time.Duration) (res []spec.Result, ok bool, err error) {
	rs, can := c.t.(ReadSender)
	if !can {
		return nil, false, ErrNoFastRead
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	p, raw, err := c.s.NewRead(ops)
	if err != nil {
		return nil, false, err
	}
	if err := rs.SendRead(raw); err != nil {
		return nil, false, fmt.Errorf("client: send read: %w", err)
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil, false, ctx.Err()
		case <-timer.C:
			return nil, false, nil
		case rep, open := <-c.t.Replies():
			if !open {
				return nil, false, ErrClosed
			}
			res, done, err := p.Handle(rep)
			switch {
			case err != nil:
				c.rejected.Add(1)
			case done:
				return res, true, nil
			case p.Hopeless():
				return nil, false, nil
			}
		}
	}
}
