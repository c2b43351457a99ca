package operator

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"io"
	"math/big"
	"net"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/splitbft/splitbft/broker"
	"github.com/splitbft/splitbft/broker/tcpnet"
	"github.com/splitbft/splitbft/client"
	"github.com/splitbft/splitbft/spec"
)

// The attacks of TestAttacks. Each is bounded in rate and in connections held.

// maxHeld bounds the connections one attack holds open at once.
const maxHeld = 300

// frameOf prefixes body with its length, as both ports frame it.
func frameOf(body []byte) []byte {
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(body))), body...)
}

// forgedPeerBytes is a hello claiming replica id followed by forged hints ("ahead",
// to stop suspicion; "behind", to cause retransmission), a fetch-batch and an unsigned
// relayed request: what findings 1–3 of issue 15 sent.
func forgedPeerBytes(id uint64) []byte {
	out := frameOf(spec.Encode(&tcpnet.PeerHello{Proto: []byte(tcpnet.PeerProto), Replica: id}))
	for _, h := range []broker.Hint{{ExecLast: 1 << 40, Stable: 1 << 40, Active: true}, {}} {
		out = append(out, frameOf(broker.EncodePeer(broker.KindHint, spec.Encode(&h)))...)
	}
	out = append(out, frameOf(broker.EncodePeer(broker.KindFetchBatch, spec.Encode(&broker.BatchFetch{Digests: []spec.Digest{{1}}})))...)
	req := spec.Request{Body: spec.RequestBody{Client: 1, Timestamp: 1 << 50, Ops: []spec.SealedOp{{Ciphertext: make([]byte, 32)}}}}
	return append(out, frameOf(broker.EncodePeer(spec.KindRequest, spec.Encode(&req)))...)
}

// strangerTLS is a TLS configuration presenting a fresh key the cluster does not know.
func strangerTLS(t *testing.T) *tls.Config {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return keyTLS(t, key)
}

// keyTLS is a TLS configuration presenting key in a self-signed certificate.
func keyTLS(t *testing.T, key ed25519.PrivateKey) *tls.Config {
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Unix(0, 0), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{MinVersion: tls.VersionTLS13, InsecureSkipVerify: true, CurvePreferences: []tls.CurveID{tls.X25519},
		Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
}

// sendAndClose dials addr, optionally runs a TLS handshake, writes b, and closes.
func sendAndClose(addr string, cfg *tls.Config, b []byte) {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
	if cfg != nil {
		tc := tls.Client(c, cfg)
		if tc.Handshake() != nil {
			return
		}
		c = tc
	}
	c.Write(b)
	c.Read(make([]byte, 1)) // until the broker closes it (or the deadline)
}

// burst runs f for every address concurrently and waits.
func burst(addrs []string, f func(i int, addr string)) {
	var wg sync.WaitGroup
	for i, a := range addrs {
		wg.Go(func() { f(i, a) })
	}
	wg.Wait()
}

// plainPeerFlood: plain TCP connections to every peer port, 50 per second per
// replica, each with a hello claiming a replica and forged hints, fetches and an
// unsigned relayed request (findings 1–3).
func plainPeerFlood(t *testing.T, pc *procCluster) func() {
	addrs := pc.addrs("peer")
	return repeat(20*time.Millisecond, func() {
		burst(addrs, func(i int, a string) { sendAndClose(a, nil, forgedPeerBytes(uint64(i+1)%4)) })
	})
}

// strangerPeerFlood: TLS handshakes with an unknown key to every peer port, 50 per
// second per replica, then the same forged frames.
func strangerPeerFlood(t *testing.T, pc *procCluster) func() {
	addrs, cfg := pc.addrs("peer"), strangerTLS(t)
	return repeat(20*time.Millisecond, func() {
		burst(addrs, func(i int, a string) { sendAndClose(a, cfg, forgedPeerBytes(uint64(i+1)%4)) })
	})
}

// clientSlowloris: connections to every client port claiming client 1 (plain, and
// TLS with an unknown key), each starting a 16 MiB request frame and then stalling;
// up to maxHeld held at once (findings 4 and 5).
func clientSlowloris(t *testing.T, pc *procCluster) func() {
	addrs, cfg := pc.addrs("client"), strangerTLS(t)
	hello := frameOf(spec.Encode(&tcpnet.ClientMsg{Kind: tcpnet.ClientHello, Client: 1, Body: []byte(tcpnet.ClientProto)}))
	partial := append(binary.BigEndian.AppendUint32(hello, 16<<20), make([]byte, 1024)...)
	h := &holder{}
	n := 0
	stop := repeat(20*time.Millisecond, func() {
		burst(addrs, func(_ int, a string) {
			c := h.dial(a)
			if c == nil {
				return
			}
			c.SetDeadline(time.Now().Add(time.Second))
			if n%2 == 1 {
				tc := tls.Client(c, cfg)
				if tc.Handshake() != nil {
					return
				}
				c = tc
			}
			c.Write(partial)
		})
		n++
		h.trim(maxHeld)
	})
	return func() { stop(); h.closeAll() }
}

// statusHog: idle connections to every status port with a partial request header,
// up to maxHeld held at once (finding 4).
func statusHog(t *testing.T, pc *procCluster) func() {
	addrs := pc.addrs("status")
	h := &holder{}
	stop := repeat(20*time.Millisecond, func() {
		if h.held() >= maxHeld {
			return // holding is the attack; the broker closes them at its header timeout
		}
		burst(addrs, func(_ int, a string) {
			if c := h.dial(a); c != nil {
				c.Write([]byte("GET /status HTTP/1.1\r\nHost: x\r\n"))
			}
		})
	})
	return func() { stop(); h.closeAll() }
}

// held is the number of connections held.
func (h *holder) held() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.conns)
}

// trim closes the oldest held connections beyond n.
func (h *holder) trim(n int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for len(h.conns) > n {
		h.conns[0].Close()
		h.conns = h.conns[1:]
	}
}

// floodingClient: registered client id, with its own credentials, sends n validly
// signed requests (pre-signed, increasing timestamps) to every replica as fast as
// its connections take them (finding 3: "one registered client sending 20,000 signed
// requests").
func floodingClient(id, n int) func(t *testing.T, pc *procCluster) func() {
	return func(t *testing.T, pc *procCluster) func() {
		kv, err := Connect(context.Background(), KVOptions{Dir: pc.dir, ID: uint64(id), Wait: time.Minute, Stderr: io.Discard, Quiet: true})
		if err != nil {
			t.Fatalf("flooding client %d: %v", id, err)
		}
		ident, err := LoadIdentity(pc.dir, uint64(id))
		if err != nil {
			t.Fatal(err)
		}
		base := uint64(time.Now().UnixNano())
		reqs := make([][]byte, n)
		for i := range reqs { // one session per request: a session has one outstanding
			s, err := client.NewSession(kv.Config, ident, rand.Reader)
			if err == nil {
				err = s.SetNextTimestamp(base + uint64(i))
			}
			if err == nil {
				reqs[i], _, err = s.Prepare([][]byte{client.PutOp([]byte("flood"), []byte("x"))})
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		next := 0
		stop := repeat(5*time.Millisecond, func() {
			for k := 0; k < 100 && next < len(reqs); k++ {
				kv.conn.Broadcast(reqs[next])
				next++
			}
		})
		return func() { stop(); kv.Close() }
	}
}

// attachFlood: a registered client (id) holds four connections to every client port
// (authenticated with its key) and writes attach frames on them as fast as the
// brokers read: for the measuring clients (1..others) with bad signatures, each of
// which costs a broker a verification, and for ids nobody registered, which cost
// none. The per-identity attach budget (SPEC §13.2: 64 verifications a second)
// bounds what it costs; its readers wait for tokens, so TCP flow control slows it.
func attachFlood(id, others int) func(t *testing.T, pc *procCluster) func() {
	return func(t *testing.T, pc *procCluster) func() {
		ident, err := LoadIdentity(pc.dir, uint64(id))
		if err != nil {
			t.Fatal(err)
		}
		cfg := keyTLS(t, ed25519.NewKeyFromSeed(ident.Seed[:]))
		hello := frameOf(spec.Encode(&tcpnet.ClientMsg{Kind: tcpnet.ClientHello, Client: uint64(id), Body: []byte(tcpnet.ClientProto)}))
		var attaches []byte
		for k := range 2048 {
			target := uint64(1 + k%others)
			if k%2 == 1 {
				target = 1<<40 + uint64(k)
			}
			sig := make([]byte, ed25519.SignatureSize)
			rand.Read(sig)
			attaches = append(attaches, frameOf(spec.Encode(&tcpnet.ClientMsg{Kind: tcpnet.ClientAttach, Client: target, Body: sig}))...)
		}
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		for _, a := range pc.addrs("client") {
			for range 4 { // a client's connection limit per broker
				wg.Go(func() {
					for ctx.Err() == nil {
						c, err := net.DialTimeout("tcp", a, time.Second)
						if err != nil {
							time.Sleep(10 * time.Millisecond)
							continue
						}
						stop := context.AfterFunc(ctx, func() { c.Close() })
						tc := tls.Client(c, cfg)
						c.SetDeadline(time.Now().Add(2 * time.Second))
						if tc.Handshake() == nil {
							c.SetDeadline(time.Time{})
							for _, err := tc.Write(hello); err == nil; _, err = tc.Write(attaches) {
							}
						}
						stop()
						c.Close()
					}
				})
			}
		}
		return func() {
			cancel()
			wg.Wait()
			for i, a := range pc.addrs("status") { // the flood reached every broker
				raw, err := httpGet(context.Background(), a, "/metrics", 2*time.Second, 1<<20)
				if err != nil || !regexp.MustCompile(`(?m)^splitbft_tcp_client_attach_refused_total [1-9]`).Match(raw) {
					t.Errorf("replica %d refused no attach during the attach flood (%v)", i, err)
				}
			}
		}
	}
}

// faultyPeerFlood: replica 3 is faulty (one of the f = 1): with its transport key, a
// connection to the primary's (replica 0's) peer port relays junk requests (R1–R4
// valid, bad signature, ever newer timestamps, so neither stale nor duplicate) as
// fast as the connection takes them (up to 40,000 frames a second). The primary's
// budget of bad signatures for replica 3 (SPEC §13.3 obligation 5), whose refill
// slows with every bad signature, bounds the signatures it verifies for them; once it
// is used up, the transport drops replica 3's request frames before decoding them,
// and its per-peer queue, served round-robin, keeps the other peers' messages from
// waiting behind the junk (§13.2). Replica 3's own outbound connection to 0 keeps
// working beside this one (two inbound per peer), but the relays it makes for its
// clients are dropped with the junk: a client's retransmission to every replica gets
// its request through, and a client does not stay with a replica that let a request
// time out (§13.2, client port).
func faultyPeerFlood(t *testing.T, pc *procCluster) func() {
	tmpl, err := LoadTemplate(pc.dir)
	if err != nil {
		t.Fatal(err)
	}
	key, err := LoadTransportKey(pc.dir, tmpl, 3)
	if err != nil {
		t.Fatal(err)
	}
	cfg, addr := keyTLS(t, key), pc.addrs("peer")[0]
	hello := frameOf(spec.Encode(&tcpnet.PeerHello{Proto: []byte(tcpnet.PeerProto), Replica: 3}))
	var conn net.Conn
	ts := uint64(1) << 62
	stop := repeat(5*time.Millisecond, func() {
		if conn == nil {
			if conn = dialTLS(addr, cfg, hello); conn == nil {
				return
			}
		}
		var out []byte
		for range 200 {
			ts++
			req := spec.Request{Body: spec.RequestBody{Client: 1, Timestamp: ts, Ops: []spec.SealedOp{{Ciphertext: make([]byte, 32)}}}}
			out = append(out, frameOf(broker.EncodePeer(spec.KindRequest, spec.Encode(&req)))...)
		}
		conn.SetWriteDeadline(time.Now().Add(time.Second))
		if _, err := conn.Write(out); err != nil {
			conn.Close()
			conn = nil
		}
	})
	return func() {
		stop()
		if conn != nil {
			conn.Close()
		}
	}
}

// dialTLS dials addr, completes a TLS handshake with cfg and writes hello; nil on
// any failure.
func dialTLS(addr string, cfg *tls.Config, hello []byte) net.Conn {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return nil
	}
	tc := tls.Client(c, cfg)
	tc.SetDeadline(time.Now().Add(2 * time.Second))
	if tc.Handshake() != nil {
		c.Close()
		return nil
	}
	if _, err := tc.Write(hello); err != nil {
		c.Close()
		return nil
	}
	tc.SetDeadline(time.Time{})
	return tc
}
