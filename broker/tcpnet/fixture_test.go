package tcpnet_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/splitbft/splitbft/broker"
	"github.com/splitbft/splitbft/broker/tcpnet"
	"github.com/splitbft/splitbft/client"
	"github.com/splitbft/splitbft/internal/builds"
	"github.com/splitbft/splitbft/spec"
)

// replicas is the cluster size of every fixture (f = 1).
const replicas = 4

// fixture is a bootstrapped 4-replica cluster whose hosts are started on demand: the
// enclaves run in-process (seeded), the brokers talk over loopback TCP.
type fixture struct {
	t           *testing.T
	seed        uint64
	cfg         *spec.Config
	ids         []client.Identity
	enc         [][3]broker.Enclave
	peerAddrs   []string
	clientAddrs []string
	nodes       []*node // index = replica id; nil until listened
	clients     map[uint64]*client.Client
	conns       []*tcpnet.ClientConn // the clients' connections
	mu          sync.Mutex
}

// node is one replica's host and broker.
type node struct {
	host   *tcpnet.Host
	rep    *broker.Replica
	logs   *logSink
	cancel context.CancelFunc
	done   chan error // Run's result
}

// newFixture bootstraps the cluster with nClients registered clients (ids 100, 101,
// …) and binds the ports of the replicas in listen; the others' addresses are
// reserved (bound, then released) so that those replicas can come up later.
func newFixture(t *testing.T, seed uint64, nClients int, listen ...int) *fixture {
	t.Helper()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("seed %d", seed)
		}
	})
	f := &fixture{t: t, seed: seed, nodes: make([]*node, replicas), clients: map[uint64]*client.Client{},
		peerAddrs: make([]string, replicas), clientAddrs: make([]string, replicas)}
	f.bootstrap(nClients)
	for i := range replicas {
		f.peerAddrs[i], f.clientAddrs[i] = reserveAddr(t), reserveAddr(t)
	}
	for _, i := range listen {
		f.listen(i, "127.0.0.1:0", "127.0.0.1:0")
	}
	for _, nd := range f.nodes {
		if nd != nil {
			if err := nd.host.SetPeers(f.peerAddrs); err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Cleanup(f.stopAll)
	return f
}

// trio is the diversity matrix: (prep, conf) = (a,a), (a,b), (b,a), (b,b); all three
// compartments of replica i draw from rand.
func trio(i int, rand io.Reader) [3]spec.Compartment {
	t := builds.Trio("ab"[i/2%2:i/2%2+1], "ab"[i%2:i%2+1])
	return [3]spec.Compartment{t[0](rand), t[1](rand), t[2](rand)}
}

func (f *fixture) bootstrap(nClients int) {
	f.enc = make([][3]broker.Enclave, replicas)
	for i := range replicas {
		for role, c := range trio(i, spec.TestStream("tcpnet-enclave", f.seed*16+uint64(i))) {
			f.enc[i][role] = broker.InProcess(c)
		}
	}
	setup := broker.Setup{Name: "tcpnet-test", AllowDevInsecure: true}
	rand := spec.TestStream("tcpnet-client", f.seed)
	for c := range nClients {
		id, err := client.NewIdentity(uint64(100+c), rand)
		if err != nil {
			f.t.Fatal(err)
		}
		f.ids = append(f.ids, id)
		setup.Clients = append(setup.Clients, id.Registration())
	}
	cfg, err := broker.Bootstrap(setup, f.enc)
	if err != nil {
		f.t.Fatalf("bootstrap: %v", err)
	}
	f.cfg = cfg
}

// reserveAddr returns a loopback address that was free a moment ago.
func reserveAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// hostOptions are the options of replica i's host in tests.
func (f *fixture) hostOptions(i int, peer, cl string, logs *logSink) tcpnet.Options {
	clients := map[uint64]ed25519.PublicKey{}
	for _, id := range f.ids {
		clients[id.ID] = clientKey(id).Public().(ed25519.PublicKey)
	}
	return tcpnet.Options{ID: uint64(i), Listen: peer, ClientListen: cl, Tick: 5 * time.Millisecond,
		MinBackoff: 10 * time.Millisecond, MaxBackoff: 200 * time.Millisecond, Logger: logs.logger(),
		Rand: spec.TestStream("tcpnet-jitter", f.seed*16+uint64(i)),
		Key:  transportKey(i), PeerKeys: transportPubs(), ClientKeys: clients}
}

// listen binds replica i's host and builds its broker; the addresses it got
// replace the reserved ones.
func (f *fixture) listen(i int, peer, cl string) *node {
	f.t.Helper()
	logs := &logSink{}
	h, err := tcpnet.Listen(f.hostOptions(i, peer, cl, logs))
	if err != nil {
		f.t.Fatalf("listen replica %d: %v", i, err)
	}
	f.peerAddrs[i], f.clientAddrs[i] = h.PeerAddr(), h.ClientAddr()
	rep := broker.NewReplica(uint64(i), f.cfg, f.enc[i], h.Net(), broker.Options{RequestTimeoutTicks: 400})
	nd := &node{host: h, rep: rep, logs: logs}
	f.nodes[i] = nd
	return nd
}

// start runs replica i's host (listening on its reserved addresses if it has not
// listened yet).
func (f *fixture) start(i int) *node {
	f.t.Helper()
	nd := f.nodes[i]
	if nd == nil {
		nd = f.listen(i, f.peerAddrs[i], f.clientAddrs[i])
		if err := nd.host.SetPeers(f.peerAddrs); err != nil {
			f.t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	nd.cancel, nd.done = cancel, make(chan error, 1)
	go func() { nd.done <- nd.host.Run(ctx, nd.rep) }()
	return nd
}

// stop cancels replica i's host and waits for Run to return.
func (f *fixture) stop(i int) {
	f.t.Helper()
	nd := f.nodes[i]
	if nd == nil || nd.cancel == nil {
		return
	}
	nd.cancel()
	select {
	case err := <-nd.done:
		if err != nil {
			f.t.Errorf("replica %d: Run returned %v", i, err)
		}
	case <-time.After(5 * time.Second):
		f.t.Errorf("replica %d: Run did not return within 5s of cancel", i)
	}
	nd.cancel = nil
}

// closeClients closes every client's connections.
func (f *fixture) closeClients() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.conns {
		c.Close()
	}
}

func (f *fixture) stopAll() {
	// The clients' connections are closed by their own t.Cleanup, which runs first.
	for i, nd := range f.nodes {
		f.stop(i)
		if nd != nil {
			nd.host.Close()
			if f.t.Failed() {
				f.t.Logf("replica %d log (tail):\n%s", i, nd.logs.tail(4000))
			}
		}
	}
}

// client returns the client of identity c, connected to every replica's front end.
func (f *fixture) client(c int) *client.Client {
	f.t.Helper()
	id := f.ids[c]
	f.mu.Lock()
	defer f.mu.Unlock()
	if cl, ok := f.clients[id.ID]; ok {
		return cl
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := tcpnet.DialClient(ctx, f.clientAddrs, id.ID, tcpnet.ClientOptions{
		MinBackoff: 10 * time.Millisecond, MaxBackoff: 200 * time.Millisecond,
		Rand: spec.TestStream("tcpnet-client-jitter", f.seed*1000+id.ID), Key: clientKey(id), ServerKeys: transportPubs()})
	if err != nil {
		f.t.Fatalf("client %d: %v", id.ID, err)
	}
	f.t.Cleanup(func() { conn.Close() })
	f.conns = append(f.conns, conn)
	cl, err := client.New(f.cfg, id, spec.TestStream("tcpnet-nonce", f.seed*1000+id.ID), conn, client.Options{Timeout: 20 * time.Second, Retransmit: 300 * time.Millisecond})
	if err != nil {
		f.t.Fatal(err)
	}
	f.clients[id.ID] = cl
	return cl
}

// workload has clients 0..n−1 each do perClient requests concurrently (alternating
// puts and gets of their own keys, checking every get) and returns the first error.
func (f *fixture) workload(n, perClient int, tag string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	errs := make(chan error, n)
	for c := range n {
		cl := f.client(c)
		go func() { errs <- runClient(ctx, cl, c, perClient, tag) }()
	}
	var first error
	for range n {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}

func runClient(ctx context.Context, cl *client.Client, c, requests int, tag string) error {
	for k := 0; k < requests; k += 2 {
		key := []byte(fmt.Sprintf("%s/c%d/k%d", tag, c, k%7))
		val := []byte(fmt.Sprintf("v%d", k))
		if err := cl.Put(ctx, key, val); err != nil {
			return fmt.Errorf("client %d put %d: %w", c, k, err)
		}
		if k+1 == requests {
			break
		}
		got, found, err := cl.Get(ctx, key)
		if err != nil || !found || !bytes.Equal(got, val) {
			return fmt.Errorf("client %d get %d: %q found=%v err=%v, want %q", c, k, got, found, err, val)
		}
	}
	return nil
}

// execLast returns replica i's exec Status.Last, asked through the event loop.
func (f *fixture) execLast(i int) uint64 {
	f.t.Helper()
	var last uint64
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := f.nodes[i].host.Query(ctx, func(r *broker.Replica) { last = r.Status()[spec.RoleExec].Last }); err != nil {
		f.t.Fatalf("query replica %d: %v", i, err)
	}
	return last
}

// metrics returns replica i's broker counters.
func (f *fixture) metrics(i int) broker.Metrics {
	f.t.Helper()
	var m broker.Metrics
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := f.nodes[i].host.Query(ctx, func(r *broker.Replica) { m = r.Metrics() }); err != nil {
		f.t.Fatalf("query replica %d: %v", i, err)
	}
	return m
}

// eventually polls cond until it holds or within has passed; then the test fails
// with what and cond's last description of the state.
func eventually(t *testing.T, within time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(within)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s; last state: %s", within, what, state)
		}
		<-tick.C
	}
}

// logSink collects a host's log lines.
type logSink struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *logSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *logSink) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(s, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// lines returns the logged lines containing every one of subs.
func (s *logSink) lines(subs ...string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, l := range strings.Split(s.buf.String(), "\n") {
		all := true
		for _, sub := range subs {
			all = all && strings.Contains(l, sub)
		}
		if all && l != "" {
			out = append(out, l)
		}
	}
	return out
}

func (s *logSink) tail(n int) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.buf.Bytes()
	return string(b[max(0, len(b)-n):])
}
