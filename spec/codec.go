package spec

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"

	"github.com/fxamacker/cbor/v2"
)

// The CBOR profile of SPEC.md §2: Core Deterministic Encoding, no tags, nil containers
// as empty, and a strict decoder whose every accepted input re-encodes to itself.

var (
	encMode cbor.UserBufferEncMode
	decMode cbor.DecMode
)

// gateBufs holds the buffers the round-trip gate re-encodes into, so that the gate
// allocates nothing per decode; buffers over gateBufMax are not kept.
var gateBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

const gateBufMax = 1 << 20

// canonical reports whether v re-encodes to exactly data: the round-trip gate of
// SPEC.md §2.3, rule 6.
func canonical(v any, data []byte) bool {
	buf := gateBufs.Get().(*bytes.Buffer)
	buf.Reset()
	err := encMode.MarshalToBuffer(v, buf)
	ok := err == nil && bytes.Equal(buf.Bytes(), data)
	if buf.Cap() <= gateBufMax {
		gateBufs.Put(buf)
	}
	return ok
}

func init() {
	eo := cbor.CoreDetEncOptions()
	eo.TagsMd = cbor.TagsForbidden
	eo.NilContainers = cbor.NilContainerAsEmpty
	eo.Time = cbor.TimeUnix
	var err error
	if encMode, err = eo.UserBufferEncMode(); err != nil {
		panic(err)
	}
	do := cbor.DecOptions{
		DupMapKey:         cbor.DupMapKeyEnforcedAPF,
		IndefLength:       cbor.IndefLengthForbidden,
		TagsMd:            cbor.TagsForbidden,
		MaxNestedLevels:   MaxNesting,
		MaxArrayElements:  MaxArrayElements,
		MaxMapPairs:       16,
		ExtraReturnErrors: cbor.ExtraDecErrorUnknownField,
		UTF8:              cbor.UTF8RejectInvalid,
	}
	if decMode, err = do.DecMode(); err != nil {
		panic(err)
	}
}

// ErrMalformed is wrapped by every decoding error: the input is not the canonical
// encoding of a value of the expected type, or exceeds its size cap.
var ErrMalformed = errors.New("spec: malformed")

// Encode returns the canonical encoding of v, which must be one of this package's
// types. It panics if v cannot be encoded, which is a programming error.
func Encode(v any) []byte {
	if b, ok := encodeHand(make([]byte, 0, encodedSize(v)), v); ok {
		return b
	}
	b, err := encMode.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("spec: encode %T: %v", v, err))
	}
	return b
}

// EncodeTo appends the canonical encoding of v (as Encode) to buf, so that a caller
// can reuse one buffer. It panics if v cannot be encoded, a programming error.
func EncodeTo(buf *bytes.Buffer, v any) {
	buf.Grow(encodedSize(v))
	if b, ok := encodeHand(buf.AvailableBuffer(), v); ok {
		buf.Write(b)
		return
	}
	if err := encMode.MarshalToBuffer(v, buf); err != nil {
		panic(fmt.Sprintf("spec: encode %T: %v", v, err))
	}
}

// Decode decodes data into v (a pointer to one of this package's types) under the
// strict profile: at most maxBytes long, well formed, no trailing bytes, no tags, no
// indefinite lengths, and byte-identical when re-encoded (the round-trip gate). On
// error, *v is left in an unspecified state and must not be used.
func Decode(data []byte, v any, maxBytes int) error { return decode(data, v, maxBytes, false) }

// DecodeShared is Decode, except that the byte strings of a value of a type with a
// hand decoder (StepInput, StepOutput, Request, Batch, Proposal, PrePrepare, Prepare,
// Commit, Reply, ClientMsg, KVOp, Result, ReplyResults, ReadResults, Status,
// Rejection) share data's memory instead of being copied: each is a sub-slice of data
// with no spare capacity, so an append copies, and the value keeps all of data alive.
// (Fixed-size fields, Digest, Nonce, Signature, are arrays and always copied.)
// It accepts and rejects exactly what Decode does. It is for a caller that never
// changes data while it uses v, such as a broker with the frames it reads from the
// network into fresh buffers; a compartment must not use it on bytes its host could
// still change.
func DecodeShared(data []byte, v any, maxBytes int) error { return decode(data, v, maxBytes, true) }

func decode(data []byte, v any, maxBytes int, share bool) error {
	if len(data) > maxBytes {
		return fmt.Errorf("%w: %d bytes exceeds cap %d", ErrMalformed, len(data), maxBytes)
	}
	if len(data) == 0 || data[0]>>5 != 4 {
		return fmt.Errorf("%w: top level is not a CBOR array", ErrMalformed)
	}
	if handled, err := decodeHand(data, v, share); handled {
		return err
	}
	return decodeGeneric(data, v)
}

// decodeGeneric is Decode after the size and top-level checks, by the general
// decoder and the round-trip gate.
func decodeGeneric(data []byte, v any) error {
	if err := decMode.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if !canonical(v, data) {
		return fmt.Errorf("%w: not the canonical encoding", ErrMalformed)
	}
	return nil
}

// DecodeUint decodes a canonical CBOR unsigned integer (used for FrameError bodies).
func DecodeUint(data []byte) (uint64, error) {
	var v uint64
	if len(data) == 0 || len(data) > 9 || data[0]>>5 != 0 {
		return 0, fmt.Errorf("%w: not an unsigned integer", ErrMalformed)
	}
	if err := decMode.Unmarshal(data, &v); err != nil {
		return 0, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if !bytes.Equal(Encode(v), data) {
		return 0, fmt.Errorf("%w: not the canonical encoding", ErrMalformed)
	}
	return v, nil
}

// MaxBodyBytes returns the size cap of a body of the given kind (SPEC.md §2.4): its
// row of the kind table, or MaxMessageBytes for an unknown kind.
func MaxBodyBytes(kind uint64) int {
	if info, ok := LookupKind(kind); ok {
		return info.MaxBytes
	}
	return MaxMessageBytes
}

// DecodeKind decodes a body of the given kind under its cap, returning a pointer to
// the kind's body type (e.g. *Prepare for KindPrepare, *Batch for KindClientBatch).
func DecodeKind(kind uint64, body []byte) (any, error) { return decodeKind(kind, body, false) }

// DecodeKindShared is DecodeKind by DecodeShared: the value's byte strings share
// body's memory, which the caller must not change while it uses the value.
func DecodeKindShared(kind uint64, body []byte) (any, error) { return decodeKind(kind, body, true) }

func decodeKind(kind uint64, body []byte, share bool) (any, error) {
	info, ok := LookupKind(kind)
	if !ok {
		return nil, fmt.Errorf("%w: unknown kind %d", ErrMalformed, kind)
	}
	v := info.New()
	if err := decode(body, v, info.MaxBytes, share); err != nil {
		return nil, err
	}
	return v, nil
}

// SignedBytes returns the bytes an Ed25519 signature covers (SPEC.md §3.4):
// the domain string, one zero byte, the 32-byte config digest, then the body's
// canonical encoding.
func SignedBytes(domain string, config Digest, body []byte) []byte {
	return AppendSignedBytes(make([]byte, 0, len(domain)+1+32+len(body)), domain, config, body)
}

// AppendSignedBytes appends SignedBytes(domain, config, body) to dst, so that a
// verifier can assemble them in a buffer it reuses.
func AppendSignedBytes(dst []byte, domain string, config Digest, body []byte) []byte {
	dst = append(dst, domain...)
	dst = append(dst, 0)
	dst = append(dst, config[:]...)
	return append(dst, body...)
}

// EncodeSignedBytes writes SignedBytes(domain, config, Encode(body)) into buf (after
// what it holds) and returns the offset in buf.Bytes() at which Encode(body) starts, so
// that a signer encodes the body once, into a buffer it reuses.
func EncodeSignedBytes(buf *bytes.Buffer, domain string, config Digest, body any) int {
	buf.WriteString(domain)
	buf.WriteByte(0)
	buf.Write(config[:])
	at := buf.Len()
	EncodeTo(buf, body)
	return at
}

// Hash returns SHA-256(domain || 0x00 || data).
func Hash(domain string, data []byte) Digest {
	h := sha256.New()
	h.Write([]byte(domain))
	h.Write([]byte{0})
	h.Write(data)
	var d Digest
	h.Sum(d[:0])
	return d
}

// ConfigDigest returns the digest bound into every signature: Hash(DomainConfig, Encode(c)).
func ConfigDigest(c *Config) Digest { return Hash(DomainConfig, Encode(c)) }

// BatchDigest returns Hash(DomainBatch, Encode(b)).
func BatchDigest(b *Batch) Digest { return Hash(DomainBatch, Encode(b)) }

// NullBatchDigest is the digest of the empty batch.
func NullBatchDigest() Digest { return BatchDigest(&Batch{}) }

// EnrollmentDigest returns Hash(DomainEnrollment, Encode(b)): the report data an
// enclave's attestation evidence binds (SPEC.md §7.2).
func EnrollmentDigest(b *EnrollmentBody) Digest { return Hash(DomainEnrollment, Encode(b)) }

// StateDigest returns Hash(DomainState, snapshot): the digest a CHECKPOINT certifies.
func StateDigest(snapshot []byte) Digest { return Hash(DomainState, snapshot) }

// U64 returns the 8-byte big-endian encoding of v, as used in labels and AEAD data.
func U64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }
