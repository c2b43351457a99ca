package swarm

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"fmt"

	"github.com/splitbft/splitbft/broker"
	"github.com/splitbft/splitbft/client"
	"github.com/splitbft/splitbft/conformance"
	"github.com/splitbft/splitbft/exec"
	"github.com/splitbft/splitbft/exec/kv"
	"github.com/splitbft/splitbft/internal/builds"
	"github.com/splitbft/splitbft/internal/testcluster"
	"github.com/splitbft/splitbft/spec"
)

// enclaveID names one compartment slot of the cluster.
type enclaveID struct {
	Role    spec.Role
	Replica uint64
}

func (e enclaveID) String() string { return fmt.Sprintf("%s%d", spec.RoleName(e.Role), e.Replica) }

// newCompartment builds a fresh compartment of build (a name of the build registry)
// from Stream("enclave", seed). For exec, app receives the recording application.
func newCompartment(build string, seed uint64, app exec.Application) spec.Compartment {
	r := conformance.Stream("enclave", seed)
	if build == builds.Exec {
		return builds.NewExec(r, app)
	}
	return builds.MustLookup(build).New(r)
}

// otherBuild returns the other implementation of build for N-version replay, or "" if
// there is none (exec has one implementation).
func otherBuild(build string) string { return builds.MustLookup(build).Partner }

// enclaveSeed derives the test-stream seed of enclave (role, replica) in generation
// gen (0 at bootstrap, +1 per restart) of run seed.
func enclaveSeed(run uint64, role spec.Role, replica, gen uint64) uint64 {
	h := sha256.New()
	fmt.Fprintf(h, "swarm/enclave/%d/%d/%d/%d", run, role, replica, gen)
	return binary.BigEndian.Uint64(h.Sum(nil))
}

// enclaveKeys returns the Ed25519 key and the X25519 private key (an exec's box key;
// for prep and conf the next 32 bytes of the stream, unused) that a compartment built
// from Stream("enclave", seed) generates at Init (SPEC §3.5).
func enclaveKeys(seed uint64) (ed25519.PrivateKey, [32]byte) {
	k, err := testcluster.DeriveKeys(conformance.Stream("enclave", seed), spec.RoleExec)
	if err != nil {
		panic("swarm: the conformance test stream failed: " + err.Error()) // it never does
	}
	return k.Sign, k.Box
}

// recApp is kv-v1 with a record of the operations executed during the current step:
// the oracles attribute them to sequence numbers and clients.
type recApp struct {
	inner    *kv.Store
	executed []string // plaintexts executed since the last take
}

func newRecApp() *recApp { return &recApp{inner: kv.New()} }

func (a *recApp) Execute(op []byte) spec.Result {
	a.executed = append(a.executed, string(op))
	return a.inner.Execute(op)
}
func (a *recApp) Snapshot() []byte              { return a.inner.Snapshot() }
func (a *recApp) Restore(snapshot []byte) error { return a.inner.Restore(snapshot) }
func (a *recApp) Digest() spec.Digest           { return a.inner.Digest() }

// take returns and clears the operations executed since the last call.
func (a *recApp) take() []string {
	out := a.executed
	a.executed = nil
	return out
}

// node is one compartment slot: the enclave that currently fills it and what the
// simulator knows about it.
type node struct {
	id        enclaveID
	build     string
	inst      *instance      // the enclave (Twins: instance A)
	twin      *instance      // Twins: instance B of the same identity, else nil
	byz       *byzantine     // non-nil: a Byzantine enclave
	mut       mutant         // non-nil: a mutant build wrapping inst
	restarted bool           // replaced by a fresh enclave whose keys are not in the configuration, or out of it
	retired   bool           // its slot was given to another enclave in a later epoch
	adm       *admission     // a restarted or rejuvenated enclave's way back in (nil: forked, or none)
	fresh     *freshInstance // rejuvenation: the fresh instance waiting for its admission
	epoch     uint64         // the epoch of the configuration it runs
	gen       uint64         // generation: 0 at bootstrap, +1 per restart
	silenced  bool           // liveness phase: a faulty enclave that no longer runs
	status    spec.Status
	shadow    *execShadow // exec: the oracles' model of its commit quorums
	key       ed25519.PrivateKey
	box       [32]byte // exec: X25519 private key
	app       *recApp  // exec: the application of inst
	twinApp   *recApp
}

// correct reports whether the oracles hold this slot to the protocol: neither
// Byzantine nor restarted (a mutant build counts as correct: it is the code under
// test).
func (n *node) correct() bool { return n.byz == nil && !n.restarted }

// instance is one real compartment and its recorded input trace.
type instance struct {
	name  string // the slot, "exec2"; a Twin's ends in "'", a restarted one's in "#gen"
	c     spec.Compartment
	build string
	seed  uint64
	init  []byte   // the InitRequest
	boot  [][]byte // StepInputs of the bootstrap (configure, group-key-deal)
	trace *trace   // N-version trace (nil: not recorded)
	dead  bool     // panicked
}

// newInstance creates and records a compartment; app is used by exec.
func newInstance(build string, seed uint64, app exec.Application, record bool) *instance {
	in := &instance{c: newCompartment(build, seed, app), build: build, seed: seed}
	if record && otherBuild(build) != "" {
		in.trace = &trace{build: build, seed: seed}
	}
	return in
}

// initialize calls Init and records the request.
func (in *instance) initialize(req []byte) ([]byte, error) {
	in.init = req
	if in.trace != nil {
		in.trace.init = req
	}
	return in.c.Init(req)
}

// stepRaw runs one raw StepInput, records it, and turns a panic into an error.
func (in *instance) stepRaw(raw []byte) (out []byte, err error) {
	if in.dead {
		return nil, fmt.Errorf("dead after an earlier panic")
	}
	defer func() {
		if p := recover(); p != nil {
			in.dead = true
			err = fmt.Errorf("%s (%s) panicked: %v", in.name, in.build, p)
		}
	}()
	out = in.c.Step(raw)
	if in.trace != nil {
		in.trace.add(raw, out)
	}
	return out, nil
}

// bootEnclave adapts an instance for broker.Bootstrap and records the bootstrap
// inputs (to replay them into a Twin). amend, if set, rewrites each StepInput first
// (the swarm adds its governance member to the configuration, withMembers).
type bootEnclave struct {
	in    *instance
	amend func([]byte) []byte
}

func (b bootEnclave) Init(req []byte) ([]byte, error) { return b.in.initialize(req) }

func (b bootEnclave) Step(raw []byte) ([]byte, error) {
	if b.amend != nil {
		raw = b.amend(raw)
	}
	b.in.boot = append(b.in.boot, raw)
	return b.in.stepRaw(raw)
}

// cloneInstance builds a second instance of the same identity (same build and seed)
// and replays in's Init and bootstrap into it: a Twin.
func (s *sim) cloneInstance(in *instance, app exec.Application) (*instance, error) {
	tw := s.newInstance(in.build, in.seed, app)
	tw.name = in.name + "'"
	if _, err := tw.initialize(in.init); err != nil {
		return nil, err
	}
	for _, raw := range in.boot {
		tw.boot = append(tw.boot, raw)
		if _, err := tw.stepRaw(raw); err != nil {
			return nil, err
		}
	}
	return tw, nil
}

// buildCluster creates every node, bootstraps the cluster and the client sessions.
func (s *sim) buildCluster() error {
	n := 3*s.p.F + 1
	s.nodes = make([][3]*node, n)
	encs := make([][3]broker.Enclave, n)
	for r := range n {
		for role := spec.RolePrep; role <= spec.RoleExec; role++ {
			nd := s.newNode(role, r)
			s.nodes[r][role] = nd
			encs[r][role] = bootEnclave{nd.inst, s.withMembers}
		}
	}
	setup := broker.Setup{Name: "swarm", F: s.p.F, K: s.p.K, L: s.p.L, MaxBatchRequests: s.p.MaxBatch,
		MaxRequestOps: s.p.MaxOps, MaxOpBytes: 1024, AllowDevInsecure: true}
	ids := make([]client.Identity, s.p.Clients+1) // the last is the admin client
	for i := range ids {
		id, err := client.NewIdentity(uint64(101+i), conformance.Stream("swarm-client", s.opt.Seed*131+uint64(i)))
		if err != nil {
			return err
		}
		ids[i] = id
		setup.Clients = append(setup.Clients, id.Registration())
	}
	cfg, err := broker.Bootstrap(setup, encs)
	if err != nil {
		return fmt.Errorf("bootstrap: %w", err)
	}
	s.addMembers(cfg) // as withMembers did to the configuration every enclave received
	s.cfg, s.cd = cfg, spec.ConfigDigest(cfg)
	s.epochs = []epochInfo{{cfg: s.cfg, cd: s.cd}}
	s.null = spec.NullBatchDigest()
	for i := range ids {
		if err := s.addClient(ids[i], i == len(ids)-1); err != nil {
			return err
		}
	}
	return s.afterBoot()
}

// newNode creates the slot (role, r) with its bootstrap enclave.
func (s *sim) newNode(role spec.Role, r uint64) *node {
	nd := &node{id: enclaveID{role, r}}
	switch role {
	case spec.RolePrep, spec.RoleConf:
		nd.build = variant(role, string(s.p.Builds[r][role:role+1]))
	default:
		nd.build = builds.Exec
		nd.app = newRecApp()
		nd.shadow = newExecShadow()
	}
	seed := enclaveSeed(s.opt.Seed, role, r, 0)
	var app exec.Application
	if nd.app != nil {
		app = nd.app
	}
	nd.inst = s.newInstance(nd.build, seed, app)
	nd.inst.name = nd.id.String()
	nd.key, nd.box = enclaveKeys(seed)
	return nd
}

// variant returns the registry name of implementation letter v of role r.
func variant(r spec.Role, v string) string {
	b, ok := builds.Variant(r, v)
	if !ok {
		panic(fmt.Sprintf("swarm: no %s build %q", spec.RoleName(r), v))
	}
	return b.Name
}

// afterBoot installs the Byzantine enclaves (and their Twins) and the mutants, and
// reads every node's first status.
func (s *sim) afterBoot() error {
	for r := range s.nodes {
		for role, nd := range s.nodes[r] {
			nd.status = spec.Status{Role: spec.Role(role), Replica: uint64(r), Configured: true, ViewActive: true}
			if beh, ok := s.place.isByz(spec.Role(role), uint64(r)); ok {
				if err := s.makeByzantine(nd, beh); err != nil {
					return err
				}
			}
		}
	}
	if s.opt.Mutant != MutantNone {
		s.installMutants()
	}
	return nil
}

// signKeyOf returns the enrolled signing key of enclave (role, r), which the simulator
// knows because it derived every enclave's randomness (used by the exec mutant to
// model its broken quorum internally).
func (s *sim) signKeyOf(role spec.Role, r uint64) ed25519.PrivateKey {
	return s.nodes[r][role].key
}

// sign signs body under domain with key, bound to the cluster's configuration.
func (s *sim) sign(key ed25519.PrivateKey, domain string, body any) spec.Signature {
	var sig spec.Signature
	copy(sig[:], ed25519.Sign(key, spec.SignedBytes(domain, s.cd, spec.Encode(body))))
	return sig
}
