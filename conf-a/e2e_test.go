package confa

import (
	"strings"
	"testing"

	"github.com/splitbft/splitbft/internal/stdcrypto/fixture"
	prepa "github.com/splitbft/splitbft/prep-a"
	"github.com/splitbft/splitbft/spec"
)

// node is one compartment of the end-to-end cluster behind its byte interface.
type node struct {
	role spec.Role
	id   uint64
	comp spec.Compartment
}

// cluster is four real preps and four real confs, with execs simulated by the
// fixture (checkpoints), and a broker loop that routes outputs by the table of
// SPEC.md §13.1.
type cluster struct {
	t     *testing.T
	c     *fixture.Cluster
	preps []*prepa.Prep
	confs []*Conf
	// commits[r] collects the COMMIT bodies conf r emitted, in order.
	commits map[uint64][]spec.Slot
	queue   []item // deliveries not yet made, in FIFO order
}

func newCluster(t *testing.T, seed uint64) *cluster {
	cl := &cluster{t: t, commits: map[uint64][]spec.Slot{}}
	var enrs []spec.Enrollment
	for id := uint64(0); id < 4; id++ {
		p := prepa.New(fixture.NewReader(seed*100 + id))
		cf := New(fixture.NewReader(seed*100 + 50 + id))
		for _, n := range []node{{spec.RolePrep, id, p}, {spec.RoleConf, id, cf}} {
			b, err := n.comp.Init(spec.Encode(&spec.InitRequest{Role: n.role, Replica: id}))
			if err != nil {
				t.Fatal(err)
			}
			var e spec.Enrollment
			if err := spec.Decode(b, &e, spec.MaxMessageBytes); err != nil {
				t.Fatal(err)
			}
			enrs = append(enrs, e)
		}
		cl.preps, cl.confs = append(cl.preps, p), append(cl.confs, cf)
	}
	cl.c = fixture.New(fixture.Options{Seed: seed}, enrs...)
	for id := range cl.preps {
		cl.send(spec.RolePrep, uint64(id), cl.c.Configure())
		cl.send(spec.RoleConf, uint64(id), cl.c.Configure())
	}
	cl.run()
	return cl
}

// item is one delivery waiting in the broker's queue.
type item struct {
	role spec.Role
	id   uint64
	in   spec.Input
}

// send queues an input for (role, id); run delivers the queue in FIFO order.
func (cl *cluster) send(role spec.Role, id uint64, in spec.Input) {
	cl.queue = append(cl.queue, item{role, id, in})
}

// run delivers queued inputs until none is left, routing every output. It fails the
// test on any rejection except a stale view-change at a prep that already entered
// the new view (rule VC2), which a real broker's retransmissions also produce.
func (cl *cluster) run() {
	cl.t.Helper()
	for len(cl.queue) > 0 {
		it := cl.queue[0]
		cl.queue = cl.queue[1:]
		var comp spec.Compartment = cl.preps[it.id]
		if it.role == spec.RoleConf {
			comp = cl.confs[it.id]
		}
		out, _, err := fixture.DecodeOutput(comp.Step(fixture.StepBytes(it.in)))
		if err != nil {
			cl.t.Fatal(err)
		}
		for _, o := range out.Outputs {
			if o.Kind != spec.KindReject {
				cl.route(it.role, it.id, o)
				continue
			}
			var r spec.Rejection
			mustDecode(cl.t, o, &r)
			if it.in.Kind != spec.KindViewChange || r.Code != spec.CodeStale {
				cl.t.Fatalf("%s %d rejected %s: %s", spec.RoleName(it.role), it.id, spec.KindName(it.in.Kind), spec.CodeName(r.Code))
			}
		}
	}
}

// route queues output o of (role, from) per SPEC.md §13.1, never back to its producer.
func (cl *cluster) route(role spec.Role, from uint64, o spec.Output) {
	switch o.Kind {
	case spec.KindProposal:
		var p spec.Proposal
		mustDecode(cl.t, o, &p)
		for r := uint64(0); r < 4; r++ {
			if r != from {
				cl.send(spec.RolePrep, r, o2in(o))
			}
			cl.send(spec.RoleConf, r, fixture.In(spec.KindPrePrepare, &p.Header))
		}
	case spec.KindPrepare, spec.KindViewChange:
		to := spec.RoleConf
		if o.Kind == spec.KindViewChange {
			to = spec.RolePrep
		}
		for r := uint64(0); r < 4; r++ {
			cl.send(to, r, o2in(o))
		}
	case spec.KindCommit:
		var cm spec.Commit
		mustDecode(cl.t, o, &cm)
		cl.commits[from] = append(cl.commits[from], cm.Body)
	case spec.KindNewView:
		for r := uint64(0); r < 4; r++ {
			if r != from {
				cl.send(spec.RolePrep, r, o2in(o))
			}
			cl.send(spec.RoleConf, r, o2in(o))
		}
	default:
		cl.t.Fatalf("unexpected output %s from %s %d", spec.KindName(o.Kind), spec.RoleName(role), from)
	}
}

func o2in(o spec.Output) spec.Input { return spec.Input{Kind: o.Kind, Body: o.Body} }

func mustDecode(t *testing.T, o spec.Output, v any) {
	t.Helper()
	if err := spec.Decode(o.Body, v, spec.MaxBodyBytes(o.Kind)); err != nil {
		t.Fatal(err)
	}
}

// TestEndToEnd runs the agreement of SPEC.md §9–§10 across four prep-a and four
// conf-a compartments: two batches commit at every conf in view 0; the second one
// only after a view change to view 1, whose NEW-VIEW re-proposes it; a stable
// checkpoint from the (simulated) execs moves every window.
func TestEndToEnd(t *testing.T) {
	cl := newCluster(t, 90)
	c := cl.c
	b1 := spec.Batch{Requests: []spec.Request{c.Request(10, 1, 1)}}
	cl.send(spec.RolePrep, 0, fixture.In(spec.KindClientBatch, &b1))
	cl.run()
	for r := uint64(0); r < 4; r++ {
		if len(cl.commits[r]) != 1 || cl.commits[r][0].Digest != spec.BatchDigest(&b1) || cl.commits[r][0].Seq != 1 {
			t.Fatalf("conf %d commits %+v", r, cl.commits[r])
		}
	}
	// every conf suspects view 0; the view-changes reach prep 1, the new primary.
	for r := uint64(0); r < 4; r++ {
		cl.send(spec.RoleConf, r, fixture.In(spec.KindSuspect, &spec.Suspect{View: 0}))
	}
	cl.run()
	for r := uint64(0); r < 4; r++ {
		st := cl.confs[r].status()
		if st.View != 1 || !st.ViewActive {
			t.Fatalf("conf %d after the view change: %+v", r, st)
		}
		if got := cl.commits[r]; len(got) != 2 || got[1].View != 1 || got[1].Seq != 1 || got[1].Digest != got[0].Digest {
			t.Fatalf("conf %d does not re-commit seq 1 in view 1: %+v", r, got)
		}
	}
	b2 := spec.Batch{Requests: []spec.Request{c.Request(20, 1, 2)}}
	cl.send(spec.RolePrep, 1, fixture.In(spec.KindClientBatch, &b2))
	cl.run()
	for r := uint64(0); r < 4; r++ {
		if got := cl.commits[r]; len(got) != 3 || got[2] != (spec.Slot{View: 1, Seq: 2, Digest: spec.BatchDigest(&b2), Replica: r}) {
			t.Fatalf("conf %d commits %+v", r, got)
		}
	}
	for e := uint64(0); e < 3; e++ {
		ck := c.Checkpoint(2, spec.Digest{2}, e)
		for r := uint64(0); r < 4; r++ {
			cl.send(spec.RolePrep, r, fixture.In(spec.KindCheckpoint, &ck))
			cl.send(spec.RoleConf, r, fixture.In(spec.KindCheckpoint, &ck))
		}
	}
	cl.run()
	for r := uint64(0); r < 4; r++ {
		if cl.confs[r].status().Stable != 2 || !strings.Contains(cl.preps[r].DebugState(), "stable h=2 ") {
			t.Fatalf("replica %d not stable at 2", r)
		}
	}
}
