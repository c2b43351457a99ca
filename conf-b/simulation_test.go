package confb_test

import (
	"bytes"
	"math/rand"
	"testing"

	confb "github.com/splitbft/splitbft/conf-b"
	"github.com/splitbft/splitbft/internal/edcrypto"
	prepb "github.com/splitbft/splitbft/prep-b"
	"github.com/splitbft/splitbft/spec"
)

// This file runs prep-b and conf-b together: four replicas, execs and a client
// simulated by the test, messages routed by the table of SPEC.md §13.1.

// message is one routed delivery: kind and body to the compartment (role, replica).
type message struct {
	role, replica, kind uint64
	body                []byte
}

// system is the simulated cluster.
type system struct {
	t       *testing.T
	seed    int64
	rng     *rand.Rand
	cfg     spec.Config
	cd      spec.Digest
	preps   []*prepb.Preparation
	confs   []*confb.Confirmation
	execs   []*edcrypto.PrivateKey
	client  *edcrypto.PrivateKey
	queue   []message
	commits map[uint64]map[uint64]spec.Slot // seq → conf replica → COMMIT body
}

const simN = 4

func newSystem(t *testing.T, seed int64) *system {
	c := &system{t: t, seed: seed, rng: rand.New(rand.NewSource(seed)), commits: map[uint64]map[uint64]spec.Slot{}}
	c.cfg = spec.Config{Version: 1, Name: []byte("sim"), N: simN, F: 1, CheckpointInterval: 2, Window: 4,
		MaxBatchRequests: 8, MaxRequestOps: 4, MaxOpBytes: 64, AllowDevInsecure: true,
		Builds: []spec.BuildPolicy{{Role: spec.RolePrep, Build: []byte("prep-b")}, {Role: spec.RoleConf, Build: []byte("conf-b")}, {Role: spec.RoleExec, Build: []byte("exec-t")}},
	}
	c.rng.Read(c.cfg.ExecGroupKey[:])
	for r := uint64(0); r < simN; r++ {
		p, pe := c.initPrep(r)
		x, xe := c.initConf(r)
		ek := c.key()
		var box spec.PublicKey
		c.rng.Read(box[:])
		c.preps, c.confs, c.execs = append(c.preps, p), append(c.confs, x), append(c.execs, ek)
		c.cfg.Replicas = append(c.cfg.Replicas, spec.ReplicaConfig{ID: r, Prep: pe, Conf: xe,
			Exec: spec.Enrollment{Body: spec.EnrollmentBody{Role: spec.RoleExec, Replica: r, Build: []byte("exec-t"), SignKey: ek.Public(), BoxKey: box}}})
	}
	c.client = c.key()
	var box spec.PublicKey
	c.rng.Read(box[:])
	c.cfg.Clients = []spec.ClientConfig{{ID: 1, SignKey: c.client.Public(), BoxKey: box}}
	c.cd = spec.ConfigDigest(&c.cfg)
	conf := spec.Input{Kind: spec.KindConfigure, Body: spec.Encode(&spec.Configure{Config: spec.Encode(&c.cfg)})}
	for r := 0; r < simN; r++ {
		c.mustStep(c.preps[r].Step, conf)
		c.mustStep(c.confs[r].Step, conf)
	}
	return c
}

func (c *system) key() *edcrypto.PrivateKey {
	seed := make([]byte, 32)
	c.rng.Read(seed)
	k, _ := edcrypto.NewKey(seed)
	return k
}

func (c *system) initPrep(r uint64) (*prepb.Preparation, spec.Enrollment) {
	seed := make([]byte, 32)
	c.rng.Read(seed)
	p := prepb.New(bytes.NewReader(seed))
	return p, c.enroll(p.Init(spec.Encode(&spec.InitRequest{Role: spec.RolePrep, Replica: r})))
}

func (c *system) initConf(r uint64) (*confb.Confirmation, spec.Enrollment) {
	seed := make([]byte, 32)
	c.rng.Read(seed)
	x := confb.New(bytes.NewReader(seed))
	return x, c.enroll(x.Init(spec.Encode(&spec.InitRequest{Role: spec.RoleConf, Replica: r})))
}

func (c *system) enroll(raw []byte, err error) spec.Enrollment {
	var e spec.Enrollment
	if err != nil || spec.Decode(raw, &e, spec.MaxMessageBytes) != nil {
		c.t.Fatalf("seed %d: Init failed: %v", c.seed, err)
	}
	return e
}

// mustStep runs one input and fails on any rejection except a stale VIEW-CHANGE or
// CHECKPOINT (late copies of what a quorum already settled); it returns the outputs
// without the status and the rejections.
func (c *system) mustStep(step func([]byte) []byte, in spec.Input) []spec.Output {
	c.t.Helper()
	var so spec.StepOutput
	if err := spec.Decode(step(spec.Encode(&spec.StepInput{Inputs: []spec.Input{in}})), &so, spec.MaxMessageBytes); err != nil {
		c.t.Fatal(err)
	}
	var outs []spec.Output
	for _, o := range so.Outputs[:len(so.Outputs)-1] {
		if o.Kind != spec.KindReject {
			outs = append(outs, o)
			continue
		}
		var r spec.Rejection
		_ = spec.Decode(o.Body, &r, 1024)
		if r.Code != spec.CodeStale || (in.Kind != spec.KindViewChange && in.Kind != spec.KindCheckpoint) {
			c.t.Fatalf("seed %d: %s rejected: %s", c.seed, spec.Describe(in.Kind, in.Body), spec.Describe(o.Kind, o.Body))
		}
	}
	return outs
}

// route queues the outputs of compartment (role, from) per §13.1.
func (c *system) route(role, from uint64, outs []spec.Output) {
	for _, o := range outs {
		for bit := uint64(0); bit < 3; bit++ {
			if o.To.Roles&(1<<bit) == 0 {
				continue
			}
			for _, r := range o.To.Replicas {
				if bit == role && r == from {
					continue // never back to the producer (§13.3 obligation 2)
				}
				c.deliverTo(bit, r, o)
			}
		}
	}
}

// deliverTo queues one output for (role, r), translating proposals (§13.1).
func (c *system) deliverTo(role, r uint64, o spec.Output) {
	kind, body := o.Kind, o.Body
	if kind == spec.KindProposal && role != spec.RolePrep {
		var p spec.Proposal
		if err := spec.Decode(body, &p, spec.MaxMessageBytes); err != nil {
			c.t.Fatal(err)
		}
		if role != spec.RoleConf {
			return // the batch would go to exec
		}
		kind, body = spec.KindPrePrepare, spec.Encode(&p.Header)
	}
	c.queue = append(c.queue, message{role: role, replica: r, kind: kind, body: body})
}

// run delivers queued messages until none is left.
func (c *system) run() {
	for len(c.queue) > 0 {
		m := c.queue[0]
		c.queue = c.queue[1:]
		in := spec.Input{Kind: m.kind, Body: m.body}
		switch m.role {
		case spec.RolePrep:
			c.route(spec.RolePrep, m.replica, c.mustStep(c.preps[m.replica].Step, in))
		case spec.RoleConf:
			c.route(spec.RoleConf, m.replica, c.mustStep(c.confs[m.replica].Step, in))
		case spec.RoleExec:
			c.execReceive(m)
		}
	}
}

// execReceive records COMMITs (other kinds for exec are ignored).
func (c *system) execReceive(m message) {
	if m.kind != spec.KindCommit || m.replica != 0 {
		return // one exec's view of the commits is enough
	}
	var cm spec.Commit
	if err := spec.Decode(m.body, &cm, 1024); err != nil {
		c.t.Fatal(err)
	}
	if !edcrypto.Verify(c.cfg.Replicas[cm.Body.Replica].Conf.Body.SignKey[:], spec.SignedBytes(spec.DomainCommit, c.cd, spec.Encode(&cm.Body)), cm.Sig[:]) {
		c.t.Fatalf("seed %d: COMMIT with a bad signature", c.seed)
	}
	if c.commits[cm.Body.Seq] == nil {
		c.commits[cm.Body.Seq] = map[uint64]spec.Slot{}
	}
	c.commits[cm.Body.Seq][cm.Body.Replica] = cm.Body
}

// propose hands a client-batch of one request to the primary prep of view v.
func (c *system) propose(v, ts uint64) spec.Digest {
	body := spec.RequestBody{Client: 1, Timestamp: ts, Ops: []spec.SealedOp{{Ciphertext: bytes.Repeat([]byte{byte(ts)}, 20)}}}
	req := spec.Request{Body: body, Sig: spec.Signature(c.client.Sign(spec.SignedBytes(spec.DomainRequest, c.cd, spec.Encode(&body))))}
	b := spec.Batch{Requests: []spec.Request{req}}
	p := v % simN
	c.route(spec.RolePrep, p, c.mustStep(c.preps[p].Step, spec.Input{Kind: spec.KindClientBatch, Body: spec.Encode(&b)}))
	c.run()
	return spec.BatchDigest(&b)
}

// checkpointAll delivers CHECKPOINT (seq, state) from every exec to every prep and
// conf.
func (c *system) checkpointAll(seq uint64) {
	state := spec.Hash("sim-state", spec.U64(seq))
	for r := uint64(0); r < simN; r++ {
		body := spec.CheckpointBody{Seq: seq, State: state, Replica: r}
		cp := spec.Checkpoint{Body: body, Sig: spec.Signature(c.execs[r].Sign(spec.SignedBytes(spec.DomainCheckpoint, c.cd, spec.Encode(&body))))}
		c.route(spec.RoleExec, r, []spec.Output{{Kind: spec.KindCheckpoint, To: spec.Destination{Roles: spec.ToPrep | spec.ToConf, Replicas: []uint64{0, 1, 2, 3}}, Body: spec.Encode(&cp)}})
	}
	c.run()
}

// expectCommitted checks that every conf committed seq in view v with digest d.
func (c *system) expectCommitted(seq, v uint64, d spec.Digest) {
	c.t.Helper()
	got := c.commits[seq]
	if len(got) != simN {
		c.t.Fatalf("seed %d: seq %d has %d commits, want %d", c.seed, seq, len(got), simN)
	}
	for r, s := range got {
		if s.View != v || s.Digest != d {
			c.t.Fatalf("seed %d: conf %d committed (v%d, %x) at seq %d, want (v%d, %x)", c.seed, r, s.View, s.Digest[:4], seq, v, d[:4])
		}
	}
}

// TestClusterNormalCaseAndViewChange runs the normal case over two checkpoints, a
// view change whose NEW-VIEW re-proposes the prepared slots above the stable
// checkpoint, and the normal case in the new view.
func TestClusterNormalCaseAndViewChange(t *testing.T) {
	c := newSystem(t, 2024)
	digests := map[uint64]spec.Digest{}
	for s := uint64(1); s <= 5; s++ {
		digests[s] = c.propose(0, s)
		c.expectCommitted(s, 0, digests[s])
		if s%2 == 0 {
			c.checkpointAll(s)
		}
	}
	// Every conf suspects view 0; prep 1 builds the NEW-VIEW for view 1.
	c.commits = map[uint64]map[uint64]spec.Slot{}
	for r := uint64(0); r < simN; r++ {
		c.route(spec.RoleConf, r, c.mustStep(c.confs[r].Step, spec.Input{Kind: spec.KindSuspect, Body: spec.Encode(&spec.Suspect{View: 0})}))
	}
	c.run()
	// Stable checkpoint 4; seq 5 was prepared in view 0 and is re-agreed in view 1.
	c.expectCommitted(5, 1, digests[5])
	for r := 0; r < simN; r++ {
		if st := c.status(c.confs[r].Step); st.View != 1 || !st.ViewActive || st.Stable != 4 {
			t.Fatalf("seed %d: conf %d status %+v", c.seed, r, st)
		}
		if st := c.status(c.preps[r].Step); st.View != 1 || st.Stable != 4 || st.Last != 5 {
			t.Fatalf("seed %d: prep %d status %+v", c.seed, r, st)
		}
	}
	d6 := c.propose(1, 6)
	c.expectCommitted(6, 1, d6)
}

// status returns the Status of an empty step.
func (c *system) status(step func([]byte) []byte) spec.Status {
	var so spec.StepOutput
	var st spec.Status
	if spec.Decode(step(spec.Encode(&spec.StepInput{})), &so, spec.MaxMessageBytes) != nil ||
		spec.Decode(so.Outputs[len(so.Outputs)-1].Body, &st, 1024) != nil {
		c.t.Fatal("status does not decode")
	}
	return st
}
