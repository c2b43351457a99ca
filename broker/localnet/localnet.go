// Package localnet runs a whole SplitBFT cluster in one process in real time: one
// goroutine per replica broker, channels for the network, wall-clock ticks, and
// blocking clients. It backs the `splitbft demo` command and the cluster benchmark.
//
// Trust: untrusted host code. It hosts compartments in-process (no enclave), so a
// localnet cluster has no TEE protection; its configuration allows dev-insecure
// evidence and the demo says so.
package localnet

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"time"

	"github.com/splitbft/splitbft/broker"
	"github.com/splitbft/splitbft/client"
	"github.com/splitbft/splitbft/spec"
)

// Factory makes a compartment drawing randomness from rand.
type Factory func(rand io.Reader) spec.Compartment

// Builds are the compartment constructors of one replica, with their build names.
type Builds struct {
	Prep, Conf, Exec Factory
}

// Options configure a cluster. Zero values take the defaults noted.
type Options struct {
	Replicas  []Builds       // one per replica; n = len(Replicas) = 3f+1
	Setup     broker.Setup   // configuration fields (clients are added by Start)
	Broker    broker.Options // per-replica broker options (ticks are TickEvery long)
	Clients   int            // number of client identities; default 4
	Client    client.Options // client timeouts
	TickEvery time.Duration  // wall time of one broker tick; default 2ms
	InboxSize int            // events queued per replica before the network drops; default 65536
	Rand      io.Reader      // key and nonce randomness; default crypto/rand
	// ClientsToPrimary makes every client send to replica 0 (the primary of view 0)
	// first and move to the next replica when it retransmits, as tcpnet's ClientConn
	// does; by default client i starts at replica i mod n, so most requests reach a
	// backup, which verifies and forwards them.
	ClientsToPrimary bool
}

// Cluster is a running in-process cluster.
type Cluster struct {
	Config  *spec.Config
	nodes   []*node
	clients []*client.Client
	replies map[uint64]chan []byte
	ids     []client.Identity
	stop    chan struct{}
	wg      sync.WaitGroup
	stepNs  [3]atomic.Int64 // time spent inside Step, per role, all replicas
	dropped atomic.Uint64   // network messages dropped on a full inbox

	checkpoints []checkpointSeen // per replica: the last CHECKPOINT its exec emitted
}

// checkpointSeen is the last checkpoint an exec emitted, as its host saw it.
type checkpointSeen struct {
	mu  sync.Mutex
	seq uint64
	d   spec.Digest
}

// Checkpoint returns the sequence number and state digest of the last CHECKPOINT
// replica i's exec emitted (0 and zero before any).
func (c *Cluster) Checkpoint(i int) (uint64, spec.Digest) {
	cs := &c.checkpoints[i]
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return cs.seq, cs.d
}

// Start bootstraps the cluster (SPEC.md §13.3 obligation 1) and starts every replica.
func Start(opt Options) (*Cluster, error) {
	opt = withDefaults(opt)
	n := len(opt.Replicas)
	if n < 4 || (n-1)%3 != 0 {
		return nil, fmt.Errorf("localnet: %d replicas, need 3f+1 with f ≥ 1", n)
	}
	c := &Cluster{stop: make(chan struct{}), replies: map[uint64]chan []byte{}}
	if err := c.makeClients(opt); err != nil {
		return nil, err
	}
	enclaves := make([][3]broker.Enclave, n)
	c.checkpoints = make([]checkpointSeen, n)
	for i, b := range opt.Replicas {
		for role, f := range []Factory{b.Prep, b.Conf, b.Exec} {
			t := &timed{e: broker.InProcess(f(opt.Rand)), ns: &c.stepNs[role], label: roleLabels[role]}
			if role == int(spec.RoleExec) {
				t.seen = &c.checkpoints[i]
			}
			enclaves[i][role] = t
		}
	}
	setup := opt.Setup
	setup.AllowDevInsecure = true
	for _, id := range c.ids {
		setup.Clients = append(setup.Clients, id.Registration())
	}
	cfg, err := broker.Bootstrap(setup, enclaves)
	if err != nil {
		return nil, err
	}
	c.Config = cfg
	for i := range n {
		c.nodes = append(c.nodes, newNode(c, uint64(i), enclaves[i], opt))
	}
	for _, nd := range c.nodes {
		c.wg.Add(1)
		go nd.run(&c.wg, opt.TickEvery)
	}
	return c, c.startClients(opt)
}

func withDefaults(o Options) Options {
	if o.Clients <= 0 {
		o.Clients = 4
	}
	if o.TickEvery <= 0 {
		o.TickEvery = 2 * time.Millisecond
	}
	if o.InboxSize <= 0 {
		o.InboxSize = 1 << 16
	}
	if o.Rand == nil {
		o.Rand = rand.Reader
	}
	return o
}

func (c *Cluster) makeClients(opt Options) error {
	for i := range opt.Clients {
		id, err := client.NewIdentity(uint64(1000+i), opt.Rand)
		if err != nil {
			return err
		}
		c.ids = append(c.ids, id)
		c.replies[id.ID] = make(chan []byte, 4096)
	}
	return nil
}

func (c *Cluster) startClients(opt Options) error {
	for i, id := range c.ids {
		t := &transport{c: c, move: opt.ClientsToPrimary, replies: c.replies[id.ID]}
		if !opt.ClientsToPrimary {
			t.home.Store(uint64(i) % uint64(len(c.nodes)))
		}
		cl, err := client.New(c.Config, id, opt.Rand, t, opt.Client)
		if err != nil {
			return err
		}
		c.clients = append(c.clients, cl)
	}
	return nil
}

// Clients returns the number of clients.
func (c *Cluster) Clients() int { return len(c.clients) }

// Client returns client i (0 ≤ i < Clients()).
func (c *Cluster) Client(i int) *client.Client { return c.clients[i] }

// N returns the number of replicas.
func (c *Cluster) N() int { return len(c.nodes) }

// ErrStopped is returned by queries to a stopped replica.
var ErrStopped = errors.New("localnet: replica stopped")

// Status returns replica i's latest compartment statuses.
func (c *Cluster) Status(i int) ([3]spec.Status, error) {
	var st [3]spec.Status
	err := c.nodes[i].query(func(r *broker.Replica) { st = r.Status() })
	return st, err
}

// Metrics returns replica i's broker counters.
func (c *Cluster) Metrics(i int) (broker.Metrics, error) {
	var m broker.Metrics
	err := c.nodes[i].query(func(r *broker.Replica) { m = r.Metrics() })
	return m, err
}

// StepTime returns the total wall time spent inside Step calls per role (prep, conf,
// exec) across all replicas.
func (c *Cluster) StepTime() [3]time.Duration {
	var d [3]time.Duration
	for i := range d {
		d[i] = time.Duration(c.stepNs[i].Load())
	}
	return d
}

// Dropped returns the number of network messages dropped because an inbox was full.
func (c *Cluster) Dropped() uint64 { return c.dropped.Load() }

// Kill stops replica i's broker and with it its compartments, as a crashed host would.
func (c *Cluster) Kill(i int) { c.nodes[i].kill() }

// Killed reports whether replica i was stopped by Kill.
func (c *Cluster) Killed(i int) bool { return c.nodes[i].killed() }

// Stop stops every replica and waits for them.
func (c *Cluster) Stop() {
	close(c.stop)
	c.wg.Wait()
}

// send delivers a peer message to replica to, dropping it if its inbox is full.
func (c *Cluster) send(from, to uint64, msg []byte) {
	if to >= uint64(len(c.nodes)) || !c.nodes[to].post(func(r *broker.Replica) { r.HandlePeer(from, msg) }) {
		c.dropped.Add(1)
	}
}

// reply delivers a reply to its client, dropping it if the client is not reading.
func (c *Cluster) reply(clientID uint64, rep []byte) {
	ch, ok := c.replies[clientID]
	if !ok {
		return
	}
	select {
	case ch <- rep:
	default:
		c.dropped.Add(1)
	}
}

// roleLabels tag CPU profile samples taken inside each compartment's Step (and in
// goroutines it starts), so a profile splits CPU time by compartment; samples without
// the label are the host's (brokers, network, clients, runtime).
var roleLabels = [3]pprof.LabelSet{
	pprof.Labels("compartment", "prep"), pprof.Labels("compartment", "conf"), pprof.Labels("compartment", "exec"),
}

// timed measures the time an enclave spends in Step, labels its CPU samples and, for
// exec, notes the checkpoints it emits (public data: they go to every replica).
type timed struct {
	e     broker.Enclave
	ns    *atomic.Int64
	label pprof.LabelSet
	seen  *checkpointSeen
}

func (t *timed) Init(req []byte) ([]byte, error) { return t.e.Init(req) }

func (t *timed) Step(in []byte) ([]byte, error) {
	var out []byte
	var err error
	start := time.Now()
	pprof.Do(context.Background(), t.label, func(context.Context) { out, err = t.e.Step(in) })
	t.ns.Add(int64(time.Since(start)))
	if t.seen != nil && err == nil {
		t.note(out)
	}
	return out, err
}

func (t *timed) note(raw []byte) {
	_ = spec.OutputBodiesRaw(raw, spec.KindCheckpoint, func(body []byte) {
		var cp spec.Checkpoint
		if spec.Decode(body, &cp, spec.MaxBodyBytes(spec.KindCheckpoint)) == nil {
			t.seen.mu.Lock()
			t.seen.seq, t.seen.d = cp.Body.Seq, cp.Body.State
			t.seen.mu.Unlock()
		}
	})
}
