package spec

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
)

// This file is the frame codec of the process boundary (SPEC.md §7.5): each frame is
// a 4-byte big-endian length followed by that many bytes of enc(Frame{Op, Body}),
// the length at most MaxFrameBytes.

// ErrFrameTooLarge is returned by ReadFrame and WriteFrame for a frame whose length
// exceeds MaxFrameBytes. A reader that meets it must close the stream (§7.5): the
// stream cannot be resynchronised.
var ErrFrameTooLarge = errors.New("spec: frame exceeds MaxFrameBytes")

// WriteFrame writes f as one frame in a single Write call. It fails, writing nothing,
// if the encoding is longer than MaxFrameBytes.
func WriteFrame(w io.Writer, f *Frame) error {
	buf := AppendKindBody(make([]byte, 4, 4+20+len(f.Body)), f.Op, f.Body) // enc(Frame), as Encode gives it
	if n := len(buf) - 4; n > MaxFrameBytes {
		return fmt.Errorf("%w: %d bytes", ErrFrameTooLarge, n)
	}
	binary.BigEndian.PutUint32(buf, uint32(len(buf)-4))
	_, err := w.Write(buf)
	return err
}

// ReadFrame reads one frame. It returns io.EOF at a clean end of stream (no byte of a
// new frame read), io.ErrUnexpectedEOF for a truncated frame, an error wrapping
// ErrFrameTooLarge for a length over MaxFrameBytes (checked before any allocation),
// and an error wrapping ErrMalformed for a complete frame whose bytes fail the strict
// decoding of §2.3; after the last, the stream is still in step and reading may go on.
func ReadFrame(r io.Reader) (*Frame, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if uint64(n) > MaxFrameBytes {
		return nil, fmt.Errorf("%w: length %d", ErrFrameTooLarge, n)
	}
	body, err := readFrameBody(r, int(n))
	if err != nil {
		return nil, err
	}
	return decodeFrame(body)
}

// frameEager is how much of a frame body readFrameBody allocates before any of it
// arrives.
const frameEager = 64 << 10

// readFrameBody reads exactly n bytes. It allocates up to frameEager at once, then at
// most doubles as the bytes arrive, so a lying length costs memory only in proportion
// to what was sent, and a frame of up to frameEager bytes takes one allocation and, on
// a buffered reader, one read.
func readFrameBody(r io.Reader, n int) ([]byte, error) {
	buf := make([]byte, 0, min(n, frameEager))
	for len(buf) < n {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, min(n, 2*cap(buf))-len(buf))
		}
		got, err := io.ReadFull(r, buf[len(buf):min(n, cap(buf))])
		buf = buf[:len(buf)+got]
		if err == io.EOF {
			err = io.ErrUnexpectedEOF // the length prefix was read: the frame is truncated
		}
		if err != nil {
			return nil, err
		}
	}
	return buf, nil
}

// decodeFrame decodes enc(Frame{Op, Body}) under the strict rules of §2.3 without a
// general decoder (KindBodyRaw). That is every input Decode accepts as a Frame, and only
// those (FuzzDecodeFrame checks it against Decode). Body is a sub-slice of data, not a
// copy.
func decodeFrame(data []byte) (*Frame, error) {
	op, body, err := KindBodyRaw(data, MaxFrameBytes)
	if err != nil {
		return nil, err
	}
	return &Frame{Op: op, Body: body}, nil
}

// KindBodyRaw decodes the canonical encoding of a two-field struct [Kind uint, Body
// bstr] (an Input, a Frame, the broker's PeerMsg) under the strict rules of §2.3: at
// most maxBytes long, an array head of 2, an unsigned integer and a byte string, each
// head in its shortest form, the string ending the input. It accepts exactly what
// Decode accepts for such a struct. body is a sub-slice of data, not a copy: the
// caller must not modify data while body is in use.
func KindBodyRaw(data []byte, maxBytes int) (kind uint64, body []byte, err error) {
	if len(data) > maxBytes {
		return 0, nil, fmt.Errorf("%w: %d bytes exceeds cap %d", ErrMalformed, len(data), maxBytes)
	}
	if len(data) == 0 || data[0] != 0x82 {
		return 0, nil, fmt.Errorf("%w: not an array of 2", ErrMalformed)
	}
	kind, pos, err := canonicalHead(data, 1, 0)
	if err != nil {
		return 0, nil, err
	}
	n, pos, err := canonicalHead(data, pos, 2)
	if err != nil {
		return 0, nil, err
	}
	if n != uint64(len(data)-pos) {
		return 0, nil, fmt.Errorf("%w: body of %d bytes in %d", ErrMalformed, n, len(data)-pos)
	}
	return kind, data[pos:], nil
}

// canonicalHead decodes the head at pos, which must be of the given major type and in
// its shortest form, and returns its argument and the offset after it.
func canonicalHead(b []byte, pos int, major byte) (uint64, int, error) {
	if pos >= len(b) || b[pos]>>5 != major {
		return 0, 0, fmt.Errorf("%w: want major type %d at offset %d", ErrMalformed, major, pos)
	}
	n, next, err := head(b, pos)
	if err != nil {
		return 0, 0, err
	}
	if next-pos != headSize(n) {
		return 0, 0, fmt.Errorf("%w: not the canonical encoding", ErrMalformed)
	}
	return n, next, nil
}

// headSize is the length of the shortest head with argument n: len(AppendHead(nil, m, n)).
func headSize(n uint64) int {
	switch {
	case n < 24:
		return 1
	case n <= 0xff:
		return 2
	case n <= 0xffff:
		return 3
	case n <= 0xffffffff:
		return 5
	}
	return 9
}

// Serve runs compartment c behind frames (§7.5): it reads frames from r until a clean
// end of stream and answers each on w. An init frame is answered with the enrollment,
// or with error bad-init if Init fails; a step frame with the StepOutput. A frame that
// fails §2.3, or has an operation other than init or step, is answered with error
// malformed. Serve returns nil at a clean end of stream, and an error (after which the
// caller must close the stream) for a frame over the cap, a truncated frame, or a
// failed read or write.
func Serve(r io.Reader, w io.Writer, c Compartment) error {
	for {
		f, err := ReadFrame(r)
		switch {
		case err == io.EOF:
			return nil
		case errors.Is(err, ErrMalformed):
			err = writeFrameError(w, CodeMalformed)
		case err != nil:
			return err
		default:
			err = answer(w, c, f)
		}
		if err != nil {
			return err
		}
	}
}

func answer(w io.Writer, c Compartment, f *Frame) error {
	switch f.Op {
	case FrameInit:
		enr, err := c.Init(f.Body)
		if err != nil {
			return writeFrameError(w, CodeBadInit)
		}
		return WriteFrame(w, &Frame{Op: FrameResult, Body: enr})
	case FrameStep:
		return WriteFrame(w, &Frame{Op: FrameResult, Body: c.Step(f.Body)})
	}
	// SPEC-AMBIGUITY: §7.5 does not say how a frame with an operation other than init
	// or step is answered; it is treated as a frame that fails §2.3 (malformed).
	return writeFrameError(w, CodeMalformed)
}

func writeFrameError(w io.Writer, code uint64) error {
	return WriteFrame(w, &Frame{Op: FrameError, Body: Encode(code)})
}
