package spec

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
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
	body := Encode(f)
	if len(body) > MaxFrameBytes {
		return fmt.Errorf("%w: %d bytes", ErrFrameTooLarge, len(body))
	}
	buf := make([]byte, 4, 4+len(body))
	binary.BigEndian.PutUint32(buf, uint32(len(body)))
	_, err := w.Write(append(buf, body...))
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
	// Grow with the bytes actually received, so a lying length costs no memory.
	body, err := io.ReadAll(io.LimitReader(r, int64(n)))
	if err != nil {
		return nil, err
	}
	if len(body) < int(n) {
		return nil, io.ErrUnexpectedEOF
	}
	var f Frame
	if err := Decode(body, &f, MaxFrameBytes); err != nil {
		return nil, err
	}
	return &f, nil
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
