package tcpnet_test

import (
	"bufio"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/tls"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/splitbft/splitbft/broker/tcpnet"
	"github.com/splitbft/splitbft/spec"
)

// strangerKey is a key the cluster does not know.
func strangerKey() ed25519.PrivateKey {
	seed := sha256.Sum256([]byte("tcpnet-stranger"))
	return ed25519.NewKeyFromSeed(seed[:])
}

// TestUnauthenticatedGetsNothing: a connection that does not authenticate as an
// identity the cluster names for that port is closed, counted as an authentication
// failure, and nothing it sent reaches the broker (issue 15, findings 1 and 5).
func TestUnauthenticatedGetsNothing(t *testing.T) {
	f := newFixture(t, 11, 2, 0)
	nd := f.start(0)
	peerMsgs := append(peerHello(tcpnet.PeerProto, 2), frame(hintMsg())...)
	clientMsgs := append(clientMsg(tcpnet.ClientHello, 100, []byte(tcpnet.ClientProto)), clientMsg(tcpnet.ClientRequest, 100, f.signedRequest(0))...)
	cases := []struct {
		name  string
		addr  string
		key   ed25519.PrivateKey
		bytes []byte
	}{
		{"peer port, plain TCP", f.peerAddrs[0], nil, peerMsgs},
		{"peer port, unknown key", f.peerAddrs[0], strangerKey(), peerMsgs},
		{"peer port, a client's key", f.peerAddrs[0], clientKey(f.ids[0]), peerMsgs},
		{"peer port, the host's own key", f.peerAddrs[0], transportKey(0), append(peerHello(tcpnet.PeerProto, 0), frame(hintMsg())...)},
		{"client port, plain TCP", f.clientAddrs[0], nil, clientMsgs},
		{"client port, unknown key", f.clientAddrs[0], strangerKey(), clientMsgs},
		{"client port, a replica's transport key", f.clientAddrs[0], transportKey(2), clientMsgs},
	}
	for k, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			conn := dialAs(t, tc.addr, tc.key)
			conn.Write(tc.bytes) // may fail once the host has closed: either way it must close
			expectClosed(t, conn, tc.name)
			eventually(t, 5*time.Second, "the failure to be counted", func() (bool, string) {
				st := nd.host.Stats()
				return st.AuthFailures == uint64(k+1), fmt.Sprintf("%d auth failures", st.AuthFailures)
			})
		})
	}
	st := nd.host.Stats()
	if m := f.metrics(0); m.PeerIn != 0 || m.ClientRequests != 0 || st.Peers[2].Received != 0 || st.Clients.Accepted != 0 {
		t.Fatalf("unauthenticated input reached the broker: PeerIn %d, client requests %d, stats %+v", m.PeerIn, m.ClientRequests, st)
	}
}

// readReplyFrame reads one ClientMsg from conn within 5 s.
func readReplyFrame(t *testing.T, r *bufio.Reader, conn net.Conn) tcpnet.ClientMsg {
	t.Helper()
	var m tcpnet.ClientMsg
	if err := spec.Decode(readPeerFrame(t, r, conn), &m, tcpnet.MaxReplyFrame); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestRepliesGoOnlyToTheAuthenticatedClient: a reply for client 100 is written to
// the connections authenticated as 100 and to no other (issue 15, finding 5).
func TestRepliesGoOnlyToTheAuthenticatedClient(t *testing.T) {
	f := newFixture(t, 12, 2, 0)
	nd := f.start(0)
	a := dialHello(t, f.clientAddrs[0], clientKey(f.ids[0]), clientMsg(tcpnet.ClientHello, 100, []byte(tcpnet.ClientProto)))
	b := dialHello(t, f.clientAddrs[0], clientKey(f.ids[1]), clientMsg(tcpnet.ClientHello, 101, []byte(tcpnet.ClientProto)))
	eventually(t, 5*time.Second, "both clients to be accepted", func() (bool, string) {
		st := nd.host.Stats().Clients
		return st.Conns == 2, fmt.Sprintf("%+v", st)
	})
	for _, c := range []uint64{100, 101} {
		nd.host.Net().Reply(c, spec.Encode(&spec.Reply{Client: c, Timestamp: 1}))
	}
	ra, rb := bufio.NewReader(a), bufio.NewReader(b)
	if m := readReplyFrame(t, ra, a); m.Client != 100 {
		t.Fatalf("client 100's connection got a reply for client %d", m.Client)
	}
	if m := readReplyFrame(t, rb, b); m.Client != 101 { // its first frame: 100's reply never came
		t.Fatalf("client 101's connection got a reply for client %d", m.Client)
	}
}

// TestConnectionBudgets: unauthenticated connections from one source beyond
// MaxPendingPerIP are closed at accept; an authenticated client's connections beyond
// MaxConnsPerClient close its oldest; an authenticated connection idle for
// IdleTimeout is closed.
func TestConnectionBudgets(t *testing.T) {
	f := newFixture(t, 13, 1)
	nd := f.startCustom(f.peerAddrs, func(o *tcpnet.Options) { o.MaxPendingPerIP, o.MaxConnsPerClient = 2, 2 })
	s1, s2 := dialAs(t, f.peerAddrs[0], nil), dialAs(t, f.peerAddrs[0], nil)
	expectClosed(t, dialAs(t, f.peerAddrs[0], nil), "a third unauthenticated connection from one IP")
	if n := len(nd.logs.lines("too many unauthenticated peer connections from one source")); n != 1 {
		t.Errorf("%d refusals at accept logged, want 1 (the third connection)", n)
	}
	s1.Close()
	s2.Close()

	hello := clientMsg(tcpnet.ClientHello, 100, []byte(tcpnet.ClientProto))
	oldest := dialHello(t, f.clientAddrs[0], clientKey(f.ids[0]), hello)
	eventually(t, 5*time.Second, "the first client connection", func() (bool, string) {
		return nd.host.Stats().Clients.Conns == 1, fmt.Sprintf("%+v", nd.host.Stats().Clients)
	})
	dialHello(t, f.clientAddrs[0], clientKey(f.ids[0]), hello)
	dialHello(t, f.clientAddrs[0], clientKey(f.ids[0]), hello)
	expectClosed(t, oldest, "the oldest of three connections of client 100")

	live := dialHello(t, f.peerAddrs[0], transportKey(2), peerHello(tcpnet.PeerProto, 2))
	f.stop(0)
	expectClosed(t, live, "a peer connection of a stopped host") // (not idle: IdleTimeout is 5 min)

	g := newFixture(t, 14, 1)
	g.startCustom(g.peerAddrs, func(o *tcpnet.Options) { o.IdleTimeout = 200 * time.Millisecond })
	idle := dialHello(t, g.peerAddrs[0], transportKey(2), peerHello(tcpnet.PeerProto, 2))
	expectClosed(t, idle, "an idle authenticated peer connection")

	r := newFixture(t, 15, 1)
	rn := r.startCustom(r.peerAddrs, func(o *tcpnet.Options) { o.AcceptRate, o.AcceptBurst = 1, 3 })
	for k := range 3 {
		dialAs(t, r.peerAddrs[0], nil)
		eventually(t, 5*time.Second, "a connection within the rate to be accepted", func() (bool, string) {
			return rn.host.Stats().AuthFailures == 0, fmt.Sprintf("connection %d: %d auth failures", k, rn.host.Stats().AuthFailures)
		})
	}
	expectClosed(t, dialAs(t, r.peerAddrs[0], nil), "a connection beyond the accept rate")
	if n := len(rn.logs.lines("too many unauthenticated peer connections from one source")); n != 1 {
		t.Errorf("%d refusals at accept logged, want 1 (the fourth connection):\n%s", n, rn.logs.tail(2000))
	}
}

// TestSetClientKeys: a client registered after Listen (a gateway's identity, SPEC
// §16.2) is refused before SetClientKeys names it and accepted after; the keys it
// replaces are refused then.
func TestSetClientKeys(t *testing.T) {
	f := newFixture(t, 13, 2, 0)
	nd := f.start(0)
	hello := clientMsg(tcpnet.ClientHello, 200, []byte(tcpnet.ClientProto))
	expectClosed(t, dialHello(t, f.clientAddrs[0], strangerKey(), hello), "an unregistered client")
	nd.host.SetClientKeys(map[uint64]ed25519.PublicKey{200: strangerKey().Public().(ed25519.PublicKey)})
	dialHello(t, f.clientAddrs[0], strangerKey(), hello)
	eventually(t, 5*time.Second, "the newly registered client to be accepted", func() (bool, string) {
		st := nd.host.Stats().Clients
		return st.Conns == 1, fmt.Sprintf("%+v", st)
	})
	old := clientMsg(tcpnet.ClientHello, 100, []byte(tcpnet.ClientProto))
	expectClosed(t, dialHello(t, f.clientAddrs[0], clientKey(f.ids[0]), old), "a client no longer registered")
}

// TestSetPeerAddr: an epoch that moves a replica (SPEC §17.2) changes where the host
// dials it, while running; ids out of range are ignored.
func TestSetPeerAddr(t *testing.T) {
	f := newFixture(t, 14, 1, 0)
	nd := f.start(0)
	nd.host.SetPeerAddr(2, "127.0.0.1:9")
	nd.host.SetPeerAddr(99, "127.0.0.1:9")
	if got := nd.host.Stats().Peers[2].Addr; got != "127.0.0.1:9" {
		t.Fatalf("peer 2 is dialled at %q after SetPeerAddr", got)
	}
	if got := nd.host.Stats().Peers[1].Addr; got != f.peerAddrs[1] {
		t.Fatalf("peer 1 moved to %q", got)
	}
}

// TestClientKeysBeforeRun: nothing on the client port is authenticated before Run,
// so a connection dialled while the host only listens is checked against the keys
// set when Run starts (an operator's replica sets its configuration's just before
// Run: a rejoin or a recovery needs no earlier call), and one whose client those
// keys no longer register is refused.
func TestClientKeysBeforeRun(t *testing.T) {
	f := newFixture(t, 30, 1, 0)
	nd := f.nodes[0]
	raw, err := net.Dial("tcp", f.clientAddrs[0]) // the listener's backlog takes it
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	handshake := make(chan error, 1)
	conn := tls.Client(raw, testTLS(t, clientKey(f.ids[0])))
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	go func() {
		err := conn.Handshake()
		if err == nil {
			_, err = conn.Write(clientMsg(tcpnet.ClientHello, 100, []byte(tcpnet.ClientProto)))
		}
		handshake <- err
	}()
	nd.host.SetClientKeys(map[uint64]ed25519.PublicKey{200: strangerKey().Public().(ed25519.PublicKey)})
	f.start(0)
	<-handshake // TLS 1.3: the client may finish before the server rejects its certificate
	expectClosed(t, conn, "a connection dialled before Run by a client removed before Run")
	eventually(t, 5*time.Second, "the refusal to be counted", func() (bool, string) {
		st := nd.host.Stats()
		return st.AuthFailures == 1, fmt.Sprintf("%d auth failures, clients %+v", st.AuthFailures, st.Clients)
	})
	if st := nd.host.Stats().Clients; st.Accepted != 0 {
		t.Fatalf("%+v: the removed client was accepted", st)
	}
}
