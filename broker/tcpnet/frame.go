package tcpnet

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/splitbft/splitbft/spec"
)

// Frame caps. A length of 0 or over the cap of the connection's direction closes the
// connection: a length-prefixed stream cannot be resynchronised.
const (
	// MaxPeerFrame caps a peer frame: an encoded PeerMsg (SPEC.md §13.2: 48 MiB + 64).
	MaxPeerFrame = spec.MaxMessageBytes + 64
	// MaxClientFrame caps a frame from a client: a ClientMsg carrying a REQUEST.
	MaxClientFrame = spec.MaxRequestOpsLimit*(spec.MaxOpBytesLimit+64) + 1<<10 + 64
	// MaxReplyFrame caps a frame from a broker to a client: a ClientMsg carrying a REPLY
	// or READ-REPLY (the kind table's reply cap, one result per operation of the
	// largest request, + 64; SPEC.md §2.4, §13.2).
	MaxReplyFrame = spec.MaxRequestOpsLimit*(spec.MaxKVValue+64) + 1<<10 + 64
	// MaxEpochFrame caps a ClientMsg carrying an epoch change (the kind table's
	// epoch-change cap + 64, SPEC.md §13.2).
	MaxEpochFrame = spec.MaxMessageBytes + 64
	// MaxBrokerFrame caps any frame from a broker to a client: a reply or an epoch.
	MaxBrokerFrame = max(MaxReplyFrame, MaxEpochFrame)
	// MaxHelloFrame caps the first frame of a connection (PeerHello or a hello ClientMsg).
	MaxHelloFrame = 128
)

// ErrFrameLength is wrapped by the error of a frame whose length prefix is 0 or over
// the cap. The connection must be closed.
var ErrFrameLength = errors.New("tcpnet: bad frame length")

// frameHeader is the size of the length prefix.
const frameHeader = 4

// readFrame reads one frame body of at most max bytes. It returns io.EOF at a clean
// end of stream, io.ErrUnexpectedEOF for a truncated frame, and an error wrapping
// ErrFrameLength for a bad length prefix (checked before anything is allocated).
func readFrame(r *bufio.Reader, max int) ([]byte, error) {
	n, err := readLen(r, max)
	if err != nil {
		return nil, err
	}
	return readBody(r, n)
}

// readLen reads a frame's length prefix, as readFrame does, and leaves its body
// unread.
func readLen(r *bufio.Reader, max int) (int, error) {
	var hdr [frameHeader]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n == 0 || uint64(n) > uint64(max) {
		return 0, fmt.Errorf("%w: %d (cap %d)", ErrFrameLength, n, max)
	}
	return int(n), nil
}

// readBody reads exactly n bytes. A large claimed length is grown into as the bytes
// arrive, so a lying prefix costs memory only in proportion to what was sent.
func readBody(r io.Reader, n int) ([]byte, error) {
	const eager = 64 << 10
	if n <= eager {
		buf := make([]byte, n)
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, unexpected(err)
		}
		return buf, nil
	}
	buf, err := io.ReadAll(io.LimitReader(r, int64(n)))
	if err != nil {
		return nil, err
	}
	if len(buf) < n {
		return nil, io.ErrUnexpectedEOF
	}
	return buf, nil
}

// errNoHello is readHello's error for a connection closed before sending a byte (a
// port probe, a health check): not counted as garbage.
var errNoHello = errors.New("tcpnet: connection closed before its hello")

// readHello reads the first frame of a connection.
func readHello(r *bufio.Reader) ([]byte, error) {
	frame, err := readFrame(r, MaxHelloFrame)
	if err == io.EOF {
		return nil, errNoHello
	}
	return frame, err
}

// unexpected turns a clean EOF inside a frame into io.ErrUnexpectedEOF.
func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// writeFrame writes one frame (length prefix and body) to w.
func writeFrame(w io.Writer, body []byte) error {
	var hdr [frameHeader]byte
	binary.BigEndian.PutUint32(hdr[:], uint32(len(body)))
	if _, err := w.Write(hdr[:]); err != nil {
		return err
	}
	_, err := w.Write(body)
	return err
}

// appendFrame returns body with its length prefix, for a single Write.
func appendFrame(body []byte) []byte {
	out := make([]byte, frameHeader, frameHeader+len(body))
	binary.BigEndian.PutUint32(out, uint32(len(body)))
	return append(out, body...)
}
