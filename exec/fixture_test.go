package exec_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/splitbft/splitbft/exec"
	"github.com/splitbft/splitbft/exec/kv"
	"github.com/splitbft/splitbft/internal/testcluster"
	"github.com/splitbft/splitbft/spec"
)

// This file builds test clusters: n real Execution compartments (each with its own
// seeded randomness), fake prep and conf enclaves whose keys the test holds, and
// registered clients. Exec 0 deals the group key with group-key-deal; every exec is
// configured with its share.

var _ spec.Compartment = (*exec.Exec)(nil)
var _ exec.Application = (*kv.Store)(nil)

// params are the configuration knobs of a test cluster.
type params struct {
	f, k, l                  uint64
	maxBatch, maxOps, maxOpB uint64
	clients                  int
}

func defaultParams() params {
	return params{f: 1, k: 10, l: 40, maxBatch: 64, maxOps: 8, maxOpB: 32 << 10, clients: 3}
}

// client is a registered client with its private keys.
type client struct {
	id      uint64
	sign    ed25519.PrivateKey
	boxPriv []byte
	boxPub  spec.PublicKey
	nextTS  uint64
}

// cluster is a configured test cluster.
type cluster struct {
	t       testing.TB
	seed    uint64
	p       params
	n       uint64
	cfg     *spec.Config
	cfgRaw  []byte
	cd      spec.Digest
	execs   []*exec.Exec
	enr     []spec.Enrollment    // exec enrollments as returned by Init
	shares  []spec.GroupKeyShare // shares[i] is exec i's share from the deal
	execSig []ed25519.PrivateKey // exec signing keys, re-derived from each exec's stream
	execBox [][]byte             // exec box private keys, re-derived likewise
	prep    []ed25519.PrivateKey
	conf    []ed25519.PrivateKey
	g       []byte // the group private key, re-derived from exec 0's stream
	G       spec.PublicKey
	clients []*client
	nonces  io.Reader // test-side nonces for sealing
}

// seedBytes derives a 32-byte ChaCha8 seed from a label.
func seedBytes(format string, a ...any) [32]byte {
	return sha256.Sum256([]byte(fmt.Sprintf(format, a...)))
}

// execRand returns exec i's randomness stream for the cluster seed.
func execRand(seed uint64, i uint64) io.Reader {
	return rand.NewChaCha8(seedBytes("exec/%d/%d", seed, i))
}

func readN(r io.Reader, n int) []byte {
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		panic(err)
	}
	return b
}

func x25519Pub(priv []byte) spec.PublicKey {
	var k spec.PublicKey
	copy(k[:], mustX25519(priv, basepoint()))
	return k
}

// newCluster builds and configures a cluster; every exec is configured.
func newCluster(t testing.TB, seed uint64, p params) *cluster {
	t.Helper()
	c := newUnconfigured(t, seed, p)
	for i := range c.execs {
		c.configure(uint64(i))
	}
	return c
}

// newUnconfigured builds a cluster whose execs are initialised and whose group key has
// been dealt by exec 0, but which are not yet configured.
func newUnconfigured(t testing.TB, seed uint64, p params) *cluster {
	t.Helper()
	if tt, ok := t.(*testing.T); ok {
		tt.Cleanup(func() {
			if tt.Failed() {
				tt.Logf("cluster seed %d", seed)
			}
		})
	}
	c := &cluster{t: t, seed: seed, p: p, n: 3*p.f + 1, nonces: rand.NewChaCha8(seedBytes("nonces/%d", seed))}
	mirrors := map[testcluster.Slot]io.Reader{}
	for i := uint64(0); i < c.n; i++ {
		x := exec.New(execRand(seed, i), kv.New())
		raw, err := x.Init(spec.Encode(&spec.InitRequest{Role: spec.RoleExec, Replica: i}))
		if err != nil {
			t.Fatalf("Init exec %d: %v", i, err)
		}
		var enr spec.Enrollment
		if err := spec.Decode(raw, &enr, 1<<20); err != nil {
			t.Fatalf("enrollment: %v", err)
		}
		c.execs, c.enr = append(c.execs, x), append(c.enr, enr)
		mirrors[testcluster.Slot{Role: spec.RoleExec, Replica: i}] = execRand(seed, i) // the same stream: §3.5 fixes what Init reads
	}
	c.takeCluster(c.newTestCluster(mirrors))
	c.deal()
	return c
}

// newTestCluster builds the configuration: every exec's keys read from its mirror
// stream, the group key g next from exec 0's (it deals next: its 32 bytes are g), the
// fake prep and conf keys and the clients from the seed's key stream.
func (c *cluster) newTestCluster(mirrors map[testcluster.Slot]io.Reader) *testcluster.Cluster {
	c.t.Helper()
	var ids []uint64
	for i := 0; i < c.p.clients; i++ {
		ids = append(ids, uint64(100+7*i))
	}
	tc, err := testcluster.New(c.seed, testcluster.Options{F: c.p.f, K: c.p.k, L: c.p.l, MaxBatch: c.p.maxBatch,
		MaxOps: c.p.maxOps, MaxOpBytes: c.p.maxOpB, Name: "exec-test", Builds: [3]string{"prep-t", "conf-t", exec.BuildName},
		Address: func(r uint64) string { return fmt.Sprintf("r%d:1", r) }, Clients: ids,
		Keys: rand.NewChaCha8(seedBytes("keys/%d", c.seed)), Override: mirrors,
		Group: mirrors[testcluster.Slot{Role: spec.RoleExec, Replica: 0}]})
	if err != nil {
		c.t.Fatal(err)
	}
	for i, e := range c.enr {
		if want := tc.Config.Replicas[i].Exec; string(spec.Encode(&want)) != string(spec.Encode(&e)) {
			c.t.Fatalf("exec %d enrolled %+v, not the keys SPEC §3.5 derives from its stream (%+v)", i, e.Body, want.Body)
		}
	}
	return tc
}

// takeCluster copies the test cluster's keys and configuration into c.
func (c *cluster) takeCluster(tc *testcluster.Cluster) {
	for i := range c.n {
		k := func(r spec.Role) testcluster.Keys { return tc.Keys(testcluster.Slot{Role: r, Replica: i}) }
		x := k(spec.RoleExec)
		c.execSig, c.execBox = append(c.execSig, x.Sign), append(c.execBox, x.Box[:])
		c.prep, c.conf = append(c.prep, k(spec.RolePrep).Sign), append(c.conf, k(spec.RoleConf).Sign)
	}
	g := tc.GroupKey()
	c.g = g[:]
	for _, cl := range tc.Clients() {
		boxPub := testcluster.X25519Base(cl.BoxPrivate)
		c.clients = append(c.clients, &client{id: cl.ID, sign: ed25519.NewKeyFromSeed(cl.Seed[:]), boxPriv: bytes.Clone(cl.BoxPrivate[:]), boxPub: boxPub, nextTS: 1})
	}
	c.setConfig(tc.Config)
}

// deal runs group-key-deal on exec 0 for all exec enrollments.
func (c *cluster) deal() {
	var d spec.GroupKeyDeal
	for i := range c.enr {
		d.Execs = append(d.Execs, c.enr[i].Body)
	}
	outs := c.step(0, in(spec.KindGroupKeyDeal, &d))
	if len(outs) != 2 || outs[0].Kind != spec.KindGroupKeyShares {
		c.t.Fatalf("deal: unexpected outputs %s", describe(outs))
	}
	var gs spec.GroupKeyShares
	mustDecode(c.t, outs[0].Body, &gs)
	c.shares = gs.Shares
	c.G = x25519Pub(c.g)
	if len(gs.Shares) != int(c.n) || gs.Shares[0].GroupKey != c.G {
		c.t.Fatalf("deal: shares do not carry G = X25519(g, base) for the g read from the stream")
	}
}

// setConfig installs cfg as the cluster's configuration (not yet delivered).
func (c *cluster) setConfig(cfg *spec.Config) {
	c.cfg, c.cfgRaw, c.cd = cfg, spec.Encode(cfg), spec.ConfigDigest(cfg)
}

// configureInput returns exec i's configure input.
func (c *cluster) configureInput(i uint64) spec.Input {
	return in(spec.KindConfigure, &spec.Configure{Config: c.cfgRaw, Share: []spec.GroupKeyShare{c.shares[i]}})
}

func (c *cluster) configure(i uint64) {
	c.t.Helper()
	outs := c.step(i, c.configureInput(i))
	if rej := rejections(outs); len(rej) != 0 || !status(c.t, outs).Configured {
		c.t.Fatalf("configure exec %d: %s", i, describe(outs))
	}
}

// in builds an Input of kind with the encoding of body.
func in(kind uint64, body any) spec.Input { return spec.Input{Kind: kind, Body: spec.Encode(body)} }

// step runs one Step of exec i and returns its decoded outputs (status last).
func (c *cluster) step(i uint64, inputs ...spec.Input) []spec.Output {
	c.t.Helper()
	return stepRaw(c.t, c.execs[i], spec.Encode(&spec.StepInput{Inputs: inputs}))
}

func stepRaw(t testing.TB, x *exec.Exec, raw []byte) []spec.Output {
	t.Helper()
	var so spec.StepOutput
	mustDecode(t, x.Step(raw), &so)
	if len(so.Outputs) == 0 || so.Outputs[len(so.Outputs)-1].Kind != spec.KindStatus {
		t.Fatalf("step output does not end with one status: %s", describe(so.Outputs))
	}
	for _, o := range so.Outputs[:len(so.Outputs)-1] {
		if o.Kind == spec.KindStatus {
			t.Fatalf("status before the end")
		}
	}
	return so.Outputs
}

func mustDecode(t testing.TB, b []byte, v any) {
	t.Helper()
	if err := spec.Decode(b, v, spec.MaxMessageBytes); err != nil {
		t.Fatalf("decode %T: %v", v, err)
	}
}

func describe(outs []spec.Output) string {
	return "\n" + spec.DescribeOutput(&spec.StepOutput{Outputs: outs})
}

// status returns the final Status of a step's outputs.
func status(t testing.TB, outs []spec.Output) spec.Status {
	var st spec.Status
	mustDecode(t, outs[len(outs)-1].Body, &st)
	return st
}

// rejections returns the decoded rejections among outs.
func rejections(outs []spec.Output) []spec.Rejection {
	var r []spec.Rejection
	for _, o := range outs {
		if o.Kind == spec.KindReject {
			var rj spec.Rejection
			if spec.Decode(o.Body, &rj, 1<<10) == nil {
				r = append(r, rj)
			}
		}
	}
	return r
}

// ofKind returns the outputs of one kind.
func ofKind(outs []spec.Output, kind uint64) []spec.Output {
	var r []spec.Output
	for _, o := range outs {
		if o.Kind == kind {
			r = append(r, o)
		}
	}
	return r
}
