package client

import (
	"crypto/ed25519"
	"fmt"
	"io"
	"math"

	"github.com/splitbft/splitbft/spec"
)

// aeadOverhead is the Poly1305 tag length: a sealed op is its plaintext plus 16 bytes.
const aeadOverhead = 16

// Prepare builds a signed REQUEST for the operation plaintexts ops (kv-v1: enc(KVOp)
// each), sealed per SPEC.md §12.2, and makes it the outstanding request. Operation i
// gets timestamp ts+i; timestamps strictly increase across requests. It fails with
// ErrOutstanding while another request is outstanding, and checks the request against
// the configuration's limits (rules R2–R4) so that a correct cluster accepts it. On
// error the session is unchanged.
func (s *Session) Prepare(ops [][]byte) (req []byte, ts uint64, err error) {
	if s.out != nil {
		return nil, 0, ErrOutstanding
	}
	if len(ops) == 0 || uint64(len(ops)) > s.cfg.MaxRequestOps {
		return nil, 0, fmt.Errorf("%w: %d ops, limit %d", ErrOpCount, len(ops), s.cfg.MaxRequestOps)
	}
	for i, op := range ops {
		if len(op) == 0 || uint64(len(op))+aeadOverhead > s.cfg.MaxOpBytes {
			return nil, 0, fmt.Errorf("%w: op %d has %d bytes, sealed limit %d", ErrOpSize, i, len(op), s.cfg.MaxOpBytes)
		}
	}
	ts = s.next
	if ts == 0 || ts-1 > math.MaxUint64-uint64(len(ops)) { // R4: ts + len(ops) − 1 ≤ 2^64 − 1
		return nil, 0, ErrTimestampExhausted
	}
	req, err = s.build(ops, ts)
	if err != nil {
		return nil, 0, err
	}
	s.next = ts + uint64(len(ops)) // 0 (wrapped) once the last timestamp is used: exhausted
	plain := make([][]byte, len(ops))
	for i := range ops {
		plain[i] = append([]byte(nil), ops[i]...)
	}
	s.out = &outstanding{req: req, ts: ts, plain: plain}
	return req, ts, nil
}

// build seals ops (timestamps ts, ts+1, …) and signs the request under the session's
// configuration digest.
func (s *Session) build(ops [][]byte, ts uint64) ([]byte, error) {
	body := spec.RequestBody{Client: s.id.ID, Timestamp: ts, Ops: make([]spec.SealedOp, len(ops))}
	for i, op := range ops {
		o := &body.Ops[i]
		if _, err := io.ReadFull(s.rand, o.Nonce[:]); err != nil {
			return nil, fmt.Errorf("client: reading nonce: %w", err)
		}
		s.ad = spec.AppendAD(s.ad[:0], spec.LabelRequestAD, s.cd, s.id.ID, ts+uint64(i))
		o.Ciphertext = s.reqAEAD.get(s.reqKey).Seal(nil, o.Nonce[:], op, s.ad)
	}
	s.signBuf.Reset()
	at := spec.EncodeSignedBytes(&s.signBuf, spec.DomainRequest, s.cd, &body)
	signed := s.signBuf.Bytes()
	var sig spec.Signature
	copy(sig[:], ed25519.Sign(s.sign, signed))
	return spec.EncodeSignedRaw(signed[at:], &sig), nil
}
