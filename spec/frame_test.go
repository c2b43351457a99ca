package spec

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"
)

// frameBytes returns the wire form of a frame whose encoding is body.
func frameBytes(body []byte) []byte {
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(body))), body...)
}

func TestFrameRoundTrip(t *testing.T) {
	frames := []Frame{
		{Op: FrameInit, Body: Encode(&InitRequest{Role: RoleConf, Replica: 3})},
		{Op: FrameStep, Body: Encode(&StepInput{})},
		{Op: FrameResult},
		{Op: FrameError, Body: Encode(CodeBadInit)},
	}
	var buf bytes.Buffer
	for i := range frames {
		if err := WriteFrame(&buf, &frames[i]); err != nil {
			t.Fatal(err)
		}
	}
	for i := range frames {
		f, err := ReadFrame(&buf)
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if !bytes.Equal(Encode(f), Encode(&frames[i])) {
			t.Errorf("frame %d: got %+v, want %+v", i, f, frames[i])
		}
	}
	if _, err := ReadFrame(&buf); err != io.EOF {
		t.Errorf("at the end: got %v, want io.EOF", err)
	}
}

func TestReadFrameErrors(t *testing.T) {
	good := Encode(&Frame{Op: FrameStep, Body: []byte{0x80}})
	nonCanonical := []byte{0x82, 0x18, 0x02, 0x40} // Op 2 in a two-byte head
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"clean end", nil, io.EOF},
		{"short header", []byte{0, 0}, io.ErrUnexpectedEOF},
		{"short body", frameBytes(good)[:len(good)], io.ErrUnexpectedEOF},
		{"over cap, no body", binary.BigEndian.AppendUint32(nil, MaxFrameBytes+1), ErrFrameTooLarge},
		{"max length, no body", binary.BigEndian.AppendUint32(nil, MaxFrameBytes), io.ErrUnexpectedEOF},
		{"empty frame", frameBytes(nil), ErrMalformed},
		{"non-canonical", frameBytes(nonCanonical), ErrMalformed},
		{"trailing byte", frameBytes(append(good, 0)), ErrMalformed},
		{"wrong arity", frameBytes([]byte{0x81, 0x02}), ErrMalformed},
	}
	for _, tc := range tests {
		_, err := ReadFrame(bytes.NewReader(tc.in))
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
		}
	}
}

// TestReadFrameResyncs: after a malformed frame the next frame is read correctly.
func TestReadFrameResyncs(t *testing.T) {
	good := Frame{Op: FrameInit, Body: []byte{1}}
	in := append(frameBytes([]byte{0xff}), frameBytes(Encode(&good))...)
	r := bytes.NewReader(in)
	if _, err := ReadFrame(r); !errors.Is(err, ErrMalformed) {
		t.Fatalf("first frame: %v", err)
	}
	f, err := ReadFrame(r)
	if err != nil || f.Op != FrameInit || !bytes.Equal(f.Body, []byte{1}) {
		t.Fatalf("second frame: %+v, %v", f, err)
	}
}

func TestWriteFrameCap(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates 128 MiB")
	}
	// Array head, Op, and a 5-byte byte-string head: 7 bytes around the body.
	for _, tc := range []struct {
		body int
		ok   bool
	}{{MaxFrameBytes - 7, true}, {MaxFrameBytes - 6, false}} {
		var buf bytes.Buffer
		err := WriteFrame(&buf, &Frame{Op: FrameResult, Body: make([]byte, tc.body)})
		if (err == nil) != tc.ok || (!tc.ok && (!errors.Is(err, ErrFrameTooLarge) || buf.Len() != 0)) {
			t.Errorf("body %d: err %v, wrote %d bytes", tc.body, err, buf.Len())
		}
		if tc.ok && buf.Len() != 4+MaxFrameBytes {
			t.Errorf("body %d: wrote %d bytes, want %d", tc.body, buf.Len(), 4+MaxFrameBytes)
		}
	}
}

// echo is a compartment that answers Step with its input and fails a second Init.
type echo struct{ inits int }

func (e *echo) Init(req []byte) ([]byte, error) {
	if e.inits++; e.inits > 1 {
		return nil, errors.New("twice")
	}
	return append([]byte("enr:"), req...), nil
}

func (e *echo) Step(in []byte) []byte { return append([]byte("out:"), in...) }

func TestServe(t *testing.T) {
	var in bytes.Buffer
	for _, f := range []Frame{{Op: FrameInit, Body: []byte("a")}, {Op: FrameInit, Body: []byte("b")},
		{Op: FrameStep, Body: []byte("s")}, {Op: FrameResult}, {Op: 0}} {
		WriteFrame(&in, &f)
	}
	in.Write(frameBytes([]byte{0x82, 0x02})) // truncated array: malformed
	want := []Frame{{Op: FrameResult, Body: []byte("enr:a")}, {Op: FrameError, Body: Encode(CodeBadInit)},
		{Op: FrameResult, Body: []byte("out:s")}, {Op: FrameError, Body: Encode(CodeMalformed)},
		{Op: FrameError, Body: Encode(CodeMalformed)}, {Op: FrameError, Body: Encode(CodeMalformed)}}
	var out bytes.Buffer
	if err := Serve(&in, &out, &echo{}); err != nil {
		t.Fatalf("Serve: %v", err)
	}
	for i := range want {
		f, err := ReadFrame(&out)
		if err != nil || !bytes.Equal(Encode(f), Encode(&want[i])) {
			t.Fatalf("answer %d: got %+v (%v), want %+v", i, f, err, want[i])
		}
	}
	if out.Len() != 0 {
		t.Errorf("%d extra bytes after the answers", out.Len())
	}
}

// TestServeClosesOnBadStream: an over-cap length or a truncated frame ends Serve with
// an error and no answer.
func TestServeClosesOnBadStream(t *testing.T) {
	for name, in := range map[string][]byte{
		"over cap":  binary.BigEndian.AppendUint32(nil, MaxFrameBytes+1),
		"truncated": frameBytes(Encode(&Frame{Op: FrameStep}))[:5],
	} {
		var out bytes.Buffer
		if err := Serve(bytes.NewReader(in), &out, &echo{}); err == nil || out.Len() != 0 {
			t.Errorf("%s: err %v, %d bytes answered", name, err, out.Len())
		}
	}
}

// FuzzServe: any byte stream into Serve never panics, and everything Serve writes is
// a sequence of well-formed answer frames.
func FuzzServe(f *testing.F) {
	var seed bytes.Buffer
	WriteFrame(&seed, &Frame{Op: FrameInit, Body: []byte{1}})
	WriteFrame(&seed, &Frame{Op: FrameStep, Body: []byte{2}})
	f.Add(seed.Bytes())
	f.Add(frameBytes([]byte{0x82, 0x18, 0x02, 0x40}))
	f.Add(binary.BigEndian.AppendUint32(nil, MaxFrameBytes+1))
	f.Fuzz(func(t *testing.T, in []byte) {
		var out bytes.Buffer
		Serve(bytes.NewReader(in), &out, &echo{})
		for out.Len() > 0 {
			fr, err := ReadFrame(&out)
			if err != nil || (fr.Op != FrameResult && fr.Op != FrameError) {
				t.Fatalf("bad answer frame %+v: %v", fr, err)
			}
		}
	})
}
