package testcluster

import (
	"crypto/ed25519"
	"fmt"
	"io"

	"github.com/splitbft/splitbft/spec"
)

// Options shape a test cluster. Zero fields take the defaults noted.
type Options struct {
	F          uint64 // faults tolerated; default 1 (n = 4)
	K          uint64 // checkpoint interval; default 4
	L          uint64 // window; default 4K
	MaxBatch   uint64 // MaxBatchRequests; default 16
	MaxOps     uint64 // MaxRequestOps; default 4
	MaxOpBytes uint64 // default 1024
	Name       string // configuration name; default "testcluster"
	// Builds is the build name of every enclave of each role, which is also the one
	// accepted build of that role; default prep-test, conf-test, exec-test.
	Builds [3]string
	// Address returns replica r's peer address; nil leaves addresses empty.
	Address func(r uint64) string
	// Clients are the registered client ids; nil means 100, 101, 102.
	Clients []uint64
	// Keys is the stream every key is read from; nil means
	// spec.TestStream("testcluster-keys", seed).
	Keys io.Reader
	// Override gives the slots whose keys are read from their own stream instead:
	// the compartments under test, built with those streams.
	Override map[Slot]io.Reader
	// Group is the stream the exec group private key is read from; nil means Keys.
	// (An exec that deals the group key draws it from its own stream after its keys:
	// pass that exec's Override stream.)
	Group io.Reader
	// Admit is the key admission rule Validate applies; nil checks structure only.
	Admit func(spec.PublicKey) bool
}

func (o *Options) defaults(seed uint64) {
	def := func(v *uint64, d uint64) {
		if *v == 0 {
			*v = d
		}
	}
	def(&o.F, 1)
	def(&o.K, 4)
	def(&o.L, 4*o.K)
	def(&o.MaxBatch, 16)
	def(&o.MaxOps, 4)
	def(&o.MaxOpBytes, 1024)
	if o.Name == "" {
		o.Name = "testcluster"
	}
	for r, d := range [3]string{"prep-test", "conf-test", "exec-test"} {
		if o.Builds[r] == "" {
			o.Builds[r] = d
		}
	}
	if o.Clients == nil {
		o.Clients = []uint64{100, 101, 102}
	}
	if o.Keys == nil {
		o.Keys = spec.TestStream("testcluster-keys", seed)
	}
	if o.Group == nil {
		o.Group = o.Keys
	}
}

// Cluster is a test cluster: a valid configuration and every private key in it.
type Cluster struct {
	Config *spec.Config
	CD     spec.Digest // spec.ConfigDigest(Config)

	keys    map[Slot]Keys
	group   [32]byte
	clients []Client
}

// New builds the cluster of seed shaped by opt. Keys are read in this fixed order,
// each enclave's as DeriveKeys reads them: for each replica 0..n−1, prep, conf, exec
// (from its Override stream if it has one, else from opt.Keys); then the exec group
// private key (32 bytes, from opt.Group); then each client's Ed25519 seed and X25519
// key (from opt.Keys). It returns an error if the configuration does not validate.
func New(seed uint64, opt Options) (*Cluster, error) {
	opt.defaults(seed)
	c := &Cluster{keys: map[Slot]Keys{}}
	n := 3*opt.F + 1
	for r := range n {
		for role := spec.RolePrep; role <= spec.RoleExec; role++ {
			src := opt.Keys
			if o, ok := opt.Override[Slot{role, r}]; ok {
				src = o
			}
			k, err := DeriveKeys(src, role)
			if err != nil {
				return nil, err
			}
			c.keys[Slot{role, r}] = k
		}
	}
	if _, err := io.ReadFull(opt.Group, c.group[:]); err != nil {
		return nil, fmt.Errorf("testcluster: group key: %w", err)
	}
	for _, id := range opt.Clients {
		cl, err := readClient(id, opt.Keys)
		if err != nil {
			return nil, err
		}
		c.clients = append(c.clients, cl)
	}
	cfg := c.config(&opt, n)
	if err := cfg.Validate(opt.Admit); err != nil {
		return nil, fmt.Errorf("testcluster: seed %d: %w", seed, err)
	}
	c.Config, c.CD = cfg, spec.ConfigDigest(cfg)
	return c, nil
}

func (c *Cluster) config(opt *Options, n uint64) *spec.Config {
	cfg := &spec.Config{Version: spec.WireVersion, Name: []byte(opt.Name), N: n, F: opt.F,
		CheckpointInterval: opt.K, Window: opt.L, MaxBatchRequests: opt.MaxBatch, MaxRequestOps: opt.MaxOps,
		MaxOpBytes: opt.MaxOpBytes, AllowDevInsecure: true, ExecGroupKey: X25519Base(c.group)}
	for r := range n {
		rc := spec.ReplicaConfig{ID: r}
		if opt.Address != nil {
			rc.Address = []byte(opt.Address(r))
		}
		for role := spec.RolePrep; role <= spec.RoleExec; role++ {
			// Zero evidence is dev-insecure, which the configuration allows.
			*rc.Slot(role) = spec.Enrollment{Body: c.keys[Slot{role, r}].Enrollment(role, r, opt.Builds[role])}
		}
		cfg.Replicas = append(cfg.Replicas, rc)
	}
	for role, b := range opt.Builds {
		cfg.Builds = append(cfg.Builds, spec.BuildPolicy{Role: spec.Role(role), Build: []byte(b)})
	}
	for _, cl := range c.clients {
		cfg.Clients = append(cfg.Clients, cl.Registration())
	}
	return cfg
}

// N returns n = 3f+1.
func (c *Cluster) N() uint64 { return c.Config.N }

// Keys returns the private keys of enclave s (the zero Keys if s is not in the cluster).
func (c *Cluster) Keys(s Slot) Keys { return c.keys[s] }

// GroupKey returns the exec group private key g (Config.ExecGroupKey = X25519(g, base)).
func (c *Cluster) GroupKey() [32]byte { return c.group }

// Clients returns the registered clients in configuration order.
func (c *Cluster) Clients() []Client { return c.clients }

// Client returns the registered client id; ok is false if there is none.
func (c *Cluster) Client(id uint64) (cl Client, ok bool) {
	for _, cl := range c.clients {
		if cl.ID == id {
			return cl, true
		}
	}
	return Client{}, false
}

// SignRaw signs msg with enclave s's key. It panics if s is not in the cluster (a bug
// in the test).
func (c *Cluster) SignRaw(s Slot, msg []byte) spec.Signature {
	k, ok := c.keys[s]
	if !ok {
		panic(fmt.Sprintf("testcluster: no enclave %s", s))
	}
	return spec.Signature(ed25519.Sign(k.Sign, msg))
}

// Sign signs body as enclave (role, replica) under domain, bound to the configuration
// (SPEC §3.4).
func (c *Cluster) Sign(role spec.Role, replica uint64, domain string, body any) spec.Signature {
	return c.SignRaw(Slot{role, replica}, spec.SignedBytes(domain, c.CD, spec.Encode(body)))
}

// SignRequest signs a request body as its client. It panics if the client is not
// registered (a bug in the test).
func (c *Cluster) SignRequest(body spec.RequestBody) spec.Request {
	cl, ok := c.Client(body.Client)
	if !ok {
		panic(fmt.Sprintf("testcluster: no client %d", body.Client))
	}
	msg := spec.SignedBytes(spec.DomainRequest, c.CD, spec.Encode(&body))
	return spec.Request{Body: body, Sig: spec.Signature(ed25519.Sign(ed25519.NewKeyFromSeed(cl.Seed[:]), msg))}
}
