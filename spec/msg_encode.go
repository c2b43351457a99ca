package spec

// Encoding of the most frequent protocol messages without the general encoder, the
// counterpart of msg_codec.go's hand decoders. A client encodes every request body to
// sign it, a primary's prep every batch it proposes, every prep and conf the Slot of
// each PRE-PREPARE, PREPARE and COMMIT it signs or checks, and exec the Slot of every
// COMMIT and its replies. Through the general encoder (reflection) these were up to a
// tenth of a primary prep's CPU with sixteen operations per request.
//
// Each function appends exactly what the general encoder under the profile of SPEC §2
// writes for the same value (shortest heads, byte arrays as byte strings of their
// size, nil slices as empty): Encode and EncodeTo use them for the types below, and
// TestHandEncodersMatchGeneral and FuzzHandEncoders compare the two on random and
// decoded values.

// encodeHand appends the canonical encoding of v to dst if v is a non-nil pointer to
// a type with a hand encoder; ok is false otherwise, and dst is returned unchanged.
func encodeHand(dst []byte, v any) (out []byte, ok bool) {
	switch v := v.(type) {
	case *Slot:
		if v != nil {
			return appendSlot(dst, v), true
		}
	case *PrePrepare:
		if v != nil {
			return appendSignedSlot(dst, &v.Body, &v.Sig), true
		}
	case *Prepare:
		if v != nil {
			return appendSignedSlot(dst, &v.Body, &v.Sig), true
		}
	case *Commit:
		if v != nil {
			return appendSignedSlot(dst, &v.Body, &v.Sig), true
		}
	case *RequestBody:
		if v != nil {
			return appendRequestBody(dst, v), true
		}
	case *Request:
		if v != nil {
			return appendRequest(dst, v), true
		}
	case *Batch:
		if v != nil {
			return appendBatch(dst, v), true
		}
	case *Proposal:
		if v != nil {
			dst = AppendHead(dst, 4, 2)
			dst = appendSignedSlot(dst, &v.Header.Body, &v.Header.Sig)
			return appendBatch(dst, &v.Batch), true
		}
	case *CheckpointBody:
		if v != nil {
			return appendCheckpointBody(dst, v), true
		}
	case *Checkpoint:
		if v != nil {
			dst = appendCheckpointBody(AppendHead(dst, 4, 2), &v.Body)
			return appendBytes(dst, v.Sig[:]), true
		}
	case *Reply:
		if v != nil {
			return AppendReply(dst, v), true
		}
	case *Result:
		if v != nil {
			return AppendResult(dst, v), true
		}
	case *ReplyResults:
		if v != nil {
			return AppendResults(dst, v.Results), true
		}
	case *ReadResults:
		if v != nil {
			return AppendResults(dst, v.Results), true
		}
	case *ClientMsg:
		if v != nil {
			dst = AppendHead(AppendHead(AppendHead(dst, 4, 3), 0, v.Kind), 0, v.Client)
			return appendBytes(dst, v.Body), true
		}
	case *KVOp:
		if v != nil {
			return appendKVOp(dst, v), true
		}
	case *Rejection:
		if v != nil {
			dst = AppendHead(dst, 4, 4)
			for _, x := range [...]uint64{v.Index, v.Kind, v.Code, v.Sub} {
				dst = AppendHead(dst, 0, x)
			}
			return dst, true
		}
	case *Status:
		if v != nil {
			return appendStatus(dst, v), true
		}
	}
	return dst, false
}

// encodedSize is an upper bound on the length of v's encoding for the types with a
// hand encoder (so that Encode allocates once), and 0 for the others.
func encodedSize(v any) int {
	switch v := v.(type) {
	case *RequestBody:
		if v != nil {
			return requestBodySize(v)
		}
	case *Request:
		if v != nil {
			return requestBodySize(&v.Body) + 3 + sigLen
		}
	case *Batch:
		if v != nil {
			return batchSize(v)
		}
	case *Proposal:
		if v != nil {
			return 1 + signedSlotSize + batchSize(&v.Batch)
		}
	case *Slot:
		return slotSize
	case *PrePrepare, *Prepare, *Commit:
		return signedSlotSize
	case *CheckpointBody:
		return checkpointBodySize
	case *Rejection:
		return 1 + 4*9
	case *Checkpoint:
		return 1 + checkpointBodySize + 2 + sigLen
	case *Result:
		if v != nil {
			return 1 + 9 + 9 + len(v.Value)
		}
	case *Reply:
		if v != nil {
			return 1 + 4*9 + 2 + nonceLen + 9 + len(v.Ciphertext)
		}
	case *ReplyResults:
		if v != nil {
			return resultsSize(v.Results)
		}
	case *ReadResults:
		if v != nil {
			return resultsSize(v.Results)
		}
	case *ClientMsg:
		if v != nil {
			return 1 + 2*9 + 9 + len(v.Body)
		}
	case *KVOp:
		if v != nil {
			return 1 + 9 + 3*9 + len(v.Key) + len(v.Value) + len(v.Expected) + 1
		}
	case *Status:
		if v != nil {
			return 128 + len(v.NeedBatch)*(2+digestLen)
		}
	}
	return 0 // no hand encoder: the general encoder allocates its own
}

// The sizes of the fixed byte arrays.
const (
	digestLen = len(Digest{})
	nonceLen  = len(Nonce{})
	sigLen    = len(Signature{})
)

// Bounds on the encodings of fixed-shape types: a Slot (a head, three unsigned
// integers and a 32-byte string), a Slot with its signature, a CheckpointBody.
const (
	slotSize           = 1 + 3*9 + 2 + digestLen
	signedSlotSize     = 1 + slotSize + 2 + sigLen
	checkpointBodySize = 1 + 2*9 + 2 + digestLen
)

func requestBodySize(b *RequestBody) int {
	n := 1 + 2*9 + 9
	for i := range b.Ops {
		n += 1 + 2 + nonceLen + 9 + len(b.Ops[i].Ciphertext)
	}
	return n
}

func batchSize(b *Batch) int {
	n := 1 + 9
	for i := range b.Requests {
		n += requestBodySize(&b.Requests[i].Body) + 3 + sigLen
	}
	return n
}

func resultsSize(rs []Result) int {
	n := 1 + 9
	for i := range rs {
		n += 1 + 2*9 + len(rs[i].Value)
	}
	return n
}

// appendBytes appends a byte string; also a fixed-size byte array (a Digest, Nonce or
// Signature), which the profile encodes as a byte string of its size.
func appendBytes(dst, b []byte) []byte {
	return append(AppendHead(dst, 2, uint64(len(b))), b...)
}

func appendSlot(dst []byte, s *Slot) []byte {
	dst = AppendHead(AppendHead(AppendHead(dst, 4, 4), 0, s.View), 0, s.Seq)
	return AppendHead(appendBytes(dst, s.Digest[:]), 0, s.Replica)
}

func appendSignedSlot(dst []byte, s *Slot, sig *Signature) []byte {
	return appendBytes(appendSlot(AppendHead(dst, 4, 2), s), sig[:])
}

func appendRequestBody(dst []byte, b *RequestBody) []byte {
	dst = AppendHead(AppendHead(AppendHead(dst, 4, 3), 0, b.Client), 0, b.Timestamp)
	dst = AppendHead(dst, 4, uint64(len(b.Ops)))
	for i := range b.Ops {
		op := &b.Ops[i]
		dst = appendBytes(appendBytes(AppendHead(dst, 4, 2), op.Nonce[:]), op.Ciphertext)
	}
	return dst
}

func appendRequest(dst []byte, q *Request) []byte {
	return appendBytes(appendRequestBody(AppendHead(dst, 4, 2), &q.Body), q.Sig[:])
}

func appendBatch(dst []byte, b *Batch) []byte {
	dst = AppendHead(AppendHead(dst, 4, 1), 4, uint64(len(b.Requests)))
	for i := range b.Requests {
		dst = appendRequest(dst, &b.Requests[i])
	}
	return dst
}

func appendCheckpointBody(dst []byte, b *CheckpointBody) []byte {
	dst = AppendHead(AppendHead(dst, 4, 3), 0, b.Seq)
	return AppendHead(appendBytes(dst, b.State[:]), 0, b.Replica)
}

func appendBool(dst []byte, b bool) []byte {
	if b {
		return append(dst, 0xf5)
	}
	return append(dst, 0xf4)
}

func appendKVOp(dst []byte, o *KVOp) []byte {
	dst = AppendHead(AppendHead(dst, 4, 5), 0, o.Op)
	dst = appendBytes(appendBytes(appendBytes(dst, o.Key), o.Value), o.Expected)
	return appendBool(dst, o.Absent)
}

func appendStatus(dst []byte, s *Status) []byte {
	dst = AppendHead(AppendHead(AppendHead(dst, 4, 9), 0, s.Role), 0, s.Replica)
	dst = AppendHead(appendBool(dst, s.Configured), 0, s.View)
	dst = AppendHead(AppendHead(appendBool(dst, s.ViewActive), 0, s.Stable), 0, s.Last)
	dst = AppendHead(appendBool(dst, s.NeedState), 4, uint64(len(s.NeedBatch)))
	for i := range s.NeedBatch {
		dst = appendBytes(dst, s.NeedBatch[i][:])
	}
	return dst
}
