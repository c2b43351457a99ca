//go:build !enclave

package enclavemain

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/splitbft/splitbft/spec"
)

func TestTestSeed(t *testing.T) {
	code, frames, stderr := run(t, "-test-seed", "7")
	want := make([]byte, 16)
	io.ReadFull(spec.TestStream("enclave", 7), want)
	if code != 0 || len(frames) != 2 || !bytes.Equal(frames[0].Body, want) || string(frames[1].Body) != "x" {
		t.Fatalf("exit %d, frames %+v; want the stream's first bytes %x", code, frames, want)
	}
	if !strings.Contains(stderr, "PREDICTABLE") || strings.Count(stderr, "\n") != 1 {
		t.Errorf("stderr %q: want exactly one loud warning line", stderr)
	}
}

func TestRealRandomness(t *testing.T) {
	code, frames, stderr := run(t)
	if code != 0 || len(frames) != 2 || stderr != "" {
		t.Fatalf("exit %d, %d frames, stderr %q", code, len(frames), stderr)
	}
	stream := make([]byte, 16)
	io.ReadFull(spec.TestStream("enclave", 0), stream)
	if bytes.Equal(frames[0].Body, stream) || bytes.Equal(frames[0].Body, make([]byte, 16)) {
		t.Errorf("without -test-seed the randomness is %x", frames[0].Body)
	}
}
