package tcpnet_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/splitbft/splitbft/broker"
	"github.com/splitbft/splitbft/broker/tcpnet"
	"github.com/splitbft/splitbft/spec"
)

// TestReplacedReaderEnds: while the event loop is busy, a peer's reader waits for
// its inbound budget; when newer connections of the same peer replace its
// connection, that reader ends at once (it waited on the host's context before, and
// lingered until the loop freed room, then delivered a frame of a closed connection),
// and the frame it had not read is never delivered.
func TestReplacedReaderEnds(t *testing.T) {
	f := newFixture(t, 8, 1)
	peers := append([]string(nil), f.peerAddrs...)
	nd := f.startCustom(peers, func(o *tcpnet.Options) { o.PeerInLen = 1 })
	entered, release := make(chan struct{}), make(chan struct{})
	go nd.host.Query(context.Background(), func(*broker.Replica) { close(entered); <-release })
	<-entered
	defer close(release)
	hello := peerHello(tcpnet.PeerProto, 2)
	a := dialAs(t, f.peerAddrs[0], transportKey(2))
	a.Write(append(append(hello, frame(hintMsg())...), frame(hintMsg())...))
	stats := func() (bool, string) {
		st := nd.host.Stats().Peers[2]
		return st.Received == 1 && st.Inbound == 1 && st.Readers == 1, fmt.Sprintf("%+v", st)
	}
	eventually(t, 5*time.Second, "connection A's first hint, the second waiting for the budget", stats)
	b := dialAs(t, f.peerAddrs[0], transportKey(2))
	b.Write(hello)
	eventually(t, 5*time.Second, "connection B", func() (bool, string) {
		st := nd.host.Stats().Peers[2]
		return st.Inbound == 2 && st.Readers == 2, fmt.Sprintf("%+v", st)
	})
	dialAs(t, f.peerAddrs[0], transportKey(2)).Write(hello) // C: A is the oldest of three
	expectClosed(t, a, "connection A, replaced")
	eventually(t, 5*time.Second, "A's reader to end, B's and C's to run", func() (bool, string) {
		st := nd.host.Stats().Peers[2]
		return st.Inbound == 2 && st.Readers == 2, fmt.Sprintf("%+v", st)
	})
	release <- struct{}{}
	if st := nd.host.Stats().Peers[2]; st.Received != 1 {
		t.Fatalf("the replaced connection's unread hint was delivered: %+v", st)
	}
}

// TestClosedRelaysDroppedBeforeDecoding: a peer relaying requests with bad
// signatures to the primary uses up its relay budget at the broker; from then on its
// request frames are dropped by its reader before they are decoded or reach the
// event loop, and counted (SPEC §13.3 obligation 5).
func TestClosedRelaysDroppedBeforeDecoding(t *testing.T) {
	f := newFixture(t, 9, 1)
	nd := f.startCustom(append([]string(nil), f.peerAddrs...), func(*tcpnet.Options) {})
	var q spec.Request
	if err := spec.Decode(f.signedRequest(0), &q, spec.MaxBodyBytes(spec.KindRequest)); err != nil {
		t.Fatal(err)
	}
	junk := func(n int) []byte {
		var out []byte
		for range n {
			q.Body.Timestamp++
			out = append(out, frame(broker.EncodePeer(spec.KindRequest, spec.Encode(&q)))...)
		}
		return out
	}
	q.Body.Timestamp = 1 << 40 // its signature no longer matches
	conn := dialAs(t, f.peerAddrs[0], transportKey(2))
	conn.Write(append(peerHello(tcpnet.PeerProto, 2), junk(300)...))
	eventually(t, 5*time.Second, "300 junk relays handled or dropped", func() (bool, string) {
		m, st := f.metrics(0), nd.host.Stats().Peers[2]
		return m.PeerIn+st.RelayDrops == 300, fmt.Sprintf("%d in (%d verified and bad, %d dropped unverified), %d dropped undecoded", m.PeerIn, m.BadRequests, m.RelayDrops, st.RelayDrops)
	})
	m := f.metrics(0)
	if m.BadRequests < 64 || m.BadRequests > 64+10 || m.BadRequests+m.RelayDrops != m.PeerIn {
		t.Fatalf("%d verified and bad, %d dropped unverified of %d; want 64 to 74 verified (burst 64, then a period doubling per bad signature)", m.BadRequests, m.RelayDrops, m.PeerIn)
	}
	before := nd.host.Stats().Peers[2].RelayDrops
	conn.Write(junk(100))
	eventually(t, 5*time.Second, "the reader to drop 100 more undecoded", func() (bool, string) {
		st := nd.host.Stats().Peers[2]
		return st.RelayDrops == before+100, fmt.Sprintf("%+v", st)
	})
	if m2 := f.metrics(0); m2.PeerIn != m.PeerIn {
		t.Fatalf("the broker got %d peer messages, then %d: closed relays reached it", m.PeerIn, m2.PeerIn)
	}
}
