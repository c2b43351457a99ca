package spec

import (
	"crypto/sha256"
	"encoding/binary"
	"io"
)

// TestStream returns the conformance test stream of SPEC.md Appendix A: the
// concatenation of the 32-byte blocks
//
//	SHA-256("splitbft/v1/test-stream" || 0x00 || label || 0x00 || u64(seed) || u64(i))
//
// for i = 0, 1, 2, …. Its reads never fail. It is predictable by design: a
// compartment draws its keys from TestStream("enclave", seed) only under test
// (process mode with -test-seed, or the conformance suite), never in a deployment.
func TestStream(label string, seed uint64) io.Reader {
	return &testStream{label: label, seed: seed}
}

type testStream struct {
	label string
	seed  uint64
	next  uint64 // index i of the next block to generate
	buf   []byte // unread bytes of block next-1
}

func (s *testStream) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if len(s.buf) == 0 {
			s.buf = s.block(s.next)
			s.next++
		}
		c := copy(p[n:], s.buf)
		s.buf = s.buf[c:]
		n += c
	}
	return n, nil
}

func (s *testStream) block(i uint64) []byte {
	h := sha256.New()
	h.Write([]byte("splitbft/v1/test-stream\x00" + s.label + "\x00"))
	var ctr [16]byte
	binary.BigEndian.PutUint64(ctr[:8], s.seed)
	binary.BigEndian.PutUint64(ctr[8:], i)
	h.Write(ctr[:])
	return h.Sum(nil)
}
