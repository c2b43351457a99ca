package gateway

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// Input bounds of SPEC.md §16.3.
const (
	MaxLine         = 64 << 10 // RB1: longest line (inline command or type line)
	MaxArgs         = 1024     // RB2: elements of a request array
	MaxBulk         = 64 << 10 // RB3: longest bulk string
	MaxCommandBytes = 1 << 20  // RB5: all elements of one command
	MaxPipelineRead = 1 << 20  // RB6: commands read but not answered, per connection
)

// ErrProtocol is wrapped by every error for input that breaks RESP or a bound: the
// connection gets "-ERR Protocol error: <reason>" and is closed.
var ErrProtocol = errors.New("gateway: protocol error")

// reader reads RESP requests from one connection within the bounds above.
type reader struct {
	br *bufio.Reader
}

// newReader wraps r with a buffer that holds one line of MaxLine bytes plus CRLF.
func newReader(r io.Reader) *reader { return &reader{br: bufio.NewReaderSize(r, MaxLine+2)} }

// buffered reports whether bytes of a further command are already read.
func (r *reader) buffered() bool { return r.br.Buffered() > 0 }

// command reads one request: an array of bulk strings, or an inline command. It returns
// nil args for an empty inline line (which Redis ignores). Errors are io errors (the
// connection ended) or wrap ErrProtocol.
func (r *reader) command() ([][]byte, error) {
	line, err := r.line()
	if err != nil {
		return nil, err
	}
	if len(line) == 0 || line[0] != '*' {
		return inline(line)
	}
	n, err := parseLen(line[1:], MaxArgs, "multibulk length")
	if err != nil {
		return nil, err
	}
	if n < 1 {
		return nil, nil // "*0" and "*-1" are ignored, as Redis does
	}
	return r.bulks(n)
}

// bulks reads n bulk strings, at most MaxCommandBytes in all.
func (r *reader) bulks(n int) ([][]byte, error) {
	args := make([][]byte, 0, n)
	total := 0
	for range n {
		line, err := r.line()
		if err != nil {
			return nil, err
		}
		if len(line) == 0 || line[0] != '$' {
			return nil, fmt.Errorf("%w: expected '$', got '%s'", ErrProtocol, printable(line, 1))
		}
		size, err := parseLen(line[1:], MaxBulk, "bulk length")
		if err != nil {
			return nil, err
		}
		if size < 0 {
			return nil, fmt.Errorf("%w: invalid bulk length", ErrProtocol)
		}
		if total += size; total > MaxCommandBytes {
			return nil, fmt.Errorf("%w: command larger than %d bytes", ErrProtocol, MaxCommandBytes)
		}
		arg, err := r.bulk(size)
		if err != nil {
			return nil, err
		}
		args = append(args, arg)
	}
	return args, nil
}

// bulk reads size bytes and the CRLF after them.
func (r *reader) bulk(size int) ([]byte, error) {
	buf := make([]byte, size+2)
	if _, err := io.ReadFull(r.br, buf); err != nil {
		return nil, err
	}
	if buf[size] != '\r' || buf[size+1] != '\n' {
		return nil, fmt.Errorf("%w: bulk string not terminated by CRLF", ErrProtocol)
	}
	return buf[:size], nil
}

// line returns the next line without its line ending (CRLF, or a bare LF as Redis
// accepts for inline commands). The slice is valid until the next read.
func (r *reader) line() ([]byte, error) {
	line, err := r.br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		return nil, fmt.Errorf("%w: too big inline request or type line (over %d bytes)", ErrProtocol, MaxLine)
	}
	if err != nil {
		if len(line) > 0 && err == io.EOF {
			return nil, io.ErrUnexpectedEOF
		}
		return nil, err
	}
	line = line[:len(line)-1]
	return bytes.TrimSuffix(line, []byte{'\r'}), nil
}

// parseLen parses a decimal length in −1..max.
func parseLen(b []byte, max int, what string) (int, error) {
	n, err := strconv.Atoi(string(b))
	if err != nil || n < -1 || len(b) > 20 {
		return 0, fmt.Errorf("%w: invalid %s", ErrProtocol, what)
	}
	if n > max {
		return 0, fmt.Errorf("%w: invalid %s (over %d)", ErrProtocol, what, max)
	}
	return n, nil
}

// inline splits an inline command on spaces and tabs (no quoting).
func inline(line []byte) ([][]byte, error) {
	fields := bytes.Fields(line)
	if len(fields) > MaxArgs {
		return nil, fmt.Errorf("%w: too many arguments in inline request", ErrProtocol)
	}
	args := make([][]byte, len(fields))
	for i, f := range fields {
		args[i] = bytes.Clone(f) // the line buffer is reused by the next read
	}
	return args, nil
}

// printable returns up to n bytes of b for an error message, with non-printable bytes
// shown as '?', so that garbage never reaches a log or a reply raw.
func printable(b []byte, n int) string {
	b = b[:min(n, len(b))]
	out := make([]byte, len(b))
	for i, c := range b {
		if c < 0x20 || c > 0x7e {
			c = '?'
		}
		out[i] = c
	}
	return string(out)
}
