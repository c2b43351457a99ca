package operator

import (
	"context"
	"crypto/ed25519"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/splitbft/splitbft/attest"
	"github.com/splitbft/splitbft/broker"
	"github.com/splitbft/splitbft/gateway"
	"github.com/splitbft/splitbft/internal/testcluster"
	"github.com/splitbft/splitbft/spec"
)

// offerFx is a configuration with one governance member whose enclave keys the test
// holds, so that it can certify checkpoints and commits of it.
type offerFx struct {
	t      *testing.T
	seed   uint64
	tc     *testcluster.Cluster
	cfg    *spec.Config
	cd     spec.Digest
	member ed25519.PrivateKey
	rnd    *rand.ChaCha8
}

func newOfferFx(t *testing.T, seed uint64) *offerFx {
	t.Helper()
	tc, err := testcluster.New(seed, testcluster.Options{K: 4, L: 16, Clients: []uint64{100}, Admit: broker.AdmitKey})
	if err != nil {
		t.Fatalf("seed %d: %v", seed, err)
	}
	fx := &offerFx{t: t, seed: seed, tc: tc, cfg: tc.Config, rnd: rand.NewChaCha8([32]byte{byte(seed), 1})}
	ms := make([]byte, 32)
	fx.rnd.Read(ms)
	fx.member = ed25519.NewKeyFromSeed(ms)
	fx.cfg.Members, fx.cfg.Threshold = []spec.PublicKey{spec.PublicKey(fx.member.Public().(ed25519.PublicKey))}, 1
	fx.cd = spec.ConfigDigest(fx.cfg)
	return fx
}

func (fx *offerFx) sign(role spec.Role, rep uint64, domain string, body any) spec.Signature {
	k := fx.tc.Keys(testcluster.Slot{Role: role, Replica: rep}).Sign
	return spec.Signature(ed25519.Sign(k, spec.SignedBytes(domain, fx.cd, spec.Encode(body))))
}

// checkpointCert certifies state at seq by execs 0..q-1.
func (fx *offerFx) checkpointCert(seq uint64) spec.CheckpointCert {
	c := spec.CheckpointCert{Seq: seq, State: spec.Digest{byte(seq)}}
	for r := range uint64(fx.cfg.Quorum()) {
		b := spec.CheckpointBody{Seq: seq, State: c.State, Replica: r}
		c.Proof = append(c.Proof, spec.Checkpoint{Body: b, Sig: fx.sign(spec.RoleExec, r, spec.DomainCheckpoint, &b)})
	}
	return c
}

// offer returns replica id's offer: fresh enrollments, base, and a head batch
// certified by confs 0..q-1 (by a forger's key when forged).
func (fx *offerFx) offer(id uint64, base spec.CheckpointCert, head uint64, forged bool) *RecoveryOffer {
	o := &RecoveryOffer{Replica: id, HasBase: true, Base: base, Head: head, HasKey: true}
	for role := spec.RolePrep; role <= spec.RoleExec; role++ {
		k, err := testcluster.DeriveKeys(fx.rnd, role)
		if err != nil {
			fx.t.Fatal(err)
		}
		o.Enrollments = append(o.Enrollments, spec.Enrollment{Body: k.Enrollment(role, id, string(fx.cfg.Enrollment(role, id).Body.Build))})
	}
	if head == base.Seq {
		return o
	}
	o.HeadBatch = spec.Encode(&spec.Batch{Requests: []spec.Request{fx.tc.SignRequest(spec.RequestBody{Client: 100, Timestamp: head, Ops: []spec.SealedOp{{Ciphertext: []byte("op")}}})}})
	d := spec.Hash(spec.DomainBatch, o.HeadBatch)
	for r := range uint64(fx.cfg.Quorum()) {
		b := spec.Slot{View: 0, Seq: head, Digest: d, Replica: r}
		c := spec.Commit{Body: b, Sig: fx.sign(spec.RoleConf, r, spec.DomainCommit, &b)}
		if forged && r == 1 {
			c.Sig[0] ^= 1
		}
		o.HeadCert = append(o.HeadCert, spec.Encode(&c))
	}
	return o
}

// TestChooseHighestHead: the tool takes the highest head a commit certificate proves
// (an older log, a forged head and a base that is not certified are outvoted or
// ignored), counts the offers reaching it, refuses a lower --head, and its plan
// passes RC1–RC4 with the offers' enrollments and the head as StartSeq (SPEC §17.8).
func TestChooseHighestHead(t *testing.T) {
	fx := newOfferFx(t, 81)
	badBase := fx.checkpointCert(8)
	badBase.Proof[0].Sig[2] ^= 1
	offers := []*RecoveryOffer{
		fx.offer(0, fx.cfg.GenesisCert(), 5, false),
		fx.offer(1, fx.checkpointCert(4), 7, false),
		fx.offer(2, fx.checkpointCert(4), 30, true), // forged head: ignored
		fx.offer(3, fx.cfg.GenesisCert(), 3, false), // an older copy of the log
	}
	ch, src, err := choose(offers, fx.cfg, fx.cd, 0)
	if err != nil || src.Replica != 1 || ch.Head != 7 || ch.Base != 4 || ch.Offers != 4 || ch.Proven != 3 || ch.AtHead != 1 || ch.Epoch != fx.cfg.Epoch+1 {
		t.Fatalf("seed %d: chose %+v (source %v), %v", fx.seed, ch, src, err)
	}
	offers[3] = fx.offer(3, badBase, 12, false) // a forged base disqualifies the offer
	if ch, _, _ := choose(offers, fx.cfg, fx.cd, 0); ch.Head != 7 || ch.Proven != 2 {
		t.Fatalf("seed %d: forged base counted: %+v", fx.seed, ch)
	}
	if _, _, err := choose(offers, fx.cfg, fx.cd, 5); err == nil || !strings.Contains(err.Error(), "--head 5") {
		t.Fatalf("seed %d: lower head accepted: %v", fx.seed, err)
	}
	plan, err := buildPlan(fx.cfg, fx.cd, offers, src, nil, []ed25519.PrivateKey{fx.member})
	if err != nil {
		t.Fatalf("seed %d: plan: %v", fx.seed, err)
	}
	tmpl, _, err := spec.VerifyPlan(fx.cfg, fx.cd, plan, verifyEd, broker.AdmitKey)
	if err != nil || tmpl.StartSeq != 7 || tmpl.Epoch != fx.cfg.Epoch+1 || tmpl.Replicas[2].Exec.Body.SignKey != offers[2].Enrollments[spec.RoleExec].Body.SignKey {
		t.Fatalf("seed %d: plan does not verify or is not the template: %v", fx.seed, err)
	}
	other := ed25519.NewKeyFromSeed(make([]byte, 32))
	for _, keys := range [][]ed25519.PrivateKey{nil, {other}, {fx.member, fx.member}} {
		if _, err := buildPlan(fx.cfg, fx.cd, offers, src, nil, keys); err == nil {
			t.Fatalf("seed %d: plan signed by %d keys (a non-member or repeated) accepted", fx.seed, len(keys))
		}
	}
}

// TestRecoverWithoutAbsent: with replica 2 declared absent, the tool checks the
// declaration (known ids, no repeats, at most f), refuses while the absent replica
// answers on its status port, does not wait for its offer (sameEnd), and its plan
// carries replica 2's slot over from C while the others are the offers' fresh
// enrollments; the plan passes RC1–RC4, and carrying over a second slot does not
// (SPEC §17.8, "Absent replicas").
func TestRecoverWithoutAbsent(t *testing.T) {
	fx := newOfferFx(t, 82)
	tmpl := &Template{N: 4, F: 1, Replicas: make([]ReplicaTemplate, 4)}
	for _, tc := range []struct {
		absent []uint64
		err    string
	}{
		{[]uint64{4}, "--absent 4: the cluster has replicas 0..3"},
		{[]uint64{2, 2}, "--absent 2 given twice"},
		{[]uint64{1, 2}, "2 replicas declared absent; a recovery can leave out at most f = 1"},
	} {
		if err := CheckAbsent(tmpl, tc.absent); err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("seed %d: CheckAbsent(%v) = %v, want %q", fx.seed, tc.absent, err, tc.err)
		}
	}
	if err := CheckAbsent(tmpl, []uint64{2}); err != nil {
		t.Fatalf("seed %d: one absent replica of four refused: %v", fx.seed, err)
	}

	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "recovering", http.StatusServiceUnavailable) // any answer means it runs
	}))
	defer up.Close()
	down := httptest.NewServer(http.NotFoundHandler())
	downAddr := strings.TrimPrefix(down.URL, "http://")
	down.Close()
	tmpl.Replicas[2].Status = strings.TrimPrefix(up.URL, "http://")
	if err := probeAbsent(context.Background(), tmpl, []uint64{2}); err == nil || !strings.Contains(err.Error(), "replica 2, declared absent, answers") {
		t.Fatalf("seed %d: an absent replica that answers was not refused: %v", fx.seed, err)
	}
	tmpl.Replicas[2].Status = downAddr
	if err := probeAbsent(context.Background(), tmpl, []uint64{2}); err != nil {
		t.Fatalf("seed %d: an unreachable absent replica refused: %v", fx.seed, err)
	}

	offers := []*RecoveryOffer{fx.offer(0, fx.cfg.GenesisCert(), 5, false), fx.offer(1, fx.cfg.GenesisCert(), 5, false), nil, fx.offer(3, fx.cfg.GenesisCert(), 4, false)}
	cfgs := []*spec.Config{fx.cfg, fx.cfg, nil, fx.cfg}
	errs := make([]error, 4)
	asked := func(i uint64) bool { return i != 2 }
	if _, all := sameEnd(offers, cfgs, errs, func(uint64) bool { return true }); all {
		t.Fatalf("seed %d: sameEnd complete without replica 2's offer while it was asked", fx.seed)
	}
	if cfg, all := sameEnd(offers, cfgs, errs, asked); !all || cfg != fx.cfg {
		t.Fatalf("seed %d: sameEnd waits for the absent replica: %v", fx.seed, all)
	}
	present := []*RecoveryOffer{offers[0], offers[1], offers[3]}
	ch, src, err := choose(present, fx.cfg, fx.cd, 0)
	if err != nil || ch.Head != 5 || ch.Offers != 3 || ch.AtHead != 2 {
		t.Fatalf("seed %d: chose %+v, %v", fx.seed, ch, err)
	}
	plan, err := buildPlan(fx.cfg, fx.cd, present, src, nil, []ed25519.PrivateKey{fx.member})
	if err != nil {
		t.Fatalf("seed %d: plan: %v", fx.seed, err)
	}
	next, _, err := spec.VerifyPlan(fx.cfg, fx.cd, plan, verifyEd, broker.AdmitKey)
	if err != nil {
		t.Fatalf("seed %d: the plan with replica 2 absent does not verify: %v", fx.seed, err)
	}
	if diff := cmp.Diff(spec.Encode(&fx.cfg.Replicas[2]), spec.Encode(&next.Replicas[2])); diff != "" {
		t.Fatalf("seed %d: replica 2's slot is not carried over (encodings, -C +C'):\n%s", fx.seed, diff)
	}
	if next.Replicas[3].Prep.Body.SignKey != offers[3].Enrollments[spec.RolePrep].Body.SignKey {
		t.Fatalf("seed %d: replica 3's slot is not its offer's", fx.seed)
	}
	if _, err := buildPlan(fx.cfg, fx.cd, present[:2], src, nil, []ed25519.PrivateKey{fx.member}); err == nil || !strings.Contains(err.Error(), "at most f = 1") {
		t.Fatalf("seed %d: a plan carrying two slots over was built: %v", fx.seed, err)
	}
}

// TestOfferFromRunningReplica: a replica that runs (it answers GET /recovery with 404,
// not recovering) holds a recovery up; the tool says how to make it offer.
func TestOfferFromRunningReplica(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "this replica is not recovering", http.StatusNotFound)
	}))
	defer srv.Close()
	tmpl := &Template{N: 4, F: 1, Replicas: make([]ReplicaTemplate, 4)}
	tmpl.Replicas[1].Status = strings.TrimPrefix(srv.URL, "http://")
	_, _, err := fetchOffer(context.Background(), &RecoverClusterOptions{T: tmpl}, 1)
	if err == nil || !strings.Contains(err.Error(), "not recovering") || !strings.Contains(err.Error(), "stop it and start it again with the same command") {
		t.Fatalf("offer of a running replica: %v; want the 404 and what to do", err)
	}
}

// TestBuildPlanRegistersGateways: the recovery plan registers the gateways the
// replicas run now (SPEC §16.2, §17.8): the registrations of their ids that the
// configuration holds are replaced (id 100 here), an id it does not register (300:
// the members removed it) stays out, the rest is kept, and the plan verifies.
func TestBuildPlanRegistersGateways(t *testing.T) {
	fx := newOfferFx(t, 83)
	offers := []*RecoveryOffer{
		fx.offer(0, fx.cfg.GenesisCert(), 5, false),
		fx.offer(1, fx.cfg.GenesisCert(), 5, false),
		fx.offer(2, fx.cfg.GenesisCert(), 5, false),
		fx.offer(3, fx.cfg.GenesisCert(), 5, false),
	}
	_, src, err := choose(offers, fx.cfg, fx.cd, 0)
	if err != nil {
		t.Fatal(err)
	}
	e, err := gateway.Enroll(spec.TestStream("gateway", fx.seed), 1, []uint64{100, 300}, []string{"127.0.0.1"}, time.Unix(1.7e9, 0), attest.DevInsecure{})
	if err != nil {
		t.Fatal(err)
	}
	g := &e.Attestation.Enrollment
	if fx.cfg.Client(100) == nil || fx.cfg.Client(300) != nil || g.SameKeys(fx.cfg) {
		t.Fatal("the fixture should register client 100, not 300, and not the gateway's keys")
	}
	plan, err := buildPlan(fx.cfg, fx.cd, offers, src, []*spec.GatewayEnrollment{g}, []ed25519.PrivateKey{fx.member})
	if err != nil {
		t.Fatalf("seed %d: plan: %v", fx.seed, err)
	}
	tmpl, _, err := spec.VerifyPlan(fx.cfg, fx.cd, plan, verifyEd, broker.AdmitKey)
	if err != nil {
		t.Fatalf("seed %d: the plan does not verify: %v", fx.seed, err)
	}
	want := slices.Clone(fx.cfg.Clients)
	*(&spec.Config{Clients: want}).Client(100) = g.Registrations()[0]
	if !cmp.Equal(want, tmpl.Clients) {
		t.Fatalf("seed %d: the template's clients, diff (-want +got):\n%s", fx.seed, cmp.Diff(want, tmpl.Clients))
	}
}
