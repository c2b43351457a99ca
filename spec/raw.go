package spec

import (
	"encoding/binary"
	"fmt"
)

// Raw CBOR: splitting and assembling canonical encodings without decoding them
// (SPEC.md §2.3). Because the encoding is canonical, a struct's encoding is its array
// head followed by the exact encodings of its fields, and an array's encoding is its
// head followed by the exact encodings of its elements. So the bytes of a field of a
// value that passed Decode are a sub-slice of the bytes received, and a Batch can be
// assembled from the exact bytes of its requests: the result equals Encode of the
// decoded values, byte for byte.

// ArrayElems returns the encodings of the elements of the one CBOR array that raw
// holds (sub-slices of raw, in order). It checks only the framing (definite lengths,
// no trailing bytes, nesting within MaxNesting), so it is meant for bytes that passed
// Decode, or that this process encoded; it never panics on any input.
func ArrayElems(raw []byte) ([][]byte, error) {
	var out [][]byte
	err := eachElem(raw, func(n, _ int, elem []byte) error {
		if out == nil {
			out = make([][]byte, 0, n)
		}
		out = append(out, elem)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if out == nil {
		out = [][]byte{}
	}
	return out, nil
}

// eachElem calls f with the element count, the index and the encoding of each element
// of the one CBOR array that raw holds (sub-slices of raw, in order), with the checks
// of ArrayElems, and stops at f's first error. It allocates nothing.
func eachElem(raw []byte, f func(n, i int, elem []byte) error) error {
	if len(raw) == 0 || raw[0]>>5 != 4 {
		return fmt.Errorf("%w: not a CBOR array", ErrMalformed)
	}
	n, pos, err := head(raw, 0)
	if err != nil {
		return err
	}
	if n > uint64(len(raw)-pos) {
		return fmt.Errorf("%w: array of %d elements in %d bytes", ErrMalformed, n, len(raw))
	}
	for i := range int(n) {
		end, err := itemEnd(raw, pos, 1)
		if err != nil {
			return err
		}
		if err := f(int(n), i, raw[pos:end]); err != nil {
			return err
		}
		pos = end
	}
	if pos != len(raw) {
		return fmt.Errorf("%w: %d trailing bytes", ErrMalformed, len(raw)-pos)
	}
	return nil
}

// OutputBodiesRaw calls f with the body of every output of the given kind in raw, the
// encoding of a StepOutput, in order, without decoding the other outputs. It checks
// only the framing of what it reads (as ArrayElems) and never panics on any input; a
// caller that acts on a body decodes it with Decode first.
func OutputBodiesRaw(raw []byte, kind uint64, f func(body []byte)) error {
	return eachElem(raw, func(n, _ int, outputs []byte) error {
		if n != 1 {
			return fmt.Errorf("%w: a step output has 1 field, not %d", ErrMalformed, n)
		}
		return eachElem(outputs, func(_, _ int, o []byte) error {
			k, body, err := kindBodyRaw(o)
			if err == nil && k == kind {
				f(body)
			}
			return err
		})
	})
}

// kindBodyRaw returns the kind (first field, an unsigned integer) and the contents of
// the body (last field, a byte string) of an encoded Output.
func kindBodyRaw(o []byte) (kind uint64, body []byte, err error) {
	err = eachElem(o, func(n, i int, fld []byte) error {
		switch {
		case n != 3:
			return fmt.Errorf("%w: an output has 3 fields, not %d", ErrMalformed, n)
		case i == 0 && fld[0]>>5 == 0:
			kind, _, err = head(fld, 0)
		case i == 2 && fld[0]>>5 == 2:
			var pos int
			_, pos, err = head(fld, 0)
			body = fld[pos:]
		case i != 1:
			return fmt.Errorf("%w: output field %d has major type %d", ErrMalformed, i, fld[0]>>5)
		}
		return err
	})
	return kind, body, err
}

// itemEnd returns the offset just past the data item starting at pos.
func itemEnd(b []byte, pos, depth int) (int, error) {
	if depth > MaxNesting {
		return 0, fmt.Errorf("%w: nesting deeper than %d", ErrMalformed, MaxNesting)
	}
	if pos >= len(b) {
		return 0, fmt.Errorf("%w: truncated", ErrMalformed)
	}
	major := b[pos] >> 5
	n, next, err := head(b, pos)
	if err != nil {
		return 0, err
	}
	switch major {
	case 0, 1, 7:
		return next, nil
	case 2, 3:
		if n > uint64(len(b)-next) {
			return 0, fmt.Errorf("%w: truncated string", ErrMalformed)
		}
		return next + int(n), nil
	case 5:
		if n > uint64(len(b)) {
			return 0, fmt.Errorf("%w: map too long", ErrMalformed)
		}
		n *= 2
	case 6:
		n = 1
	}
	if n > uint64(len(b)-next) {
		return 0, fmt.Errorf("%w: container of %d items in %d bytes", ErrMalformed, n, len(b)-next)
	}
	for range n {
		if next, err = itemEnd(b, next, depth+1); err != nil {
			return 0, err
		}
	}
	return next, nil
}

// head decodes the argument of the item head at pos and returns it with the offset
// of what follows the head. Indefinite lengths and reserved values are errors.
func head(b []byte, pos int) (uint64, int, error) {
	ai := b[pos] & 31
	pos++
	size := 0
	switch {
	case ai < 24:
		return uint64(ai), pos, nil
	case ai == 24:
		size = 1
	case ai == 25:
		size = 2
	case ai == 26:
		size = 4
	case ai == 27:
		size = 8
	default:
		return 0, 0, fmt.Errorf("%w: indefinite length or reserved head 0x%02x", ErrMalformed, b[pos-1])
	}
	if len(b)-pos < size {
		return 0, 0, fmt.Errorf("%w: truncated head", ErrMalformed)
	}
	var buf [8]byte
	copy(buf[8-size:], b[pos:pos+size])
	return binary.BigEndian.Uint64(buf[:]), pos + size, nil
}

// AppendHead appends the canonical (shortest) head of an item of the given major type
// (0 unsigned, 2 byte string, 4 array, ...) and argument.
func AppendHead(dst []byte, major byte, n uint64) []byte {
	m := major << 5
	switch {
	case n < 24:
		return append(dst, m|byte(n))
	case n <= 0xff:
		return append(dst, m|24, byte(n))
	case n <= 0xffff:
		return binary.BigEndian.AppendUint16(append(dst, m|25), uint16(n))
	case n <= 0xffffffff:
		return binary.BigEndian.AppendUint32(append(dst, m|26), uint32(n))
	}
	return binary.BigEndian.AppendUint64(append(dst, m|27), n)
}

// EncodeBatchRaw returns enc(Batch{Requests}) assembled from the exact encodings of
// the requests, which must each be the canonical encoding of a Request (for example
// bytes that passed Decode); the result then equals Encode of the decoded batch.
func EncodeBatchRaw(requests [][]byte) []byte {
	size := 10
	for _, q := range requests {
		size += len(q)
	}
	out := AppendHead(make([]byte, 0, size), 4, 1)
	out = AppendHead(out, 4, uint64(len(requests)))
	for _, q := range requests {
		out = append(out, q...)
	}
	return out
}

// BatchRequestsRaw splits the canonical encoding of a Batch into the exact encodings
// of its requests (sub-slices of raw); the inverse of EncodeBatchRaw.
func BatchRequestsRaw(raw []byte) ([][]byte, error) {
	f, err := ArrayElems(raw)
	if err != nil {
		return nil, err
	}
	if len(f) != 1 {
		return nil, fmt.Errorf("%w: a batch has 1 field, not %d", ErrMalformed, len(f))
	}
	return ArrayElems(f[0])
}

// ProposalPartsRaw splits the canonical encoding of a Proposal into the exact
// encodings of its Header (a PrePrepare) and its Batch (sub-slices of raw).
func ProposalPartsRaw(raw []byte) (header, batch []byte, err error) {
	f, err := ArrayElems(raw)
	if err != nil {
		return nil, nil, err
	}
	if len(f) != 2 {
		return nil, nil, fmt.Errorf("%w: a proposal has 2 fields, not %d", ErrMalformed, len(f))
	}
	return f[0], f[1], nil
}

// SignedBodyRaw returns the exact encoding of the first field (the signed Body) of a
// canonically encoded signed message [Body, Sig] such as a Request or a PrePrepare.
func SignedBodyRaw(raw []byte) ([]byte, error) {
	f, err := ArrayElems(raw)
	if err != nil {
		return nil, err
	}
	if len(f) != 2 {
		return nil, fmt.Errorf("%w: a signed message has 2 fields, not %d", ErrMalformed, len(f))
	}
	return f[0], nil
}

// EncodeSignedRaw returns enc([Body, Sig]) of a signed message (a Request, a
// PrePrepare, ...) from the exact canonical encoding of its body; it equals Encode of
// the message.
func EncodeSignedRaw(body []byte, sig *Signature) []byte {
	out := AppendHead(make([]byte, 0, len(body)+3+len(sig)), 4, 2)
	out = append(out, body...)
	return appendBytes(out, sig[:])
}

// AppendKindBody appends enc of a two-field struct [Kind uint, Body bstr] (an Input,
// or the broker's PeerMsg) without copying body through an encoder.
func AppendKindBody(dst []byte, kind uint64, body []byte) []byte {
	dst = AppendHead(dst, 4, 2)
	dst = AppendHead(dst, 0, kind)
	return appendBytes(dst, body)
}

// EncodeStepInput returns enc(StepInput{Inputs: ins}), equal to Encode of it, by
// appending heads and bodies.
func EncodeStepInput(ins []Input) []byte {
	size := 10
	for i := range ins {
		size += len(ins[i].Body) + 20
	}
	out := AppendHead(make([]byte, 0, size), 4, 1)
	out = AppendHead(out, 4, uint64(len(ins)))
	for i := range ins {
		out = AppendKindBody(out, ins[i].Kind, ins[i].Body)
	}
	return out
}

// EncodeStepOutput returns enc(StepOutput{outs}) without the general encoder (exec
// emits one Reply per executed request, hundreds per Step); it equals Encode of the
// same value.
func EncodeStepOutput(outs []Output) []byte {
	size := 10
	for i := range outs {
		size += len(outs[i].Body) + 30 + 9*len(outs[i].To.Replicas)
	}
	out := AppendHead(make([]byte, 0, size), 4, 1)
	out = AppendHead(out, 4, uint64(len(outs)))
	for i := range outs {
		o := &outs[i]
		out = AppendHead(out, 4, 3)
		out = AppendHead(out, 0, o.Kind)
		out = AppendHead(out, 4, 2)
		out = AppendHead(out, 0, o.To.Roles)
		out = AppendHead(out, 4, uint64(len(o.To.Replicas)))
		for _, r := range o.To.Replicas {
			out = AppendHead(out, 0, r)
		}
		out = appendBytes(out, o.Body)
	}
	return out
}

// AppendReply appends enc(r) to dst without the general encoder; it equals Encode.
func AppendReply(dst []byte, r *Reply) []byte {
	dst = AppendHead(dst, 4, 6)
	for _, v := range [...]uint64{r.Client, r.Timestamp, r.Replica, r.View} {
		dst = AppendHead(dst, 0, v)
	}
	return appendBytes(appendBytes(dst, r.Nonce[:]), r.Ciphertext)
}

// AppendResult appends enc(r) to dst without the general encoder; it equals Encode.
func AppendResult(dst []byte, r *Result) []byte {
	dst = AppendHead(AppendHead(dst, 4, 2), 0, r.Status)
	return appendBytes(dst, r.Value)
}

// AppendResults appends enc(ReplyResults{results}) to dst without the general encoder;
// it equals Encode of ReplyResults{Results: results}, and of ReadResults with the same
// Results (the two have one shape).
func AppendResults(dst []byte, results []Result) []byte {
	dst = AppendHead(AppendHead(dst, 4, 1), 4, uint64(len(results)))
	for i := range results {
		dst = AppendResult(dst, &results[i])
	}
	return dst
}
