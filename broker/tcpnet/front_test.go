package tcpnet_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"github.com/splitbft/splitbft/broker/tcpnet"
	"github.com/splitbft/splitbft/client"
	"github.com/splitbft/splitbft/spec"
)

func clientMsg(kind, id uint64, body []byte) []byte {
	return frame(spec.Encode(&tcpnet.ClientMsg{Kind: kind, Client: id, Body: body}))
}

// signedRequest returns a valid REQUEST of client c of the fixture.
func (f *fixture) signedRequest(c int) []byte {
	f.t.Helper()
	s, err := client.NewSession(f.cfg, f.ids[c], spec.TestStream("tcpnet-session", f.seed))
	if err != nil {
		f.t.Fatal(err)
	}
	req, _, err := s.Prepare([][]byte{client.PutOp([]byte("k"), []byte("v"))})
	if err != nil {
		f.t.Fatal(err)
	}
	return req
}

// TestClientGarbageIsRejected sends each kind of garbage to a front end: each
// connection is closed, logged and counted, and no request reaches the broker until
// a valid one does.
func TestClientGarbageIsRejected(t *testing.T) {
	const seed = 5
	f := newFixture(t, seed, 2, 0)
	nd := f.start(0)
	req100, req101 := f.signedRequest(0), f.signedRequest(1)
	hello := clientMsg(tcpnet.ClientHello, 100, []byte(tcpnet.ClientProto))
	random := seeded("tcpnet-client-garbage", seed, 64)
	random[0] = 0xff
	cases := []struct {
		name, msg, claimed, want string
		bytes                    []byte
	}{
		{"random bytes instead of a hello", "bad hello from client", "none", "bad frame length", random},
		{"peer hello on the client port", "bad hello from client", "none", "not a ClientMsg", peerHello(tcpnet.PeerProto, 1)},
		{"request before the hello", "bad hello from client", "none", "bad frame length", clientMsg(tcpnet.ClientRequest, 100, req100)},
		{"small request before the hello", "bad hello from client", "none", "want a hello", clientMsg(tcpnet.ClientRequest, 100, []byte{0x80})},
		{"hello for another protocol", "bad hello from client", "none", "want a hello", clientMsg(tcpnet.ClientHello, 100, []byte("splitbft/v2/client"))},
		{"hello claiming another client than its key", "bad hello from client", "none", "another identity", clientMsg(tcpnet.ClientHello, 101, []byte(tcpnet.ClientProto))},
		{"attach without a signature", "garbage from client", "100", "want an attach (kind 6) with a 64-byte signature", append(hello, clientMsg(tcpnet.ClientAttach, 101, make([]byte, 63))...)},
		{"request signed as another client", "garbage from client", "100", "request signed as client 101 in a frame for client 100", append(hello, clientMsg(tcpnet.ClientRequest, 100, req101)...)},
		{"request body not a REQUEST", "garbage from client", "100", "not a REQUEST", append(hello, clientMsg(tcpnet.ClientRequest, 100, seeded("tcpnet-req", seed, 50))...)},
		{"reply from a client", "garbage from client", "100", "kind 3", append(hello, clientMsg(tcpnet.ClientReply, 100, req100)...)},
		{"second hello", "garbage from client", "100", "kind 1", append(hello, hello...)},
		{"frame length over the cap", "garbage from client", "100", "bad frame length", append(hello, header(tcpnet.MaxClientFrame+1)...)},
		{"zero frame length", "garbage from client", "100", "bad frame length: 0", append(hello, header(0)...)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := nd.host.Stats().Clients.Garbage
			local := sendGarbage(t, f.clientAddrs[0], clientKey(f.ids[0]), garbageCase{name: tc.name, bytes: tc.bytes})
			if got := nd.host.Stats().Clients.Garbage; got != before+1 {
				t.Errorf("client garbage %d → %d, want one more", before, got)
			}
			if lines := nd.logs.lines("level=ERROR", tc.msg, "addr="+local, "claimed="+tc.claimed, tc.want); len(lines) != 1 {
				t.Errorf("%d error lines with %q, addr=%s, claimed=%s and %q; log:\n%s", len(lines), tc.msg, local, tc.claimed, tc.want, nd.logs.tail(2000))
			}
		})
	}
	if m := f.metrics(0); m.ClientRequests != 0 || m.BadRequests != 0 {
		t.Fatalf("garbage reached the broker: %d requests, %d bad", m.ClientRequests, m.BadRequests)
	}
	conn := dialAs(t, f.clientAddrs[0], clientKey(f.ids[0]))
	conn.Write(append(hello, clientMsg(tcpnet.ClientRequest, 100, req100)...))
	eventually(t, 5*time.Second, "the valid request to reach the broker", func() (bool, string) {
		m := f.metrics(0)
		return m.ClientRequests == 1 && m.BadRequests == 0, fmt.Sprintf("%d requests, %d bad", m.ClientRequests, m.BadRequests)
	})
}

// fakeFrontEnd accepts client connections on a loopback port and hands each to the
// test with its hello checked.
type fakeFrontEnd struct {
	l     net.Listener
	conns chan net.Conn
}

func newFakeFrontEnd(t *testing.T, id uint64) *fakeFrontEnd {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fe := &fakeFrontEnd{l: l, conns: make(chan net.Conn, 4)}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { conn.Close() })
			tc := tlsServe(t, conn, transportKey(0)).(*tls.Conn)
			go func() { // the client's DialClient waits for the handshake
				if tc.Handshake() == nil {
					fe.conns <- tc
				}
			}()
		}
	}()
	return fe
}

// next returns the next connection after reading and checking its hello.
func (fe *fakeFrontEnd) next(t *testing.T, id uint64) net.Conn {
	t.Helper()
	var conn net.Conn
	select {
	case conn = <-fe.conns:
	case <-time.After(5 * time.Second):
		t.Fatal("no client connection within 5s")
	}
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	r := bufio.NewReader(conn)
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		t.Fatal(err)
	}
	body := make([]byte, binary.BigEndian.Uint32(hdr[:]))
	if _, err := io.ReadFull(r, body); err != nil {
		t.Fatal(err)
	}
	var m tcpnet.ClientMsg
	if err := spec.Decode(body, &m, 128); err != nil || m.Kind != tcpnet.ClientHello || m.Client != id || string(m.Body) != tcpnet.ClientProto {
		t.Fatalf("hello %+v, %v", m, err)
	}
	return conn
}

// TestClientConnDropsGarbageAndReconnects has a front end send the client a reply
// addressed to another client: the client closes that connection, counts it,
// reconnects, and delivers the next valid reply.
func TestClientConnDropsGarbageAndReconnects(t *testing.T) {
	fe := newFakeFrontEnd(t, 7)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cc, err := tcpnet.DialClient(ctx, []string{fe.l.Addr().String()}, 7, tcpnet.ClientOptions{MinBackoff: time.Millisecond, Rand: spec.TestStream("tcpnet-cc", 1),
		Key: transportKey(7), ServerKeys: transportPubs()[:1]})
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	first := fe.next(t, 7)
	rep := spec.Encode(&spec.Reply{Client: 7, Timestamp: 1, Replica: 0})
	other := spec.Encode(&spec.Reply{Client: 8, Timestamp: 1, Replica: 0})
	first.Write(clientMsg(tcpnet.ClientReply, 7, other))
	expectClosed(t, first, "a reply for client 8")
	second := fe.next(t, 7)
	second.Write(clientMsg(tcpnet.ClientReply, 7, rep))
	select {
	case got := <-cc.Replies():
		if string(got) != string(rep) {
			t.Fatalf("reply %x, want %x", got, rep)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no reply within 5s")
	}
	if st := cc.Stats(); st.Garbage != 1 || st.Reconnects != 1 || st.Replies != 1 || st.Connected != 1 {
		t.Fatalf("stats %+v; want 1 garbage, 1 reconnect, 1 reply, 1 connected", st)
	}
	if err := cc.Close(); err != nil {
		t.Fatal(err)
	}
	if _, ok := <-cc.Replies(); ok {
		t.Fatal("Replies still open after Close")
	}
	if err := cc.Send(rep); err == nil {
		t.Fatal("Send after Close succeeded")
	}
}

// TestDialClientFailsWithoutFrontEnd: with nothing listening, DialClient fails when
// its context ends.
func TestDialClientFailsWithoutFrontEnd(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	cc, err := tcpnet.DialClient(ctx, []string{reserveAddr(t)}, 1, tcpnet.ClientOptions{MinBackoff: time.Millisecond, Rand: spec.TestStream("tcpnet-cc", 2),
		Key: transportKey(7), ServerKeys: transportPubs()[:1]})
	if err == nil {
		cc.Close()
		t.Fatal("DialClient succeeded with no front end")
	}
}
