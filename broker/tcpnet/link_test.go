package tcpnet_test

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"github.com/splitbft/splitbft/broker"
	"github.com/splitbft/splitbft/broker/tcpnet"
	"github.com/splitbft/splitbft/spec"
)

// returnsWithin fails unless f returns within d.
func returnsWithin(t *testing.T, d time.Duration, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { f(); close(done) }()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("%s blocked for %v", what, d)
	}
}

// TestFullQueueDropsAndCounts fills the outbound queues of a host that does not run
// (so nothing drains them): Send never blocks, and what does not fit by count or by
// bytes is dropped and counted, as are frames for no known peer.
func TestFullQueueDropsAndCounts(t *testing.T) {
	cases := []struct {
		name                  string
		queueLen, queueBytes  int
		sends, size           int
		wantQueued, wantDrops int
	}{
		{"by count", 8, 0, 20, 100, 8, 12},
		{"by bytes", 100, 1000, 10, 300, 3, 7},
		{"empty frames", 8, 0, 3, 0, 0, 3},
		{"fits", 8, 0, 8, 10, 8, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h, err := tcpnet.Listen(tcpnet.Options{ID: 0, Listen: "127.0.0.1:0", QueueLen: tc.queueLen, QueueBytes: tc.queueBytes,
				Peers: []string{"", reserveAddr(t), reserveAddr(t), reserveAddr(t)}, Key: transportKey(0), PeerKeys: transportPubs()})
			if err != nil {
				t.Fatal(err)
			}
			defer h.Close()
			returnsWithin(t, 5*time.Second, "Send", func() {
				for range tc.sends {
					h.Net().Send(1, make([]byte, tc.size))
				}
				h.Net().Send(0, []byte{1}) // own id
				h.Net().Send(4, []byte{1}) // beyond the cluster
			})
			st := h.Stats()
			if p := st.Peers[1]; p.Queued != tc.wantQueued || p.Dropped != uint64(tc.wantDrops) || p.Sent != 0 {
				t.Errorf("peer 1: %+v; want %d queued, %d dropped", p, tc.wantQueued, tc.wantDrops)
			}
			if st.Unroutable != 2 {
				t.Errorf("%d unroutable, want 2", st.Unroutable)
			}
		})
	}
}

// sinkPeer accepts peer connections and never reads from them.
func sinkPeer(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { conn.Close() })
			go tlsServe(t, conn, transportKey(1)).(*tls.Conn).Handshake() // then never reads
		}
	}()
	return l.Addr().String()
}

// startCustom runs replica 0 of the fixture on a host with opt changed by tune and
// peer addresses peers.
func (f *fixture) startCustom(peers []string, tune func(*tcpnet.Options)) *node {
	f.t.Helper()
	logs := &logSink{}
	opt := f.hostOptions(0, "127.0.0.1:0", "127.0.0.1:0", logs)
	tune(&opt)
	h, err := tcpnet.Listen(opt)
	if err != nil {
		f.t.Fatal(err)
	}
	if err := h.SetPeers(peers); err != nil {
		f.t.Fatal(err)
	}
	f.peerAddrs[0], f.clientAddrs[0] = h.PeerAddr(), h.ClientAddr()
	f.nodes[0] = &node{host: h, rep: broker.NewReplica(0, f.cfg, f.enc[0], h.Net(), broker.Options{}), logs: logs}
	return f.start(0)
}

// TestFullQueueDoesNotBlockLoop sends 1 MiB frames to a peer that accepts but never
// reads: once the socket buffers are full, frames are dropped and counted, and the
// event loop keeps answering.
func TestFullQueueDoesNotBlockLoop(t *testing.T) {
	f := newFixture(t, 6, 1)
	peers := append([]string(nil), f.peerAddrs...)
	peers[1] = sinkPeer(t)
	nd := f.startCustom(peers, func(o *tcpnet.Options) { o.QueueLen = 4 })
	eventually(t, 5*time.Second, "the link to the sink peer", func() (bool, string) {
		st := nd.host.Stats().Peers[1]
		return st.Connected, fmt.Sprintf("%+v", st)
	})
	big := make([]byte, 1<<20)
	returnsWithin(t, 5*time.Second, "64 MiB of Sends to a peer that does not read", func() {
		for range 64 {
			nd.host.Net().Send(1, big)
		}
	})
	st := nd.host.Stats().Peers[1]
	if st.Dropped == 0 || st.Queued > 4 || st.Sent >= 64 {
		t.Fatalf("peer 1: %+v; want drops, at most 4 queued", st)
	}
	returnsWithin(t, 5*time.Second, "a query of the event loop", func() {
		if err := nd.host.Query(context.Background(), func(*broker.Replica) {}); err != nil {
			t.Error(err)
		}
	})
}

// fakePeer accepts peer connections and hands them to the test.
func fakePeer(t *testing.T) (string, chan net.Conn) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	conns := make(chan net.Conn, 8)
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { conn.Close() })
			conns <- tlsServe(t, conn, transportKey(1))
		}
	}()
	return l.Addr().String(), conns
}

// readPeerFrame reads one frame from conn within 5 s.
func readPeerFrame(t *testing.T, r *bufio.Reader, conn net.Conn) []byte {
	t.Helper()
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		t.Fatalf("read: %v", err)
	}
	body := make([]byte, binary.BigEndian.Uint32(hdr[:]))
	if _, err := io.ReadFull(r, body); err != nil {
		t.Fatalf("read: %v", err)
	}
	return body
}

// acceptPeer takes the next connection and checks its hello from replica 0.
func acceptPeer(t *testing.T, conns chan net.Conn) (net.Conn, *bufio.Reader) {
	t.Helper()
	var conn net.Conn
	select {
	case conn = <-conns:
	case <-time.After(5 * time.Second):
		t.Fatal("no connection within 5s")
	}
	r := bufio.NewReader(conn)
	var h tcpnet.PeerHello
	if err := spec.Decode(readPeerFrame(t, r, conn), &h, tcpnet.MaxHelloFrame); err != nil || string(h.Proto) != tcpnet.PeerProto || h.Replica != 0 {
		t.Fatalf("hello %+v, %v", h, err)
	}
	return conn, r
}

// TestOutboundReconnects has a peer close the host's connection right after the
// hello: the host notices, redials, and sends its next frames (valid PeerMsgs, the
// replica's periodic hints) on the new connection.
func TestOutboundReconnects(t *testing.T) {
	f := newFixture(t, 7, 1)
	peers := append([]string(nil), f.peerAddrs...)
	addr, conns := fakePeer(t)
	peers[1] = addr
	nd := f.startCustom(peers, func(*tcpnet.Options) {})
	first, _ := acceptPeer(t, conns)
	first.Close()
	second, r := acceptPeer(t, conns)
	defer second.Close()
	if _, _, err := broker.DecodePeer(readPeerFrame(t, r, second)); err != nil {
		t.Fatalf("frame after reconnecting: %v", err)
	}
	eventually(t, 5*time.Second, "the reconnect to be counted", func() (bool, string) {
		st := nd.host.Stats().Peers[1]
		return st.Connects == 2 && st.Reconnects == 1 && st.Connected && st.Sent > 0, fmt.Sprintf("%+v", st)
	})
}

// dialHello connects to addr, authenticates with key (plain TCP for nil) and writes
// hello.
func dialHello(t *testing.T, addr string, key ed25519.PrivateKey, hello []byte) net.Conn {
	t.Helper()
	conn := dialAs(t, addr, key)
	if _, err := conn.Write(hello); err != nil {
		t.Fatal(err)
	}
	return conn
}

// TestConnectionLimits checks the bounds on connections: a silent connection is
// closed at the hello timeout, client connections beyond MaxClientConns are refused,
// and a third inbound connection authenticated as one peer closes the oldest.
func TestConnectionLimits(t *testing.T) {
	f := newFixture(t, 9, 1)
	nd := f.startCustom(f.peerAddrs, func(o *tcpnet.Options) {
		o.HelloTimeout, o.MaxClientConns = 100*time.Millisecond, 1
	})
	silent := dialHello(t, f.peerAddrs[0], nil, nil)
	expectClosed(t, silent, "a silent peer connection")
	if st := nd.host.Stats(); st.AuthFailures != 1 || len(nd.logs.lines("handshake failed", "addr="+silent.LocalAddr().String(), "timeout")) != 1 {
		t.Errorf("silent connection: %d auth failures; log:\n%s", st.AuthFailures, nd.logs.tail(2000))
	}
	silent = dialHello(t, f.peerAddrs[0], transportKey(2), nil)
	expectClosed(t, silent, "a silent authenticated peer connection")
	if st := nd.host.Stats(); st.BadHellos != 1 || len(nd.logs.lines("bad hello from peer", "addr="+silent.LocalAddr().String(), "timeout")) != 1 {
		t.Errorf("silent connection: %d bad hellos; log:\n%s", st.BadHellos, nd.logs.tail(2000))
	}

	dialHello(t, f.clientAddrs[0], clientKey(f.ids[0]), clientMsg(tcpnet.ClientHello, 100, []byte(tcpnet.ClientProto)))
	eventually(t, 5*time.Second, "the first client connection", func() (bool, string) {
		st := nd.host.Stats().Clients
		return st.Conns == 1, fmt.Sprintf("%+v", st)
	})
	expectClosed(t, dialHello(t, f.clientAddrs[0], nil, nil), "a client connection beyond MaxClientConns")
	if st := nd.host.Stats().Clients; st.Refused != 1 || st.Conns != 1 {
		t.Errorf("clients %+v; want 1 refused, 1 live", st)
	}

	hello := peerHello(tcpnet.PeerProto, 2)
	oldest := dialHello(t, f.peerAddrs[0], transportKey(2), hello)
	eventually(t, 5*time.Second, "the first inbound connection of peer 2", func() (bool, string) {
		st := nd.host.Stats().Peers[2]
		return st.Inbound == 1, fmt.Sprintf("%+v", st)
	})
	dialHello(t, f.peerAddrs[0], transportKey(2), hello)
	dialHello(t, f.peerAddrs[0], transportKey(2), hello)
	expectClosed(t, oldest, "the oldest of three connections claiming peer 2")
	eventually(t, 5*time.Second, "two inbound connections of peer 2", func() (bool, string) {
		st := nd.host.Stats().Peers[2]
		return st.Inbound == 2, fmt.Sprintf("%+v", st)
	})
}
