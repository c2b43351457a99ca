package conformance

import (
	"crypto/sha256"
	"encoding/binary"
	"io"
)

// Stream returns the deterministic randomness stream of the conformance suite
// (SPEC.md appendix A): the concatenation of the blocks
// SHA-256("splitbft/v1/test-stream" || 0x00 || label || 0x00 || u64(seed) || u64(i))
// for i = 0, 1, 2, …. A compartment under test draws its randomness from
// Stream("enclave", seed), so that a vector fixes its keys and nonces.
func Stream(label string, seed uint64) io.Reader {
	return &stream{label: label, seed: seed}
}

type stream struct {
	label string
	seed  uint64
	ctr   uint64
	buf   []byte
}

func (s *stream) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if len(s.buf) == 0 {
			s.refill()
		}
		c := copy(p[n:], s.buf)
		s.buf = s.buf[c:]
		n += c
	}
	return n, nil
}

func (s *stream) refill() {
	h := sha256.New()
	h.Write([]byte("splitbft/v1/test-stream"))
	h.Write([]byte{0})
	h.Write([]byte(s.label))
	h.Write([]byte{0})
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], s.seed)
	binary.BigEndian.PutUint64(b[8:], s.ctr)
	h.Write(b[:])
	s.ctr++
	s.buf = h.Sum(nil)
}
