package enclavemain

import (
	"bytes"
	"encoding/binary"
	"io"
	"strings"
	"testing"

	"github.com/splitbft/splitbft/spec"
)

// randEcho returns, from Init, 16 bytes read from its randomness source.
type randEcho struct{ rand io.Reader }

func (c *randEcho) Init([]byte) ([]byte, error) {
	b := make([]byte, 16)
	_, err := io.ReadFull(c.rand, b)
	return b, err
}

func (c *randEcho) Step(in []byte) []byte { return in }

func newRandEcho(r io.Reader) spec.Compartment { return &randEcho{rand: r} }

// run runs Run with one init and one step frame on stdin and returns the exit status,
// the decoded answer frames and stderr.
func run(t *testing.T, args ...string) (int, []*spec.Frame, string) {
	t.Helper()
	var in, out, errOut bytes.Buffer
	spec.WriteFrame(&in, &spec.Frame{Op: spec.FrameInit})
	spec.WriteFrame(&in, &spec.Frame{Op: spec.FrameStep, Body: []byte("x")})
	code := Run("prep-x", args, &in, &out, &errOut, newRandEcho)
	var frames []*spec.Frame
	for out.Len() > 0 {
		f, err := spec.ReadFrame(&out)
		if err != nil {
			t.Fatalf("stdout holds something other than frames: %v", err)
		}
		frames = append(frames, f)
	}
	return code, frames, errOut.String()
}

func TestBadArguments(t *testing.T) {
	for _, args := range [][]string{{"-test-seed", "x"}, {"-test-seed", "-1"}, {"extra"}, {"-nope"}} {
		if code, frames, _ := run(t, args...); code != 2 || len(frames) != 0 {
			t.Errorf("%q: exit %d with %d frames, want 2 and none", args, code, len(frames))
		}
	}
}

func TestBrokenStream(t *testing.T) {
	in := binary.BigEndian.AppendUint32(nil, spec.MaxFrameBytes+1)
	var out, errOut bytes.Buffer
	code := Run("prep-x", nil, bytes.NewReader(in), &out, &errOut, newRandEcho)
	if code != 1 || out.Len() != 0 || !strings.Contains(errOut.String(), "MaxFrameBytes") {
		t.Errorf("exit %d, stdout %d bytes, stderr %q", code, out.Len(), errOut.String())
	}
}
