package tcpnet_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/splitbft/splitbft/broker/tcpnet"
	"github.com/splitbft/splitbft/spec"
)

// newFakeReplica is a fake front end authenticating as replica i.
func newFakeReplica(t *testing.T, i int) *fakeFrontEnd {
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
			tc := tlsServe(t, conn, transportKey(i)).(*tls.Conn)
			go func() {
				if tc.Handshake() == nil {
					fe.conns <- tc
				}
			}()
		}
	}()
	return fe
}

// expectRequest reads the next frame of a front end's connection and checks that it
// is client id's request req.
func expectRequest(t *testing.T, r *bufio.Reader, conn net.Conn, id uint64, req []byte, replica int) {
	t.Helper()
	body := readPeerFrame(t, r, conn)
	var m tcpnet.ClientMsg
	if err := spec.Decode(body, &m, tcpnet.MaxClientFrame); err != nil || m.Kind != tcpnet.ClientRequest || m.Client != id || string(m.Body) != string(req) {
		t.Fatalf("replica %d got %+v (%v), want client %d's request", replica, m, err, id)
	}
}

// TestClientTargetMovesOnlyOnRetransmission: a client sends to replica 0 and stays
// there although replica 3 sent the last reply (a faulty replica could otherwise draw
// every client's requests to itself and drop them); a retransmission (Broadcast)
// moves it to replica 1, and a second one to replica 2.
func TestClientTargetMovesOnlyOnRetransmission(t *testing.T) {
	const id = 7
	fes, addrs := make([]*fakeFrontEnd, replicas), make([]string, replicas)
	for i := range fes {
		fes[i] = newFakeReplica(t, i)
		addrs[i] = fes[i].l.Addr().String()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cc, err := tcpnet.DialClient(ctx, addrs, id, tcpnet.ClientOptions{MinBackoff: time.Millisecond, Rand: spec.TestStream("tcpnet-target", 1),
		Key: transportKey(id), ServerKeys: transportPubs()})
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	conns, readers := make([]net.Conn, replicas), make([]*bufio.Reader, replicas)
	for i, fe := range fes {
		conns[i] = fe.next(t, id)
		readers[i] = bufio.NewReader(conns[i])
	}
	// A front end reads the hello before the client marks the link connected; until
	// then Send would skip replica 0 (CI once saw the first request go to replica 1).
	eventually(t, 5*time.Second, "all connections up", func() (bool, string) {
		return cc.Stats().Connected == replicas, fmt.Sprintf("%d connected", cc.Stats().Connected)
	})
	req := func(ts uint64) []byte {
		return spec.Encode(&spec.Request{Body: spec.RequestBody{Client: id, Timestamp: ts, Ops: []spec.SealedOp{{Ciphertext: make([]byte, 17)}}}})
	}
	cc.Send(req(1))
	expectRequest(t, readers[0], conns[0], id, req(1), 0)
	conns[3].Write(clientMsg(tcpnet.ClientReply, id, spec.Encode(&spec.Reply{Client: id, Timestamp: 1, Replica: 3})))
	select {
	case <-cc.Replies():
	case <-time.After(5 * time.Second):
		t.Fatal("no reply within 5s")
	}
	cc.Send(req(2))
	expectRequest(t, readers[0], conns[0], id, req(2), 0)
	for _, step := range []struct {
		ts   uint64
		want int
	}{{3, 1}, {4, 2}} {
		ts, want := step.ts, step.want
		cc.Broadcast(req(ts))
		for i := range conns {
			expectRequest(t, readers[i], conns[i], id, req(ts), i)
		}
		cc.Send(req(ts + 10))
		expectRequest(t, readers[want], conns[want], id, req(ts+10), want)
	}
}
