package tcpnet_test

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/splitbft/splitbft/broker"
	"github.com/splitbft/splitbft/broker/tcpnet"
	"github.com/splitbft/splitbft/client"
	"github.com/splitbft/splitbft/internal/testcluster"
	"github.com/splitbft/splitbft/spec"
)

// pushCluster is a configuration with known enclave keys, to sign epoch changes.
func pushCluster(t *testing.T, seed uint64) (*testcluster.Cluster, *spec.EpochChange, *spec.Config) {
	t.Helper()
	tc, err := testcluster.New(seed, testcluster.Options{F: 1, K: 4, L: 8, MaxBatch: 8, MaxOps: 4, MaxOpBytes: 64,
		Name: "tcpnet-push", Builds: [3]string{"test", "test", "test"}, Clients: []uint64{7}, Keys: spec.TestStream("tcpnet-push", seed)})
	if err != nil {
		t.Fatalf("seed %d: %v", seed, err)
	}
	var next spec.Config
	if err := spec.Decode(spec.Encode(tc.Config), &next, spec.MaxMessageBytes); err != nil {
		t.Fatal(err)
	}
	next.Epoch, next.Prev, next.StartSeq, next.StartState = 1, tc.CD, 4, spec.Digest{4}
	ec := &spec.EpochChange{Config: spec.Encode(&next)}
	for i := range uint64(3) {
		b := spec.EpochVoteBody{Next: spec.ConfigDigest(&next), Replica: i}
		ec.Votes = append(ec.Votes, spec.EpochVote{Body: b, Sig: tc.Sign(spec.RoleExec, i, spec.DomainEpochVote, &b)})
	}
	return tc, ec, &next
}

// readRequest reads the next client frame on a fake front end and returns the
// REQUEST it carries.
func readRequest(t *testing.T, r *bufio.Reader, conn net.Conn) spec.Request {
	t.Helper()
	var m tcpnet.ClientMsg
	var q spec.Request
	body := readPeerFrame(t, r, conn)
	if err := spec.Decode(body, &m, tcpnet.MaxClientFrame); err != nil || m.Kind != tcpnet.ClientRequest {
		t.Fatalf("frame %+v (%v), want a request", m, err)
	}
	if err := spec.Decode(m.Body, &q, spec.MaxBodyBytes(spec.KindRequest)); err != nil {
		t.Fatal(err)
	}
	return q
}

// signedUnder reports whether q carries a valid client signature under digest cd.
func signedUnder(cfg *spec.Config, q *spec.Request, cd spec.Digest) bool {
	pub := cfg.Client(q.Body.Client).SignKey
	return ed25519.Verify(pub[:], spec.SignedBytes(spec.DomainRequest, cd, spec.Encode(&q.Body)), q.Sig[:])
}

// TestPushedEpochResendsOverTCP: a request is in flight when the cluster changes
// epoch; replica 2's front end pushes the epoch change (kind 5), and the client,
// whose retransmission timer is an hour, sends replica 0 the request again at once,
// re-signed under the new digest with the same timestamp (SPEC §13.2, §17.7). A
// forged push before it (a vote flipped) is ignored and sends nothing.
func TestPushedEpochResendsOverTCP(t *testing.T) {
	const id, seed = 7, 61
	tc, ec, next := pushCluster(t, seed)
	fes, addrs := make([]*fakeFrontEnd, replicas), make([]string, replicas)
	for i := range fes {
		fes[i] = newFakeReplica(t, i)
		addrs[i] = fes[i].l.Addr().String()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cc, err := tcpnet.DialClient(ctx, addrs, id, tcpnet.ClientOptions{MinBackoff: time.Millisecond, Rand: spec.TestStream("tcpnet-push-jitter", seed),
		Key: transportKey(id), ServerKeys: transportPubs()})
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	conns := make([]net.Conn, replicas)
	for i, fe := range fes {
		conns[i] = fe.next(t, id)
	}
	eventually(t, 5*time.Second, "all connections up", func() (bool, string) {
		return cc.Stats().Connected == replicas, fmt.Sprintf("%d connected", cc.Stats().Connected)
	})
	cl, err := client.New(tc.Config, client.Identity(tc.Clients()[0]), spec.TestStream("tcpnet-push-nonce", seed), cc,
		client.Options{Retransmit: time.Hour, Timeout: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := cl.Do(ctx, [][]byte{client.GetOp([]byte("k"))}); done <- err }()
	r0 := bufio.NewReader(conns[0])
	first := readRequest(t, r0, conns[0])
	if !signedUnder(tc.Config, &first, tc.CD) {
		t.Fatalf("seed %d: the first request is not signed under the first configuration", seed)
	}
	forged := *ec
	forged.Votes = append([]spec.EpochVote(nil), ec.Votes...)
	forged.Votes[1].Sig[3] ^= 1
	conns[1].Write(clientMsg(tcpnet.ClientEpoch, 0, spec.Encode(&forged)))
	eventually(t, 5*time.Second, "the forged push handled", func() (bool, string) {
		return cl.IgnoredEpochs() == 1, fmt.Sprintf("%d pushes ignored", cl.IgnoredEpochs())
	})
	conns[2].Write(clientMsg(tcpnet.ClientEpoch, 0, spec.Encode(ec)))
	again := readRequest(t, r0, conns[0]) // nothing else is sent: the forged push sent no request
	if !signedUnder(next, &again, spec.ConfigDigest(next)) || again.Body.Timestamp != first.Body.Timestamp {
		t.Fatalf("seed %d: re-sent request: signed under the new digest %v, timestamp %d (was %d)",
			seed, signedUnder(next, &again, spec.ConfigDigest(next)), again.Body.Timestamp, first.Body.Timestamp)
	}
	if cl.Session().Epoch() != 1 || cl.IgnoredEpochs() != 1 || cc.Stats().Epochs != 2 {
		t.Fatalf("seed %d: session epoch %d, ignored pushes %d, pushes delivered %d; want 1, 1, 2",
			seed, cl.Session().Epoch(), cl.IgnoredEpochs(), cc.Stats().Epochs)
	}
	cancel()
	<-done
}

// TestClientConnEpochFrames: an epoch frame reaches EpochChanges as sent, at most
// two per replica wait there (more are dropped and counted), and an epoch frame
// addressed to a client or whose body is not an EPOCH-CHANGE is garbage that closes
// the connection.
func TestClientConnEpochFrames(t *testing.T) {
	const id = 7
	_, ec, _ := pushCluster(t, 62)
	raw := spec.Encode(ec)
	fe := newFakeFrontEnd(t, id)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cc, err := tcpnet.DialClient(ctx, []string{fe.l.Addr().String()}, id, tcpnet.ClientOptions{MinBackoff: time.Millisecond,
		Rand: spec.TestStream("tcpnet-cc-epoch", 1), Key: transportKey(id), ServerKeys: transportPubs()[:1]})
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	conn := fe.next(t, id)
	for range 3 {
		conn.Write(clientMsg(tcpnet.ClientEpoch, 0, raw))
	}
	conn.Write(clientMsg(tcpnet.ClientEpoch, id, raw)) // garbage: addressed to a client
	expectClosed(t, conn, "an epoch frame for client 7")
	conn = fe.next(t, id)
	conn.Write(clientMsg(tcpnet.ClientEpoch, 0, []byte{0x80})) // garbage: not an EPOCH-CHANGE
	expectClosed(t, conn, "an epoch frame that is not an EPOCH-CHANGE")
	for range 2 {
		if got := <-cc.EpochChanges(); string(got) != string(raw) {
			t.Fatalf("epoch change %x, want %x", got, raw)
		}
	}
	if st := cc.Stats(); st.Epochs != 2 || st.EpochDrops != 1 || st.Garbage != 2 || len(cc.EpochChanges()) != 0 {
		t.Fatalf("stats %+v, %d waiting; want 2 epochs, 1 dropped, 2 garbage, none waiting", st, len(cc.EpochChanges()))
	}
}

// TestHostPushesEpoch: the host's Net is a broker.EpochNet; Epoch queues the change,
// exactly as given, once on every live client connection.
func TestHostPushesEpoch(t *testing.T) {
	const seed = 63
	f := newFixture(t, seed, 2, 0)
	nd := f.start(0)
	var ccs []*tcpnet.ClientConn
	for c := range 2 {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		cc, err := tcpnet.DialClient(ctx, f.clientAddrs[:1], f.ids[c].ID, tcpnet.ClientOptions{MinBackoff: time.Millisecond,
			Rand: spec.TestStream("tcpnet-host-push", seed), Key: clientKey(f.ids[c]), ServerKeys: transportPubs()[:1]})
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		defer cc.Close()
		ccs = append(ccs, cc)
	}
	eventually(t, 5*time.Second, "both clients registered", func() (bool, string) {
		n := nd.host.Stats().Clients.Conns
		return n == 2, fmt.Sprintf("%d connections", n)
	})
	en, ok := nd.host.Net().(broker.EpochNet)
	if !ok {
		t.Fatal("the host's Net is not a broker.EpochNet")
	}
	_, ec, _ := pushCluster(t, seed)
	raw := spec.Encode(ec)
	en.Epoch(raw)
	for c, cc := range ccs {
		select {
		case got := <-cc.EpochChanges():
			if string(got) != string(raw) {
				t.Fatalf("client %d got %x, want %x", c, got, raw)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("client %d: no epoch change within 5s", c)
		}
	}
	if st := nd.host.Stats().Clients; st.Epochs != 2 || st.EpochDrops != 0 {
		t.Fatalf("host stats %+v; want 2 epochs queued, none dropped", st)
	}
}
