package spec

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// TestReadFrameSizes: frames around and far above the eager allocation round-trip,
// and the same frames cut short anywhere in their body give io.ErrUnexpectedEOF.
func TestReadFrameSizes(t *testing.T) {
	for _, n := range []int{0, 1, frameEager - 10, frameEager, frameEager + 1, 3*frameEager + 7, 9 * frameEager} {
		body := bytes.Repeat([]byte{0xab}, n)
		var w bytes.Buffer
		if err := WriteFrame(&w, &Frame{Op: FrameStep, Body: body}); err != nil {
			t.Fatal(err)
		}
		f, err := ReadFrame(bytes.NewReader(w.Bytes()))
		if err != nil || f.Op != FrameStep || !bytes.Equal(f.Body, body) {
			t.Fatalf("%d-byte body: got %v", n, err)
		}
		enc := w.Bytes()
		for _, cut := range []int{5, len(enc) / 2, len(enc) - 1} {
			if cut <= 4 || cut >= len(enc) {
				continue
			}
			if _, err := ReadFrame(bytes.NewReader(enc[:cut])); !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("%d-byte body cut at %d: %v, want io.ErrUnexpectedEOF", n, cut, err)
			}
		}
	}
}

// TestReadFrameBodyGrowsWithData: a length prefix that promises far more than is sent
// costs at most about twice what was sent (plus the eager allocation).
func TestReadFrameBodyGrowsWithData(t *testing.T) {
	sent := 5 * frameEager
	r := &countingReader{r: bytes.NewReader(make([]byte, sent))}
	if _, err := readFrameBody(r, MaxFrameBytes); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("truncated body: %v", err)
	}
	if r.maxAsk > 2*sent+frameEager {
		t.Fatalf("asked to read into %d bytes after %d were sent", r.maxAsk, sent)
	}
}

// countingReader records the largest buffer it was asked to fill.
type countingReader struct {
	r      io.Reader
	maxAsk int
}

func (c *countingReader) Read(p []byte) (int, error) {
	c.maxAsk = max(c.maxAsk, len(p))
	return c.r.Read(p)
}
