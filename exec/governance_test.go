package exec_test

import (
	"bytes"
	"crypto/ed25519"
	"math/rand/v2"
	"testing"

	"github.com/splitbft/splitbft/spec"
)

// This file tests governance proposals (SPEC.md §17.2, GP1–GP3 and the change ops)
// and the config operation rules that are results, not rejections: a rejected config
// operation gets Result{StatusRejected, code name} and changes nothing.

// govCluster is a cluster whose configuration names three members with threshold 2.
type govCluster struct {
	*cluster
	members []ed25519.PrivateKey
	rnd     *rand.ChaCha8
}

func newGovCluster(t *testing.T, seed uint64) *govCluster {
	t.Helper()
	g := &govCluster{cluster: newUnconfigured(t, seed, defaultParams()), rnd: rand.NewChaCha8(seedBytes("gov/%d", seed))}
	cfg := g.cfg
	for i := 0; i < 3; i++ {
		k := ed25519.NewKeyFromSeed(readN(g.rnd, 32))
		g.members = append(g.members, k)
		var pub spec.PublicKey
		copy(pub[:], k.Public().(ed25519.PublicKey))
		cfg.Members = append(cfg.Members, pub)
	}
	cfg.Threshold = 2
	g.setConfig(cfg)
	for i := range g.execs {
		g.configure(uint64(i))
	}
	return g
}

// proposal is a proposal of changes for the current epoch signed by members ms.
func (g *govCluster) proposal(ms []uint64, changes ...spec.Change) *spec.ConfigOp {
	p := spec.ConfigProposal{Body: spec.ConfigProposalBody{Epoch: g.cfg.Epoch, Changes: changes}}
	for _, m := range ms {
		p.Sigs = append(p.Sigs, spec.MemberSig{Member: m, Sig: g.sign(g.members[m], spec.DomainProposal, &p.Body)})
	}
	return &spec.ConfigOp{Tag: spec.ConfigOpTag, Change: p}
}

// newClient returns a client with fresh keys and its registration.
func (g *govCluster) newClient(id uint64) (*client, spec.ClientConfig) {
	k := ed25519.NewKeyFromSeed(readN(g.rnd, 32))
	box := readN(g.rnd, 32)
	cl := &client{id: id, sign: k, boxPriv: box, boxPub: x25519Pub(box), nextTS: 1}
	var pub spec.PublicKey
	copy(pub[:], k.Public().(ed25519.PublicKey))
	return cl, spec.ClientConfig{ID: id, SignKey: pub, BoxKey: cl.boxPub}
}

// TestGovernanceProposal: a proposal below the threshold is rejected at every exec and
// changes nothing; at the threshold it is accepted with every change op, the epoch
// changes, and the client it adds executes a request in the next epoch.
func TestGovernanceProposal(t *testing.T) {
	g := newGovCluster(t, 43)
	all := []uint64{0, 1, 2, 3}
	cl, cc := g.newClient(900)
	add := spec.Change{Op: spec.ChangeAddClient, Client: cc}
	below := g.configOpRequest(g.clients[0], g.proposal([]uint64{1}, add))
	for i, o := range g.orderAll(all, 1, below) {
		g.wantResult(t, o, rejected(spec.CodeBadSignature))
		if len(ofKind(o, spec.KindEpochVote)) != 0 {
			t.Fatalf("exec %d voted after a rejected proposal", i)
		}
	}
	newMember := edPub(g.rnd)
	build := spec.BuildPolicy{Role: spec.RolePrep, Build: []byte("prep-u")}
	changes := []spec.Change{add,
		{Op: spec.ChangeRemoveClient, Client: spec.ClientConfig{ID: g.clients[2].id}},
		{Op: spec.ChangeAddBuild, Build: build},
		{Op: spec.ChangeAddBuild, Build: spec.BuildPolicy{Role: spec.RoleConf, Build: []byte("conf-u")}},
		{Op: spec.ChangeRemoveBuild, Build: spec.BuildPolicy{Role: spec.RoleConf, Build: []byte("conf-u")}},
		{Op: spec.ChangeSetAddress, Replica: 2, Address: []byte("r2:2")},
		{Op: spec.ChangeAddMember, Key: newMember},
		{Op: spec.ChangeRemoveMember, Key: g.cfg.Members[0]},
		{Op: spec.ChangeSetThreshold, Replica: 3},
	}
	at := g.configOpRequest(g.clients[0], g.proposal([]uint64{0, 2}, changes...))
	outs := g.orderAll(all, 2, at)
	for i := range all {
		g.wantResult(t, outs[i], accepted(1))
	}
	run := g.exchangeVotes(t, outs)
	n := &run.next
	switch {
	case n.Epoch != 1 || n.StartSeq != 2 || n.Threshold != 3 || len(run.shares) != 0:
		t.Fatalf("C' epoch %d start %d threshold %d, %d shares", n.Epoch, n.StartSeq, n.Threshold, len(run.shares))
	case n.Client(900) == nil || n.Client(g.clients[2].id) != nil || len(n.Clients) != len(g.cfg.Clients):
		t.Fatalf("C' clients %+v", n.Clients)
	case len(n.Builds) != len(g.cfg.Builds)+1 || !sameEnc(&n.Builds[len(n.Builds)-1], &build):
		t.Fatalf("C' builds %+v", n.Builds)
	case string(n.Replicas[2].Address) != "r2:2" || string(n.Replicas[1].Address) != string(g.cfg.Replicas[1].Address):
		t.Fatalf("C' addresses %q %q", n.Replicas[1].Address, n.Replicas[2].Address)
	case len(n.Members) != 3 || n.Members[0] != g.cfg.Members[1] || n.Members[2] != newMember:
		t.Fatalf("C' members %x", n.Members)
	}
	g.adoptEpoch(run, 0, nil, 0)
	g.clients = append(g.clients, cl)
	req := g.kvRequest(cl, put("new", "client"))
	for _, o := range g.orderAll(all, 3, req) {
		g.wantResult(t, o, spec.Result{Status: spec.StatusOK})
	}
}

// TestProposalRules: every GP rule and every change op's condition, rejected with its
// code as the operation's result; nothing changes (the exec goes on executing, and a
// valid proposal afterwards is accepted for epoch 1).
func TestProposalRules(t *testing.T) {
	g := newGovCluster(t, 44)
	_, cc := g.newClient(901)
	add := spec.Change{Op: spec.ChangeAddClient, Client: cc}
	existing := g.cfg.Clients[0]
	policy := g.cfg.Builds[0]
	many := make([]spec.Change, 257)
	for i := range many {
		many[i] = spec.Change{Op: spec.ChangeSetThreshold, Replica: 2}
	}
	badSig := g.proposal([]uint64{0, 1}, add)
	badSig.Change.Sigs[1].Sig[0] ^= 1
	dupMember := g.proposal([]uint64{0, 0}, add)
	farMember := g.proposal([]uint64{0}, add)
	farMember.Change.Sigs = append(farMember.Change.Sigs, spec.MemberSig{Member: 3, Sig: farMember.Change.Sigs[0].Sig})
	stale := g.proposal(nil, add)
	stale.Change.Body.Epoch = 1
	stale.Change.Sigs = g.proposal([]uint64{0, 1}, add).Change.Sigs
	cases := []struct {
		name string
		op   *spec.ConfigOp
		code uint64
	}{
		{"GP1 epoch 1", stale, spec.CodeStale},
		{"GP2 one signature", g.proposal([]uint64{2}, add), spec.CodeBadSignature},
		{"GP2 a bad signature", badSig, spec.CodeBadSignature},
		{"GP2 one member twice", dupMember, spec.CodeBadSignature},
		{"GP2 member 3 of 3", farMember, spec.CodeBadSignature},
		{"GP3 no change", g.proposal([]uint64{0, 1}), spec.CodeBadConfig},
		{"GP3 257 changes", g.proposal([]uint64{0, 1}, many...), spec.CodeBadConfig},
		{"GP3 op 0", g.proposal([]uint64{0, 1}, spec.Change{}), spec.CodeBadConfig},
		{"GP3 op 9", g.proposal([]uint64{0, 1}, spec.Change{Op: 9}), spec.CodeBadConfig},
		{"GP3 unused field", g.proposal([]uint64{0, 1}, spec.Change{Op: spec.ChangeAddClient, Client: cc, Replica: 1}), spec.CodeBadConfig},
		{"GP3 add a registered id", g.proposal([]uint64{0, 1}, spec.Change{Op: spec.ChangeAddClient, Client: spec.ClientConfig{ID: existing.ID, SignKey: cc.SignKey, BoxKey: cc.BoxKey}}), spec.CodeBadConfig},
		{"GP3 remove an unknown client", g.proposal([]uint64{0, 1}, spec.Change{Op: spec.ChangeRemoveClient, Client: spec.ClientConfig{ID: 5}}), spec.CodeBadConfig},
		{"GP3 remove-client with keys", g.proposal([]uint64{0, 1}, spec.Change{Op: spec.ChangeRemoveClient, Client: existing}), spec.CodeBadConfig},
		{"GP3 add a listed build", g.proposal([]uint64{0, 1}, spec.Change{Op: spec.ChangeAddBuild, Build: policy}), spec.CodeBadConfig},
		{"GP3 remove an unlisted build", g.proposal([]uint64{0, 1}, spec.Change{Op: spec.ChangeRemoveBuild, Build: spec.BuildPolicy{Role: 0, Build: []byte("nope")}}), spec.CodeBadConfig},
		{"GP3 address of replica 4", g.proposal([]uint64{0, 1}, spec.Change{Op: spec.ChangeSetAddress, Replica: 4, Address: []byte("x:1")}), spec.CodeBadConfig},
		{"GP3 empty address", g.proposal([]uint64{0, 1}, spec.Change{Op: spec.ChangeSetAddress, Replica: 1}), spec.CodeBadConfig},
		{"GP3 address of 257 bytes", g.proposal([]uint64{0, 1}, spec.Change{Op: spec.ChangeSetAddress, Replica: 1, Address: bytes.Repeat([]byte("a"), 257)}), spec.CodeBadConfig},
		{"GP3 add a member twice", g.proposal([]uint64{0, 1}, spec.Change{Op: spec.ChangeAddMember, Key: g.cfg.Members[1]}), spec.CodeBadConfig},
		{"GP3 remove a non-member", g.proposal([]uint64{0, 1}, spec.Change{Op: spec.ChangeRemoveMember, Key: cc.SignKey}), spec.CodeBadConfig},
		{"candidate: threshold above members", g.proposal([]uint64{0, 1}, spec.Change{Op: spec.ChangeSetThreshold, Replica: 4}), spec.CodeBadConfig},
		{"candidate: threshold 0 with members", g.proposal([]uint64{0, 1}, spec.Change{Op: spec.ChangeSetThreshold}), spec.CodeBadConfig},
		{"candidate: remove the build in use", g.proposal([]uint64{0, 1}, spec.Change{Op: spec.ChangeRemoveBuild, Build: policy}), spec.CodeBadConfig},
		{"candidate: client key of an exec", g.proposal([]uint64{0, 1}, spec.Change{Op: spec.ChangeAddClient, Client: spec.ClientConfig{ID: 902, SignKey: g.cfg.Replicas[0].Exec.Body.SignKey, BoxKey: cc.BoxKey}}), spec.CodeBadConfig},
		{"both admit and change", &spec.ConfigOp{Tag: spec.ConfigOpTag, Admit: []spec.Admission{{}}, Change: g.proposal([]uint64{0, 1}, add).Change}, spec.CodeBadConfig},
		{"neither admit nor change", &spec.ConfigOp{Tag: spec.ConfigOpTag}, spec.CodeBadConfig},
	}
	g.runConfigOpCases(t, cases)
	g.wantResult(t, g.order(0, uint64(len(cases)+1), g.configOpRequest(g.clients[0], g.proposal([]uint64{0, 1}, add))), accepted(1))
}

// runConfigOpCases orders each case's operation at exec 0 at successive sequence
// numbers and requires its rejection result, no vote, and the exec executing on.
func (c *cluster) runConfigOpCases(t *testing.T, cases []struct {
	name string
	op   *spec.ConfigOp
	code uint64
}) {
	t.Helper()
	for i, tc := range cases {
		s := uint64(i + 1)
		outs := c.order(0, s, c.configOpRequest(c.clients[0], tc.op))
		res := c.results(t, outs)
		if len(res) != 1 || !sameEnc(&res[0], ptr(rejected(tc.code))) {
			t.Fatalf("%s: results %+v, want %s rejected:%s", tc.name, res, spec.CodeName(tc.code), describe(outs))
		}
		if len(ofKind(outs, spec.KindEpochVote)) != 0 || status(t, outs).Last != s {
			t.Fatalf("%s: the rejected operation ended the epoch:%s", tc.name, describe(outs))
		}
	}
}

// TestRekeyedClientStartsAfresh: a client id registered again with new keys (a
// restarted gateway's identities, SPEC.md §16.2) has no client-table entry in the
// next epoch (§17.3): its request at timestamp 1 executes, where an entry kept would
// answer it with the cached results of the old identity's request at timestamp 1 and
// execute nothing. Every exec votes for the same StartState, which holds no entry for
// it.
func TestRekeyedClientStartsAfresh(t *testing.T) {
	g := newGovCluster(t, 47)
	all := []uint64{0, 1, 2, 3}
	old := g.clients[1]
	old.nextTS = 1
	for _, o := range g.orderAll(all, 1, g.kvRequest(old, put("k", "old"))) {
		g.wantResult(t, o, spec.Result{Status: spec.StatusOK})
	}
	fresh, reg := g.newClient(old.id)
	rekey := g.configOpRequest(g.clients[0], g.proposal([]uint64{0, 1},
		spec.Change{Op: spec.ChangeRemoveClient, Client: spec.ClientConfig{ID: old.id}},
		spec.Change{Op: spec.ChangeAddClient, Client: reg}))
	outs := g.orderAll(all, 2, rekey)
	for i := range all {
		g.wantResult(t, outs[i], accepted(1))
	}
	run := g.exchangeVotes(t, outs)
	if c := run.next.Client(old.id); c == nil || c.SignKey != reg.SignKey {
		t.Fatalf("C' registers client %d as %+v, want the new keys", old.id, c)
	}
	g.adoptEpoch(run, 0, nil, 0)
	g.clients[1] = fresh // the fixture opens replies with the keys of the client of that id
	for i, o := range g.orderAll(all, 3, g.kvRequest(fresh, put("k", "new"))) {
		res := g.results(t, o)
		if len(res) != 1 || res[0].Status != spec.StatusOK {
			t.Fatalf("exec %d: the re-keyed client's first request: %+v", i, res)
		}
	}
	for _, o := range g.orderAll(all, 4, g.kvRequest(g.clients[0], get("k"))) {
		g.wantResult(t, o, spec.Result{Status: spec.StatusOK, Value: []byte("new")})
	}
}
