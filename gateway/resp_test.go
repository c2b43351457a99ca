package gateway

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// exchange sends raw bytes on a fresh connection, half-closes it, and returns
// everything the gateway wrote before closing.
func exchange(t *testing.T, addr string, in []byte) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	go func() {
		_, _ = c.Write(in)
		_ = c.(*net.TCPConn).CloseWrite()
	}()
	out, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return string(out)
}

// TestRawRESP sends well-formed and malformed RESP (SPEC.md §16.3) and checks the
// exact bytes of the replies: an error reply and a closed connection for malformed
// input, an error reply on an open connection for a bad command.
func TestRawRESP(t *testing.T) {
	_, _, addr := startStore(t)
	big := strings.Repeat("x", MaxLine+10)
	cases := []struct {
		name, in, want string
	}{
		{"ping inline", "PING\r\n", "+PONG\r\n"},
		{"ping bare LF", "PING\n", "+PONG\r\n"},
		{"empty inline ignored", "\r\nPING\r\n", "+PONG\r\n"},
		{"ping array", "*1\r\n$4\r\nPING\r\n", "+PONG\r\n"},
		{"echo", "*2\r\n$4\r\nECHO\r\n$3\r\na b\r\n", "$3\r\na b\r\n"},
		{"set get pipeline", "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n", "+OK\r\n$1\r\nv\r\n"},
		{"unknown command stays open", "FOO bar\r\nPING\r\n", "-ERR unknown command 'FOO', with args beginning with: 'bar' \r\n+PONG\r\n"},
		{"wrong arity", "GET\r\nPING\r\n", "-ERR wrong number of arguments for 'get' command\r\n+PONG\r\n"},
		{"multi refused", "MULTI\r\n", "-ERR MULTI/EXEC transactions are not supported by the SplitBFT gateway\r\n"},
		{"hello 3 null", "HELLO 3\r\nGET nokey\r\n", "%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$5\r\n7.2.0\r\n$5\r\nproto\r\n:3\r\n$2\r\nid\r\n:" + "ID" + "\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n_\r\n"},
		{"hello 4", "HELLO 4\r\n", "-NOPROTO unsupported protocol version\r\n"},
		{"quit", "QUIT\r\nPING\r\n", "+OK\r\n"},
		{"negative bulk length", "*1\r\n$-5\r\n", "-ERR Protocol error: invalid bulk length\r\n"},
		{"bulk null in request", "*1\r\n$-1\r\n", "-ERR Protocol error: invalid bulk length\r\n"},
		{"oversized bulk", "*1\r\n$70000\r\n", "-ERR Protocol error: invalid bulk length (over 65536)\r\n"},
		{"oversized array", "*5000\r\n", "-ERR Protocol error: invalid multibulk length (over 1024)\r\n"},
		{"bad array length", "*x\r\n", "-ERR Protocol error: invalid multibulk length\r\n"},
		{"nested array", "*1\r\n*1\r\n$4\r\nPING\r\n", "-ERR Protocol error: expected '$', got '*'\r\n"},
		{"bulk not terminated", "*1\r\n$4\r\nPINGxx", "-ERR Protocol error: bulk string not terminated by CRLF\r\n"},
		{"line too long", big, "-ERR Protocol error: too big inline request or type line (over 65536 bytes)\r\n"},
		{"binary garbage", "\x00\xff\xfe*\r\n", "-ERR unknown command '???*', with args beginning with: \r\n"},
		{"unterminated array", "*2\r\n$4\r\nECHO\r\n", ""},
		{"answers before the error", "PING\r\n*1\r\n$-2\r\n", "+PONG\r\n-ERR Protocol error: invalid bulk length\r\n"},
		{"command over 1 MiB", "*20\r\n" + strings.Repeat("$60000\r\n"+strings.Repeat("a", 60000)+"\r\n", 20), "-ERR Protocol error: command larger than 1048576 bytes\r\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := exchange(t, addr, []byte(tc.in))
			want := tc.want
			if strings.Contains(want, ":ID\r\n") { // connection ids differ per run
				i := strings.Index(got, "$2\r\nid\r\n:")
				if i < 0 {
					t.Fatalf("no id in %q", got)
				}
				j := strings.Index(got[i+9:], "\r\n")
				want = strings.Replace(want, ":ID\r\n", ":"+got[i+9:i+9+j]+"\r\n", 1)
			}
			if got != want {
				t.Fatalf("in %q:\n got %q\nwant %q", trim(tc.in), got, want)
			}
		})
	}
}

func trim(s string) string {
	if len(s) > 60 {
		return s[:60] + "…"
	}
	return s
}

// TestReaderBoundsMemory checks that a huge declared bulk or array length is refused
// before anything is allocated for it, and that garbage never panics the reader.
func TestReaderBoundsMemory(t *testing.T) {
	for _, in := range []string{"*1\r\n$9223372036854775807\r\n", "*99999999999\r\n", "*1\r\n$1" + strings.Repeat("0", 30) + "\r\n"} {
		r := newReader(bytes.NewReader([]byte(in)))
		if _, err := r.command(); !errors.Is(err, ErrProtocol) {
			t.Errorf("%q: got %v, want a protocol error", in, err)
		}
	}
}

// FuzzReader feeds arbitrary bytes to the RESP reader: it must never panic, and every
// command it returns has at most MaxArgs elements of at most MaxBulk bytes.
func FuzzReader(f *testing.F) {
	f.Add([]byte("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"))
	f.Add([]byte("PING\r\n"))
	f.Add([]byte("*1\r\n$-1\r\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		r := &reader{br: bufio.NewReaderSize(bytes.NewReader(in), 64)}
		for range 100 {
			args, err := r.command()
			if err != nil {
				return
			}
			if len(args) > MaxArgs {
				t.Fatalf("%d args", len(args))
			}
			for _, a := range args {
				if len(a) > MaxBulk {
					t.Fatalf("bulk of %d bytes", len(a))
				}
			}
		}
	})
}
