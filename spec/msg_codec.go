package spec

import "fmt"

// Decoding of the most frequent protocol messages without the general decoder, in the
// manner of step_codec.go: REQUEST, the batches and proposals that carry requests,
// PRE-PREPARE, PREPARE, COMMIT, REPLY and the ReplyResults sealed in it (and the
// ReadResults of a READ-REPLY, of the same shape), the Status and Rejections that
// Step outputs carry, the client port's ClientMsg frames, and the kv-v1 operations
// exec opens from every request. Each accepts exactly
// the canonical encodings of its type's values (every head the shortest, a fixed-size
// byte array exactly its size, exact field counts), which is what Decode's general path
// with its round-trip gate accepts; TestHandDecodersMatchGeneral and FuzzHandDecoders
// compare them.

// fixed reads a byte string of exactly len(dst) bytes into dst (a Digest, Nonce or
// Signature: the general decoder pads or truncates other lengths, and the round-trip
// gate then rejects them).
func (c *cursor) fixed(dst []byte) error {
	n, next, err := canonicalHead(c.b, c.pos, 2)
	if err != nil {
		return err
	}
	if n != uint64(len(dst)) || n > uint64(len(c.b)-next) {
		return fmt.Errorf("%w: byte string of %d bytes at offset %d, want %d", ErrMalformed, n, c.pos, len(dst))
	}
	c.pos = next + copy(dst, c.b[next:next+int(n)])
	return nil
}

// uints reads unsigned integers into the given fields, in order.
func (c *cursor) uints(dst ...*uint64) error {
	for _, p := range dst {
		v, err := c.uint()
		if err != nil {
			return err
		}
		*p = v
	}
	return nil
}

// slot reads a Slot.
func (c *cursor) slot(s *Slot) error {
	if err := c.fields(4); err != nil {
		return err
	}
	if err := c.uints(&s.View, &s.Seq); err != nil {
		return err
	}
	if err := c.fixed(s.Digest[:]); err != nil {
		return err
	}
	return c.uints(&s.Replica)
}

// signedSlot reads a [Slot, Signature] message: a PrePrepare, Prepare or Commit.
func (c *cursor) signedSlot(s *Slot, sig *Signature) error {
	if err := c.fields(2); err != nil {
		return err
	}
	if err := c.slot(s); err != nil {
		return err
	}
	return c.fixed(sig[:])
}

// request reads a Request.
func (c *cursor) request(q *Request) error {
	if err := c.fields(2); err != nil {
		return err
	}
	if err := c.fields(3); err != nil {
		return err
	}
	if err := c.uints(&q.Body.Client, &q.Body.Timestamp); err != nil {
		return err
	}
	n, err := c.arrayOf(minSealedOpBytes)
	if err != nil {
		return err
	}
	q.Body.Ops = make([]SealedOp, n)
	for i := range q.Body.Ops {
		op := &q.Body.Ops[i]
		if err := c.fields(2); err != nil {
			return err
		}
		if err := c.fixed(op.Nonce[:]); err != nil {
			return err
		}
		if op.Ciphertext, err = c.bytes(); err != nil {
			return err
		}
	}
	return c.fixed(q.Sig[:])
}

// batch reads a Batch.
func (c *cursor) batch(b *Batch) error {
	if err := c.fields(1); err != nil {
		return err
	}
	n, err := c.arrayOf(minRequestBytes)
	if err != nil {
		return err
	}
	b.Requests = make([]Request, n)
	for i := range b.Requests {
		if err := c.request(&b.Requests[i]); err != nil {
			return err
		}
	}
	return nil
}

// proposal reads a Proposal.
func (c *cursor) proposal(p *Proposal) error {
	if err := c.fields(2); err != nil {
		return err
	}
	if err := c.signedSlot(&p.Header.Body, &p.Header.Sig); err != nil {
		return err
	}
	return c.batch(&p.Batch)
}

// reply reads a Reply.
func (c *cursor) reply(r *Reply) error {
	if err := c.fields(6); err != nil {
		return err
	}
	if err := c.uints(&r.Client, &r.Timestamp, &r.Replica, &r.View); err != nil {
		return err
	}
	if err := c.fixed(r.Nonce[:]); err != nil {
		return err
	}
	var err error
	r.Ciphertext, err = c.bytes()
	return err
}

// clientMsg reads a ClientMsg.
func (c *cursor) clientMsg(m *ClientMsg) error {
	if err := c.fields(3); err != nil {
		return err
	}
	if err := c.uints(&m.Kind, &m.Client); err != nil {
		return err
	}
	var err error
	m.Body, err = c.bytes()
	return err
}

// kvOp reads a KVOp.
func (c *cursor) kvOp(o *KVOp) error {
	if err := c.fields(5); err != nil {
		return err
	}
	if err := c.uints(&o.Op); err != nil {
		return err
	}
	for _, b := range []*[]byte{&o.Key, &o.Value, &o.Expected} {
		v, err := c.bytes()
		if err != nil {
			return err
		}
		*b = v
	}
	var err error
	o.Absent, err = c.boolean()
	return err
}

// DecodeReplyHeader returns the Client and Timestamp of an encoded REPLY after checking
// only what precedes them (a six-field array, two canonical unsigned integers), for a
// broker that routes exec's replies (SPEC §13.3) without opening or checking the rest,
// which the client decodes strictly. Whatever Decode accepts as a Reply, it accepts
// with the same two values.
func DecodeReplyHeader(data []byte) (client, timestamp uint64, err error) {
	if len(data) > MaxBodyBytes(KindReply) {
		return 0, 0, fmt.Errorf("%w: %d bytes exceeds cap %d", ErrMalformed, len(data), MaxBodyBytes(KindReply))
	}
	c := cursor{b: data}
	if err := c.fields(6); err != nil {
		return 0, 0, err
	}
	err = c.uints(&client, &timestamp)
	return client, timestamp, err
}

// result reads a Result.
func (c *cursor) result(r *Result) error {
	if err := c.fields(2); err != nil {
		return err
	}
	if err := c.uints(&r.Status); err != nil {
		return err
	}
	var err error
	r.Value, err = c.bytes()
	return err
}

// results reads a ReplyResults or ReadResults: a one-field array holding an array of
// Results.
func (c *cursor) results(dst *[]Result) error {
	if err := c.fields(1); err != nil {
		return err
	}
	n, err := c.arrayOf(minResultBytes)
	if err != nil {
		return err
	}
	rs := make([]Result, n)
	for i := range rs {
		if err := c.result(&rs[i]); err != nil {
			return err
		}
	}
	*dst = rs
	return nil
}

// boolean reads a CBOR false or true (simple values 20 and 21 in their one-byte form).
func (c *cursor) boolean() (bool, error) {
	if c.pos >= len(c.b) || c.b[c.pos]&^1 != 0xf4 {
		return false, fmt.Errorf("%w: no boolean at offset %d", ErrMalformed, c.pos)
	}
	c.pos++
	return c.b[c.pos-1] == 0xf5, nil
}

// status reads a Status, the last output of every Step.
func (c *cursor) status(s *Status) error {
	if err := c.fields(9); err != nil {
		return err
	}
	var err error
	if err = c.uints(&s.Role, &s.Replica); err != nil {
		return err
	}
	if s.Configured, err = c.boolean(); err != nil {
		return err
	}
	if err = c.uints(&s.View); err != nil {
		return err
	}
	if s.ViewActive, err = c.boolean(); err != nil {
		return err
	}
	if err = c.uints(&s.Stable, &s.Last); err != nil {
		return err
	}
	if s.NeedState, err = c.boolean(); err != nil {
		return err
	}
	n, err := c.arrayOf(minDigestBytes)
	if err != nil {
		return err
	}
	s.NeedBatch = make([]Digest, n)
	for i := range s.NeedBatch {
		if err := c.fixed(s.NeedBatch[i][:]); err != nil {
			return err
		}
	}
	return nil
}

// rejection reads a Rejection.
func (c *cursor) rejection(r *Rejection) error {
	if err := c.fields(4); err != nil {
		return err
	}
	return c.uints(&r.Index, &r.Kind, &r.Code, &r.Sub)
}

// decodeHand decodes data into v if v is a non-nil pointer to a type with a hand
// decoder; handled is false otherwise (a nil pointer is left to the general decoder,
// which rejects it). Its checks are Decode's, after the size and top-level checks.
func decodeHand(data []byte, v any, share bool) (handled bool, err error) {
	c := cursor{b: data, share: share}
	switch v := v.(type) {
	case *StepInput:
		if v != nil {
			return true, decodeStepInput(data, v, share)
		}
	case *StepOutput:
		if v != nil {
			return true, decodeStepOutput(data, v, share)
		}
	case *Request:
		if v != nil {
			return true, c.whole(c.request(v))
		}
	case *Batch:
		if v != nil {
			return true, c.whole(c.batch(v))
		}
	case *Proposal:
		if v != nil {
			return true, c.whole(c.proposal(v))
		}
	case *PrePrepare:
		if v != nil {
			return true, c.whole(c.signedSlot(&v.Body, &v.Sig))
		}
	case *Prepare:
		if v != nil {
			return true, c.whole(c.signedSlot(&v.Body, &v.Sig))
		}
	case *Commit:
		if v != nil {
			return true, c.whole(c.signedSlot(&v.Body, &v.Sig))
		}
	case *Reply:
		if v != nil {
			return true, c.whole(c.reply(v))
		}
	case *ClientMsg:
		if v != nil {
			return true, c.whole(c.clientMsg(v))
		}
	case *KVOp:
		if v != nil {
			return true, c.whole(c.kvOp(v))
		}
	case *Result:
		if v != nil {
			return true, c.whole(c.result(v))
		}
	case *ReplyResults:
		if v != nil {
			return true, c.whole(c.results(&v.Results))
		}
	case *ReadResults:
		if v != nil {
			return true, c.whole(c.results(&v.Results))
		}
	case *Status:
		if v != nil {
			return true, c.whole(c.status(v))
		}
	case *Rejection:
		if v != nil {
			return true, c.whole(c.rejection(v))
		}
	}
	return false, nil
}

// whole returns err, or, if the item was read without error, end's check that
// nothing follows it.
func (c *cursor) whole(err error) error {
	if err != nil {
		return err
	}
	return c.end()
}
