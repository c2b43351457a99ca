package tcpnet_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/splitbft/splitbft/broker"
	"github.com/splitbft/splitbft/broker/tcpnet"
	"github.com/splitbft/splitbft/client"
	"github.com/splitbft/splitbft/spec"
)

// binding is the attach binding of a test connection (SPEC §13.2), as both ends
// derive it.
func binding(t *testing.T, conn net.Conn) [32]byte {
	t.Helper()
	tc, ok := conn.(*tls.Conn)
	if !ok {
		t.Fatalf("%T is not a TLS connection", conn)
	}
	st := tc.ConnectionState()
	m, err := st.ExportKeyingMaterial(tcpnet.AttachBindingLabel, nil, 32)
	if err != nil {
		t.Fatal(err)
	}
	return [32]byte(m)
}

// identities returns the tcpnet identities of the fixture's clients, after extra.
func (f *fixture) identities(extra ...tcpnet.ClientIdentity) []tcpnet.ClientIdentity {
	ids := extra
	for _, id := range f.ids {
		ids = append(ids, tcpnet.ClientIdentity{ID: id.ID, Key: clientKey(id)})
	}
	return ids
}

// dialClients connects ids over shared connections (closed at the test's end).
func (f *fixture) dialClients(ids []tcpnet.ClientIdentity) []*tcpnet.ClientConn {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conns, err := tcpnet.DialClients(ctx, f.clientAddrs, ids, tcpnet.ClientOptions{ServerKeys: transportPubs(),
		MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond, Rand: spec.TestStream("tcpnet-attach-jitter", f.seed)})
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	return conns
}

// everyReplica waits until cond holds for every replica's client port counters.
func (f *fixture) everyReplica(what string, cond func(tcpnet.ClientStats) bool) {
	f.t.Helper()
	eventually(f.t, 10*time.Second, what, func() (bool, string) {
		var desc []string
		ok := true
		for i, nd := range f.nodes {
			st := nd.host.Stats().Clients
			ok = ok && cond(st)
			desc = append(desc, fmt.Sprintf("replica %d: %+v", i, st))
		}
		return ok, fmt.Sprint(desc)
	})
}

// attachFrame is client id's attach frame for the connection of binding b.
func (f *fixture) attachFrame(c int, b [32]byte) []byte {
	id := f.ids[c]
	return clientMsg(tcpnet.ClientAttach, id.ID, ed25519.Sign(clientKey(id), tcpnet.AttachSignedBytes(b, id.ID)))
}

// TestAttachIsBoundToItsConnection: an attach signed over a connection's binding
// adds its client to that connection (replies for it arrive there), and the same
// frame replayed on another connection is refused (dropped and counted, the
// connection stays up), so that the client's requests there are dropped too.
func TestAttachIsBoundToItsConnection(t *testing.T) {
	f := newFixture(t, 21, 2, 0)
	nd := f.start(0)
	a := dialHello(t, f.clientAddrs[0], clientKey(f.ids[0]), clientMsg(tcpnet.ClientHello, 100, []byte(tcpnet.ClientProto)))
	att := f.attachFrame(1, binding(t, a))
	if _, err := a.Write(att); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "the attach to be verified", func() (bool, string) {
		st := nd.host.Stats().Clients
		return st.Attaches == 1, fmt.Sprintf("%+v", st)
	})
	nd.host.Net().Reply(101, spec.Encode(&spec.Reply{Client: 101, Timestamp: 1}))
	if m := readReplyFrame(t, bufio.NewReader(a), a); m.Kind != tcpnet.ClientReply || m.Client != 101 {
		t.Fatalf("connection of 100 with 101 attached got kind %d for client %d, want 101's reply", m.Kind, m.Client)
	}
	b := dialHello(t, f.clientAddrs[0], clientKey(f.ids[0]), clientMsg(tcpnet.ClientHello, 100, []byte(tcpnet.ClientProto)))
	if _, err := b.Write(append(att, clientMsg(tcpnet.ClientRequest, 101, f.signedRequest(1))...)); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "the replayed attach to be refused", func() (bool, string) {
		st := nd.host.Stats().Clients
		return st.AttachRefused == 1 && st.Unattached == 1, fmt.Sprintf("%+v", st)
	})
	if st := nd.host.Stats().Clients; st.Attaches != 1 || st.Garbage != 0 || st.Conns != 2 || st.Requests != 0 {
		t.Fatalf("after the replayed attach: %+v; want still 1 attach, no garbage, 2 connections, no request", st)
	}
}

// TestAttachDetachesFromTheOldest: with MaxConnsPerClient 1, a client attached to a
// newer connection is detached from its older one, which stays open while it still
// carries another client and is closed once it carries none.
func TestAttachDetachesFromTheOldest(t *testing.T) {
	f := newFixture(t, 22, 2)
	nd := f.startCustom(f.peerAddrs, func(o *tcpnet.Options) { o.MaxConnsPerClient = 1 })
	a := dialHello(t, f.clientAddrs[0], clientKey(f.ids[0]), clientMsg(tcpnet.ClientHello, 100, []byte(tcpnet.ClientProto)))
	if _, err := a.Write(f.attachFrame(1, binding(t, a))); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "the attach", func() (bool, string) {
		st := nd.host.Stats().Clients
		return st.Attaches == 1, fmt.Sprintf("%+v", st)
	})
	b := dialHello(t, f.clientAddrs[0], clientKey(f.ids[1]), clientMsg(tcpnet.ClientHello, 101, []byte(tcpnet.ClientProto)))
	eventually(t, 5*time.Second, "the second connection", func() (bool, string) {
		st := nd.host.Stats().Clients
		return st.Conns == 2, fmt.Sprintf("%+v", st)
	})
	// 101 now lives on b only; a still carries 100.
	nd.host.Net().Reply(101, spec.Encode(&spec.Reply{Client: 101, Timestamp: 1}))
	nd.host.Net().Reply(100, spec.Encode(&spec.Reply{Client: 100, Timestamp: 2}))
	if m := readReplyFrame(t, bufio.NewReader(b), b); m.Client != 101 {
		t.Fatalf("b got a reply for %d, want 101", m.Client)
	}
	if m := readReplyFrame(t, bufio.NewReader(a), a); m.Client != 100 { // its first frame: 101's reply went to b only
		t.Fatalf("a got a reply for %d first, want 100's", m.Client)
	}
	dialHello(t, f.clientAddrs[0], clientKey(f.ids[0]), clientMsg(tcpnet.ClientHello, 100, []byte(tcpnet.ClientProto)))
	expectClosed(t, a, "the connection left with no client")
}

// TestDialClientsShareConnections: the clients of one DialClients call share one
// connection per replica (the first authenticates, the others attach), and every
// client's requests complete over them.
func TestDialClientsShareConnections(t *testing.T) {
	const seed, n = 23, 5
	f := newFixture(t, seed, n, 0, 1, 2, 3)
	for i := range replicas {
		f.start(i)
	}
	conns := f.dialClients(f.identities())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	errs := make(chan error, n)
	for c, conn := range conns {
		cl, err := client.New(f.cfg, f.ids[c], spec.TestStream("tcpnet-attach-nonce", seed*100+uint64(c)), conn, client.Options{Timeout: 20 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		go func() { errs <- runClient(ctx, cl, c, 6, "attach") }()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	for i, nd := range f.nodes {
		if st := nd.host.Stats().Clients; st.Attaches != (n-1)*st.Accepted || st.Conns != 1 {
			t.Errorf("replica %d: %+v; want one live connection, and %d attaches per connection accepted", i, st, n-1)
		}
	}
	if st := conns[n-1].Stats(); st.Connects != replicas || st.Replies == 0 {
		t.Errorf("last client's stats %+v: want %d connections and its replies", st, replicas)
	}
}

// TestUnattachedFramesAreDropped: a request or read for a client not attached to the
// connection, and a refused attach (a client the configuration does not register, a
// bad signature, a connection already carrying MaxClientsPerConn clients), are
// dropped and counted, and the connection stays open for its clients; an attach
// that does not decode as one closes it.
func TestUnattachedFramesAreDropped(t *testing.T) {
	f := newFixture(t, 24, 3)
	nd := f.startCustom(f.peerAddrs, func(o *tcpnet.Options) { o.MaxClientsPerConn = 2 })
	a := dialHello(t, f.clientAddrs[0], clientKey(f.ids[0]), clientMsg(tcpnet.ClientHello, 100, []byte(tcpnet.ClientProto)))
	read := spec.Encode(&spec.Read{Client: 101, ReadID: 1, Ops: []spec.SealedOp{{Ciphertext: make([]byte, 17)}}})
	var out []byte
	out = append(out, clientMsg(tcpnet.ClientRequest, 101, f.signedRequest(1))...)
	out = append(out, clientMsg(tcpnet.ClientRead, 101, read)...)
	out = append(out, clientMsg(tcpnet.ClientAttach, 999, make([]byte, 64))...)
	out = append(out, clientMsg(tcpnet.ClientRequest, 100, f.signedRequest(0))...)
	if _, err := a.Write(out); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "the frames to be read", func() (bool, string) {
		st := nd.host.Stats().Clients
		return st.Requests == 1 && st.Unattached == 2 && st.AttachRefused == 1, fmt.Sprintf("%+v", st)
	})
	if st := nd.host.Stats().Clients; st.Garbage != 0 || st.Conns != 1 {
		t.Fatalf("dropped frames closed the connection: %+v", st)
	}
	b := binding(t, a)
	badSig := clientMsg(tcpnet.ClientAttach, 101, ed25519.Sign(clientKey(f.ids[1]), tcpnet.AttachSignedBytes([32]byte{}, 101)))
	if _, err := a.Write(append(append(badSig, f.attachFrame(1, b)...), f.attachFrame(2, b)...)); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "the attaches", func() (bool, string) {
		st := nd.host.Stats().Clients
		return st.Attaches == 1 && st.AttachRefused == 3, fmt.Sprintf("%+v", st)
	})
	if st := nd.host.Stats().Clients; st.Garbage != 0 || st.Conns != 1 {
		t.Fatalf("refused attaches closed the connection: %+v", st)
	}
	if _, err := a.Write(clientMsg(tcpnet.ClientAttach, 101, make([]byte, 63))); err != nil {
		t.Fatal(err)
	}
	expectClosed(t, a, "an attach without a signature")
}

// TestDialClientsEpochAndClose: an epoch frame goes once to a connection shared by
// several clients and reaches every one of them; closing one client leaves the
// others working, and a client the cluster does not register (here the first,
// whose key would authenticate the connection) does not keep the others out.
func TestDialClientsEpochAndClose(t *testing.T) {
	const seed, n = 25, 3
	f := newFixture(t, seed, n, 0, 1, 2, 3)
	for i := range replicas {
		f.start(i)
	}
	conns := f.dialClients(f.identities(tcpnet.ClientIdentity{ID: 999, Key: strangerKey()}))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	f.everyReplica("every replica to carry the registered clients", func(st tcpnet.ClientStats) bool { return st.Conns == 1 })
	_, ec, _ := pushCluster(t, seed)
	change := spec.Encode(ec)
	en, ok := f.nodes[0].host.Net().(broker.EpochNet)
	if !ok {
		t.Fatal("the host's Net is not a broker.EpochNet")
	}
	en.Epoch(change)
	for i, c := range conns {
		select {
		case got := <-c.EpochChanges():
			if !bytes.Equal(got, change) {
				t.Fatalf("client %d got another epoch change", i)
			}
		case <-ctx.Done():
			t.Fatalf("client %d got no epoch change", i)
		}
	}
	if st := f.nodes[0].host.Stats().Clients; st.Epochs != 1 {
		t.Fatalf("replica 0 queued %d epoch frames for one connection, want 1", st.Epochs)
	}
	conns[1].Close()
	if err := conns[1].Send([]byte{0x80}); !errors.Is(err, tcpnet.ErrClosed) {
		t.Fatalf("Send after Close: %v, want ErrClosed", err)
	}
	errs := make(chan error, n-1)
	for c := 1; c < n; c++ {
		cl, err := client.New(f.cfg, f.ids[c], spec.TestStream("tcpnet-attach-nonce", seed*100+uint64(c)), conns[c+1], client.Options{Timeout: 20 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		go func() { errs <- runClient(ctx, cl, c, 4, "close") }()
	}
	for range n - 1 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

// TestReattachOnRetransmission: a client whose attach a broker refused (the broker
// had not registered it yet) is attached again when it retransmits, and its request
// completes.
func TestReattachOnRetransmission(t *testing.T) {
	const seed = 26
	f := newFixture(t, seed, 2, 0, 1, 2, 3)
	all := map[uint64]ed25519.PublicKey{}
	for _, id := range f.ids {
		all[id.ID] = clientKey(id).Public().(ed25519.PublicKey)
	}
	only100 := map[uint64]ed25519.PublicKey{100: all[100]}
	for i := range replicas {
		f.start(i).host.SetClientKeys(only100)
	}
	conns := f.dialClients(f.identities())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	f.everyReplica("every replica to refuse client 101", func(st tcpnet.ClientStats) bool { return st.AttachRefused == 1 })
	for _, nd := range f.nodes {
		nd.host.SetClientKeys(all)
	}
	cl, err := client.New(f.cfg, f.ids[1], spec.TestStream("tcpnet-attach-nonce", seed), conns[1],
		client.Options{Timeout: 20 * time.Second, Retransmit: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := runClient(ctx, cl, 1, 2, "reattach"); err != nil {
		t.Fatal(err)
	}
	if st := f.nodes[0].host.Stats().Clients; st.Unattached == 0 || st.Attaches == 0 {
		t.Fatalf("replica 0: %+v; want the first request dropped and 101 attached later", st)
	}
}

// registeredKeys returns the public keys of the fixture's clients, by id.
func (f *fixture) registeredKeys() map[uint64]ed25519.PublicKey {
	keys := map[uint64]ed25519.PublicKey{}
	for _, id := range f.ids {
		keys[id.ID] = clientKey(id).Public().(ed25519.PublicKey)
	}
	return keys
}

// TestSetClientKeysDropsRevoked: replacing the client keys drops what the new keys
// no longer allow: a removed client (101) and one registered again with another key
// (102) are detached from the connection they attached to, which stays open for its
// hello's client, and a connection whose hello's client was removed is closed; the
// replies and requests of the dropped clients go nowhere. Removing the hello's client
// of the remaining connection then closes it too.
func TestSetClientKeysDropsRevoked(t *testing.T) {
	f := newFixture(t, 27, 3, 0)
	nd := f.start(0)
	a := dialHello(t, f.clientAddrs[0], clientKey(f.ids[0]), clientMsg(tcpnet.ClientHello, 100, []byte(tcpnet.ClientProto)))
	ba := binding(t, a)
	if _, err := a.Write(append(f.attachFrame(1, ba), f.attachFrame(2, ba)...)); err != nil {
		t.Fatal(err)
	}
	b := dialHello(t, f.clientAddrs[0], clientKey(f.ids[1]), clientMsg(tcpnet.ClientHello, 101, []byte(tcpnet.ClientProto)))
	eventually(t, 5*time.Second, "two connections, two attaches", func() (bool, string) {
		st := nd.host.Stats().Clients
		return st.Attaches == 2 && st.Conns == 2, fmt.Sprintf("%+v", st)
	})
	keys := f.registeredKeys()
	delete(keys, 101)
	keys[102] = strangerKey().Public().(ed25519.PublicKey)
	nd.host.SetClientKeys(keys)
	expectClosed(t, b, "the connection of a removed client")
	if st := nd.host.Stats().Clients; st.Revoked != 3 || st.RevokedConns != 1 {
		t.Fatalf("after removing 101 and rekeying 102: %+v; want 3 attachments revoked (101, 102 on a; 101 on b) and 1 connection", st)
	}
	for _, c := range []uint64{101, 102, 100} {
		nd.host.Net().Reply(c, spec.Encode(&spec.Reply{Client: c, Timestamp: 1}))
	}
	if m := readReplyFrame(t, bufio.NewReader(a), a); m.Client != 100 { // its first frame: 101's and 102's went nowhere
		t.Fatalf("a got a reply for %d first, want 100's", m.Client)
	}
	if _, err := a.Write(clientMsg(tcpnet.ClientRequest, 101, f.signedRequest(1))); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "101's request on a to be dropped, b's session to end", func() (bool, string) {
		st := nd.host.Stats().Clients
		return st.Unattached == 1 && st.Conns == 1, fmt.Sprintf("%+v", st) // the server counts b gone after its goroutines end
	})
	if st := nd.host.Stats().Clients; st.NoConn != 2 || st.Conns != 1 || st.Requests != 0 {
		t.Fatalf("%+v: want 2 replies with no connection, a still open, no request", st)
	}
	nd.host.SetClientKeys(map[uint64]ed25519.PublicKey{102: keys[102]})
	expectClosed(t, a, "the connection whose hello's client was removed")
	if st := nd.host.Stats().Clients; st.RevokedConns != 2 || st.Revoked != 4 {
		t.Fatalf("after removing 100: %+v; want 2 connections closed, 4 attachments revoked", st)
	}
}

// TestSetClientKeysRekeyedHello: a client registered again with another key (its
// old key lost, say) no longer holds the connections its old key authenticated.
func TestSetClientKeysRekeyedHello(t *testing.T) {
	f := newFixture(t, 28, 1, 0)
	nd := f.start(0)
	a := dialHello(t, f.clientAddrs[0], clientKey(f.ids[0]), clientMsg(tcpnet.ClientHello, 100, []byte(tcpnet.ClientProto)))
	eventually(t, 5*time.Second, "the connection", func() (bool, string) {
		st := nd.host.Stats().Clients
		return st.Conns == 1, fmt.Sprintf("%+v", st)
	})
	nd.host.SetClientKeys(map[uint64]ed25519.PublicKey{100: strangerKey().Public().(ed25519.PublicKey)})
	expectClosed(t, a, "the connection of the old key")
	if st := nd.host.Stats().Clients; st.RevokedConns != 1 || st.Revoked != 1 {
		t.Fatalf("%+v: want the connection closed and its client revoked", st)
	}
}

// TestDialClientsAfterRevoke: when the cluster removes the client whose key
// authenticated a shared connection, the brokers close it, and the call's other
// clients reconnect under the next one and their requests complete.
func TestDialClientsAfterRevoke(t *testing.T) {
	const seed = 29
	f := newFixture(t, seed, 2, 0, 1, 2, 3)
	for i := range replicas {
		f.start(i)
	}
	conns := f.dialClients(f.identities())
	f.everyReplica("every replica to carry both clients", func(st tcpnet.ClientStats) bool { return st.Conns == 1 && st.Attaches == 1 })
	keys := f.registeredKeys()
	delete(keys, 100)
	for _, nd := range f.nodes {
		nd.host.SetClientKeys(keys)
	}
	f.everyReplica("every replica to close the connection of 100 and accept 101's", func(st tcpnet.ClientStats) bool {
		return st.RevokedConns == 1 && st.Accepted == 2 && st.Conns == 1
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl, err := client.New(f.cfg, f.ids[1], spec.TestStream("tcpnet-attach-nonce", seed), conns[1], client.Options{Timeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := runClient(ctx, cl, 1, 3, "revoke"); err != nil {
		t.Fatal(err)
	}
	if st := conns[1].Stats(); st.Reconnects < replicas {
		t.Fatalf("client stats %+v: want a reconnection to every replica", st)
	}
}
