package simnet

import (
	"crypto/sha256"
	"fmt"
	"io"
	"math/rand/v2"

	"github.com/splitbft/splitbft/broker"
	"github.com/splitbft/splitbft/client"
	"github.com/splitbft/splitbft/spec"
)

// Factory creates the three compartments of one replica, each from the randomness the
// simulator gives it.
type Factory struct {
	Prep, Conf, Exec func(rand io.Reader) spec.Compartment
}

// EnclaveID names one compartment of the cluster.
type EnclaveID struct {
	Role    spec.Role
	Replica uint64
}

// Options configures a simulation. Zero values take the defaults noted.
type Options struct {
	Seed           uint64
	F              uint64                                                 // default 1 (n = 4)
	Factory        func(replica uint64) Factory                           // required
	Clients        int                                                    // well-behaved client sessions, ids 1..Clients; default 1
	Setup          broker.Setup                                           // K, L, limits; F, Clients, AllowDevInsecure are set by the simulator
	Broker         broker.Options                                         // every replica's broker options
	MinLatency     uint64                                                 // ticks a message takes at least; default 1
	MaxLatency     uint64                                                 // … at most; default 3
	ClientTimeout  uint64                                                 // ticks before a client retransmits to all replicas; default 150
	Wrap           map[EnclaveID]func(real broker.Enclave) broker.Enclave // Byzantine enclaves from the start (before bootstrap)
	OnResult       func(s *Sim, r Result)                                 // called when a client request completes
	OnReply        func(client uint64, reply []byte)                      // called for every reply delivered to a client
	DiscardResults bool                                                   // do not keep completed requests (long runs); Completed still counts them
	OnPeer         func(from, to uint64, msg []byte)                      // called for every broker message as sent (an encoded broker.PeerMsg), before any link fault
	TrackExec      bool                                                   // keep every exec's execution log (ExecLog, CheckExecAgreement); unbounded, for short runs
}

// Stats counts what the network did.
type Stats struct {
	Events, Delivered, Dropped, Duplicated, Mutated, Partitioned uint64
	StrayReplies, RejectedReplies                                uint64 // replies no client wanted / clients rejected
}

// Sim is one simulated cluster. It is not safe for concurrent use.
type Sim struct {
	opt       Options
	rng       *rand.Rand
	now       uint64
	seq       uint64
	events    eventHeap
	cfg       *spec.Config
	comps     [][3]spec.Compartment
	hooks     [][3]*hooked
	replicas  []*broker.Replica
	dirty     []bool
	clients   []*simClient // index = id − 1
	results   []Result
	completed int
	net       network
	obs       observer
	stats     Stats
	crashed   []bool        // by replica: Crash was called
	withheld  []withheldMsg // messages held back by LinkFault.Hold, until Release
	execLogs  []*execLog    // by replica, when Options.TrackExec; else nil
}

// New builds, bootstraps and starts a cluster: n = 3F+1 replicas from the factory, the
// clients, and the first tick.
func New(opt Options) (*Sim, error) {
	if opt.Factory == nil {
		return nil, fmt.Errorf("simnet: Options.Factory is required")
	}
	opt = withDefaults(opt)
	s := &Sim{opt: opt, rng: rand.New(rand.NewPCG(opt.Seed, 0x5eed))}
	n := 3*opt.F + 1
	s.net.init(n)
	s.obs.init(n)
	s.crashed = make([]bool, n)
	if opt.TrackExec {
		for range n {
			s.execLogs = append(s.execLogs, newExecLog())
		}
	}
	encs := s.makeEnclaves(n)
	ids := make([]client.Identity, opt.Clients)
	setup := opt.Setup
	setup.F, setup.AllowDevInsecure, setup.Clients = opt.F, true, nil
	for i := range ids {
		id, err := client.NewIdentity(uint64(i+1), s.streamFor("client", uint64(i+1), 0))
		if err != nil {
			return nil, err
		}
		ids[i] = id
		setup.Clients = append(setup.Clients, id.Registration())
	}
	cfg, err := broker.Bootstrap(setup, encs)
	if err != nil {
		return nil, fmt.Errorf("simnet seed=%d: %w", opt.Seed, err)
	}
	s.cfg = cfg
	for i := range n {
		s.replicas = append(s.replicas, broker.NewReplica(i, cfg, encs[i], &replicaNet{s, i}, opt.Broker))
	}
	s.dirty = make([]bool, n)
	for i := range ids {
		if err := s.addClient(ids[i]); err != nil {
			return nil, err
		}
	}
	s.schedule(1, event{kind: evTick})
	return s, nil
}

func withDefaults(o Options) Options {
	if o.F == 0 {
		o.F = 1
	}
	if o.Clients == 0 {
		o.Clients = 1
	}
	if o.MinLatency == 0 {
		o.MinLatency = 1
	}
	o.MaxLatency = max(o.MaxLatency, o.MinLatency, 3)
	if o.ClientTimeout == 0 {
		o.ClientTimeout = 150
	}
	return o
}

// makeEnclaves creates every compartment with its own deterministic randomness and
// wraps it in the fault hooks (and the Byzantine wrapper, if any).
func (s *Sim) makeEnclaves(n uint64) [][3]broker.Enclave {
	encs := make([][3]broker.Enclave, n)
	s.comps = make([][3]spec.Compartment, n)
	s.hooks = make([][3]*hooked, n)
	for i := range n {
		f := s.opt.Factory(i)
		ctors := [3]func(io.Reader) spec.Compartment{f.Prep, f.Conf, f.Exec}
		for role := range ctors {
			id := EnclaveID{Role: spec.Role(role), Replica: i}
			c := ctors[role](s.EnclaveRand(id))
			var e broker.Enclave = broker.InProcess(c)
			if w := s.opt.Wrap[id]; w != nil {
				e = w(e)
			}
			s.comps[i][role] = c
			s.hooks[i][role] = &hooked{sim: s, id: id, inner: e}
			encs[i][role] = s.hooks[i][role]
		}
	}
	return encs
}

// streamFor returns a deterministic byte stream for a purpose.
func (s *Sim) streamFor(purpose string, a, b uint64) io.Reader {
	h := sha256.New()
	fmt.Fprintf(h, "simnet/%s/%d/%d/%d", purpose, s.opt.Seed, a, b)
	var key [32]byte
	h.Sum(key[:0])
	return chachaReader{rand.NewChaCha8(key)}
}

type chachaReader struct{ r *rand.ChaCha8 }

func (c chachaReader) Read(p []byte) (int, error) { return c.r.Read(p) }

// EnclaveRand returns a fresh reader that yields exactly the bytes the simulator gives
// (or gave) to the compartment id's constructor. A test uses it to learn an enclave's
// keys, e.g. the first 32 bytes are every compartment's Ed25519 seed (SPEC.md §3.5).
func (s *Sim) EnclaveRand(id EnclaveID) io.Reader { return s.streamFor("enclave", id.Role, id.Replica) }

// Seed returns the simulation's seed.
func (s *Sim) Seed() uint64 { return s.opt.Seed }

// Config returns the cluster configuration.
func (s *Sim) Config() *spec.Config { return s.cfg }

// N returns the number of replicas.
func (s *Sim) N() uint64 { return s.cfg.N }

// Now returns the virtual time in ticks.
func (s *Sim) Now() uint64 { return s.now }

// Replica returns replica i's broker.
func (s *Sim) Replica(i uint64) *broker.Replica { return s.replicas[i] }

// Compartment returns the real compartment id (for DebugState and similar).
func (s *Sim) Compartment(id EnclaveID) spec.Compartment { return s.comps[id.Replica][id.Role] }

// Stats returns the network counters.
func (s *Sim) Stats() Stats { return s.stats }

// Rand returns the simulation's random source, for tests that script faults
// deterministically.
func (s *Sim) Rand() *rand.Rand { return s.rng }
