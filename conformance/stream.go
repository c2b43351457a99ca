package conformance

import (
	"io"

	"github.com/splitbft/splitbft/spec"
)

// Stream returns the deterministic randomness stream of the conformance suite
// (SPEC.md appendix A), spec.TestStream(label, seed): the concatenation of the blocks
// SHA-256("splitbft/v1/test-stream" || 0x00 || label || 0x00 || u64(seed) || u64(i))
// for i = 0, 1, 2, …. A compartment under test draws its randomness from
// Stream("enclave", seed), so that a vector fixes its keys and nonces.
func Stream(label string, seed uint64) io.Reader {
	return &stream{r: spec.TestStream(label, seed), label: label, seed: seed}
}

// stream remembers its label and seed, so that StreamSeed can hand them to a
// compartment running in another process.
type stream struct {
	r     io.Reader
	label string
	seed  uint64
	used  bool // some bytes have been read
}

func (s *stream) Read(p []byte) (int, error) {
	s.used = s.used || len(p) > 0
	return s.r.Read(p)
}

// StreamSeed reports the seed of r if r is an unread Stream("enclave", seed): then a
// compartment started in process mode with that seed (-test-seed) draws exactly the
// bytes r would have given. Otherwise ok is false.
func StreamSeed(r io.Reader) (seed uint64, ok bool) {
	s, isStream := r.(*stream)
	if !isStream || s.used || s.label != "enclave" {
		return 0, false
	}
	return s.seed, true
}
