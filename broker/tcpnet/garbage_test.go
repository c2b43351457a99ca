package tcpnet_test

import (
	"crypto/ed25519"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/splitbft/splitbft/broker"
	"github.com/splitbft/splitbft/broker/tcpnet"
	"github.com/splitbft/splitbft/spec"
)

// frame returns body with its u32 big-endian length prefix.
func frame(body []byte) []byte {
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(body))), body...)
}

// header returns a bare length prefix.
func header(n uint32) []byte { return binary.BigEndian.AppendUint32(nil, n) }

// seeded returns n bytes of the test stream (label, seed).
func seeded(label string, seed uint64, n int) []byte {
	b := make([]byte, n)
	io.ReadFull(spec.TestStream(label, seed), b)
	return b
}

func peerHello(proto string, id uint64) []byte {
	return frame(spec.Encode(&tcpnet.PeerHello{Proto: []byte(proto), Replica: id}))
}

func hintMsg() []byte { return broker.EncodePeer(broker.KindHint, spec.Encode(&broker.Hint{})) }

// garbageCase is a connection that must be closed by the host: it writes its bytes
// and expects the host to log a line with want and count one bad hello (badHello)
// or one garbage frame from the claimed peer.
type garbageCase struct {
	name     string
	bytes    []byte
	badHello bool
	want     string
}

// peerGarbage returns the garbage cases for the host of replica self; valid hellos
// claim replica 2.
func peerGarbage(seed, self uint64) []garbageCase {
	hello := peerHello(tcpnet.PeerProto, 2)
	random := seeded("tcpnet-garbage", seed, 64)
	random[0] = 0xff // a length prefix far over any cap
	nonCanonical := hintMsg()
	// PeerMsg = [kind, body]: 0x82, then kind 129 as 0x18 0x81; re-encode it as 0x19 0x00 0x81.
	nonCanonical = append([]byte{0x82, 0x19, 0x00, 0x81}, nonCanonical[3:]...)
	cat := func(parts ...[]byte) []byte {
		var out []byte
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	return []garbageCase{
		{"random bytes instead of a hello", random, true, "bad frame length"},
		{"client hello on the peer port", frame(spec.Encode(&tcpnet.ClientMsg{Kind: tcpnet.ClientHello, Client: 2, Body: []byte(tcpnet.ClientProto)})), true, "not a PeerHello"},
		{"hello for another protocol", peerHello("splitbft/v2/peer", 2), true, "protocol"},
		{"hello claiming the host's own id", peerHello(tcpnet.PeerProto, self), true, "own id"},
		{"hello claiming another replica than its key", peerHello(tcpnet.PeerProto, 3), true, "another identity"},
		{"hello claiming a replica beyond the cluster", peerHello(tcpnet.PeerProto, 4), true, "4-replica cluster"},
		{"zero frame length", cat(hello, header(0)), false, "bad frame length: 0"},
		{"frame length over the cap", cat(hello, header(tcpnet.MaxPeerFrame+1)), false, "bad frame length"},
		{"random frame body", cat(hello, frame(seeded("tcpnet-garbage-body", seed, 100))), false, "not a PeerMsg"},
		{"PeerMsg of no peer kind", cat(hello, frame(broker.EncodePeer(77, spec.Encode(&broker.Hint{})))), false, "not a peer kind"},
		{"PeerMsg whose body is not its kind", cat(hello, frame(broker.EncodePeer(spec.KindPrepare, []byte{0x80}))), false, "not a PeerMsg"},
		{"non-canonical PeerMsg", cat(hello, frame(nonCanonical)), false, "not the canonical encoding"},
		{"trailing byte after a PeerMsg", cat(hello, frame(append(hintMsg(), 0))), false, "not a PeerMsg"},
	}
}

// sendGarbage writes gc's bytes to addr (authenticated with key) and waits for the host to close the
// connection; it returns the local address the host saw.
func sendGarbage(t *testing.T, addr string, key ed25519.PrivateKey, gc garbageCase) string {
	t.Helper()
	conn := dialAs(t, addr, key)
	if _, err := conn.Write(gc.bytes); err != nil {
		t.Fatalf("%s: write: %v", gc.name, err)
	}
	expectClosed(t, conn, gc.name)
	return conn.LocalAddr().String()
}

// expectClosed fails unless the remote end closes conn within 5 s.
func expectClosed(t *testing.T, conn net.Conn, what string) {
	t.Helper()
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	var b [1]byte
	_, err := conn.Read(b[:])
	if ne := (net.Error)(nil); err == nil || errors.As(err, &ne) && ne.Timeout() || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("%s: the connection was not closed (read: %v)", what, err)
	}
}

// checkGarbage checks the counters and the log line of one case.
func checkGarbage(t *testing.T, nd *node, gc garbageCase, local string, before tcpnet.Stats) {
	t.Helper()
	st := nd.host.Stats()
	msg, claimed := "garbage from peer", "claimed=2"
	if gc.badHello {
		msg, claimed = "bad hello from peer", "claimed=none"
		if st.BadHellos != before.BadHellos+1 || st.Peers[2].Garbage != before.Peers[2].Garbage {
			t.Errorf("%s: bad hellos %d → %d, garbage %d → %d; want one more bad hello", gc.name, before.BadHellos, st.BadHellos, before.Peers[2].Garbage, st.Peers[2].Garbage)
		}
	} else if st.Peers[2].Garbage != before.Peers[2].Garbage+1 || st.BadHellos != before.BadHellos {
		t.Errorf("%s: garbage %d → %d, bad hellos %d → %d; want one more garbage frame from peer 2", gc.name, before.Peers[2].Garbage, st.Peers[2].Garbage, before.BadHellos, st.BadHellos)
	}
	if lines := nd.logs.lines("level=ERROR", msg, "addr="+local, claimed, gc.want); len(lines) != 1 {
		t.Errorf("%s: %d error lines with %q, addr=%s, %s and %q; log:\n%s", gc.name, len(lines), msg, local, claimed, gc.want, nd.logs.tail(2000))
	}
}

// TestPeerGarbageIsRejected sends each kind of garbage to a running host: each
// connection is closed, logged with the remote address and claimed id, and counted,
// and none of it reaches the broker (its PeerIn stays 0 until a valid frame arrives).
func TestPeerGarbageIsRejected(t *testing.T) {
	const seed = 3
	f := newFixture(t, seed, 1, 0)
	nd := f.start(0)
	for _, gc := range peerGarbage(seed, 0) {
		t.Run(gc.name, func(t *testing.T) {
			before := nd.host.Stats()
			local := sendGarbage(t, f.peerAddrs[0], transportKey(2), gc)
			checkGarbage(t, nd, gc, local, before)
		})
	}
	if m := f.metrics(0); m.PeerIn != 0 || m.Garbage != 0 {
		t.Fatalf("garbage reached the broker: PeerIn %d, Garbage %d", m.PeerIn, m.Garbage)
	}
	conn := dialAs(t, f.peerAddrs[0], transportKey(2))
	conn.Write(append(peerHello(tcpnet.PeerProto, 2), frame(hintMsg())...))
	eventually(t, 5*time.Second, "the valid hint to be received", func() (bool, string) {
		st := nd.host.Stats().Peers[2]
		return st.Received == 1, fmt.Sprintf("%+v", st)
	})
	if m := f.metrics(0); m.PeerIn != 1 || m.Garbage != 0 {
		t.Fatalf("after one valid hint the broker has PeerIn %d, Garbage %d; want 1, 0", m.PeerIn, m.Garbage)
	}
}

// TestClusterSurvivesGarbage sends every kind of peer garbage to replica 1 of a
// running cluster, claiming to be replica 2, between two workloads: the cluster keeps
// completing requests and replica 1 keeps hearing from the real replica 2.
func TestClusterSurvivesGarbage(t *testing.T) {
	const seed = 4
	f := newFixture(t, seed, 2, 0, 1, 2, 3)
	for i := range replicas {
		f.start(i)
	}
	if err := f.workload(2, 20, "before"); err != nil {
		t.Fatal(err)
	}
	nd := f.nodes[1]
	received := nd.host.Stats().Peers[2].Received
	var garbage, bad uint64
	for _, gc := range peerGarbage(seed, 1) {
		sendGarbage(t, f.peerAddrs[1], transportKey(2), gc)
		if gc.badHello {
			bad++
		} else {
			garbage++
		}
	}
	if err := f.workload(2, 20, "after"); err != nil {
		t.Fatal(err)
	}
	f.agree(t, 1, 0, 1, 2, 3)
	st := nd.host.Stats()
	if st.Peers[2].Garbage != garbage || st.BadHellos != bad {
		t.Errorf("replica 1 counted %d garbage frames and %d bad hellos, want %d and %d", st.Peers[2].Garbage, st.BadHellos, garbage, bad)
	}
	if st.Peers[2].Received <= received {
		t.Errorf("replica 1 heard nothing more from replica 2 (%d frames before, %d after)", received, st.Peers[2].Received)
	}
}
