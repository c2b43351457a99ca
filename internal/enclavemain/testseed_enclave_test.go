//go:build enclave

package enclavemain

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/splitbft/splitbft/spec"
)

// An enclave build has no -test-seed flag (SPEC.md Appendix A).
func TestEnclaveBuildRefusesTestSeed(t *testing.T) {
	code, frames, stderr := run(t, "-test-seed", "7")
	if code != 2 || len(frames) != 0 || !strings.Contains(stderr, "flag provided but not defined: -test-seed") {
		t.Fatalf("exit %d, %d frames, stderr %q; want exit 2, no frames, an unknown-flag error", code, len(frames), stderr)
	}
}

// Outside an enclave an enclave build serves with real randomness and dev-insecure
// evidence, and warns once that it is not inside an enclave.
func TestEnclaveBuildOutsideEnclave(t *testing.T) {
	code, frames, stderr := run(t)
	if code != 0 || len(frames) != 2 || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, "not inside an enclave") {
		t.Fatalf("exit %d, %d frames, stderr %q", code, len(frames), stderr)
	}
	stream := make([]byte, 16)
	io.ReadFull(spec.TestStream("enclave", 0), stream)
	if bytes.Equal(frames[0].Body, stream) {
		t.Errorf("randomness %x is the test stream", frames[0].Body)
	}
}
