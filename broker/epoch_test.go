package broker

import (
	"bytes"
	"slices"
	"testing"

	"github.com/splitbft/splitbft/client"
	"github.com/splitbft/splitbft/internal/testcluster"
	"github.com/splitbft/splitbft/spec"
)

// Tests of the broker's side of epochs and admission (SPEC.md §17.4, §17.5, §17.7),
// over fake compartments.

// epochWorld is a world whose operations can carry a ConfigOp (MaxOpBytes 4096).
func epochWorld(t testing.TB, seed uint64) *world {
	t.Helper()
	w := &world{rnd: newSeeded(seed)}
	tc, err := testcluster.New(seed, testcluster.Options{F: 1, K: 4, L: 8, MaxBatch: 8, MaxOps: 4, MaxOpBytes: 4096,
		Name: "broker-test", Builds: [3]string{"fake", "fake", "fake"}, Clients: []uint64{100, 101}, Keys: w.rnd, Admit: AdmitKey})
	if err != nil {
		t.Fatalf("seed %d: %v", seed, err)
	}
	w.tc, w.cfg, w.cd = tc, tc.Config, tc.CD
	for _, c := range tc.Clients() {
		w.clients = append(w.clients, client.Identity(c))
	}
	return w
}

// freshEnrollment returns a new enrollment (keys from seed) for (role, replica).
func (w *world) freshEnrollment(t testing.TB, role spec.Role, replica, seed uint64) spec.Enrollment {
	t.Helper()
	k, err := testcluster.DeriveKeys(newSeeded(seed), role)
	if err != nil {
		t.Fatal(err)
	}
	b := k.Enrollment(role, replica, "fake")
	if role != spec.RoleExec {
		b.BoxKey = spec.PublicKey{}
	}
	return spec.Enrollment{Body: b}
}

// nextEpochWith is nextEpoch with the next configuration changed by mod before it is
// validated and voted.
func (w *world) nextEpochWith(t testing.TB, voters []uint64, mod func(*spec.Config)) (*spec.Config, *spec.EpochChange) {
	t.Helper()
	saved := w.cfg
	var c spec.Config
	if err := spec.Decode(spec.Encode(w.cfg), &c, spec.MaxMessageBytes); err != nil {
		t.Fatal(err)
	}
	mod(&c)
	w.cfg = &c // nextEpoch copies w.cfg; Prev stays w.cd, the digest of the real one
	defer func() { w.cfg = saved }()
	return w.nextEpoch(t, voters)
}

// nextEpoch returns the configuration after w.cfg with the given enrollments in their
// slots, starting 8 sequence numbers after w.cfg's start (EC3: an epoch starts after
// the previous one's start), and the epoch change certifying it with votes of the
// execs listed (signed by w.cfg's exec keys).
func (w *world) nextEpoch(t testing.TB, voters []uint64, enr ...spec.Enrollment) (*spec.Config, *spec.EpochChange) {
	t.Helper()
	var next spec.Config
	if err := spec.Decode(spec.Encode(w.cfg), &next, spec.MaxMessageBytes); err != nil {
		t.Fatal(err)
	}
	start := w.cfg.StartSeq + 8
	next.Epoch, next.Prev, next.StartSeq, next.StartState = w.cfg.Epoch+1, w.cd, start, spec.Digest{byte(start)}
	for _, e := range enr {
		*next.Enrollment(e.Body.Role, e.Body.Replica) = e
	}
	if err := next.Validate(AdmitKey); err != nil {
		t.Fatal(err)
	}
	ec := &spec.EpochChange{Config: spec.Encode(&next)}
	for _, i := range voters {
		b := spec.EpochVoteBody{Next: spec.ConfigDigest(&next), Replica: i}
		ec.Votes = append(ec.Votes, spec.EpochVote{Body: b, Sig: w.sign(i, spec.RoleExec, spec.DomainEpochVote, &b)})
	}
	return &next, ec
}

func (w *world) attestation(replica uint64, e *spec.Enrollment) *spec.Attestation {
	b := spec.AttestationBody{Enrollment: spec.EnrollmentDigest(&e.Body), Replica: replica}
	return &spec.Attestation{Body: b, Sig: w.sign(replica, spec.RoleExec, spec.DomainAttest, &b)}
}

func countKind(ins []spec.Input, kind uint64) (n int) {
	for _, in := range ins {
		if in.Kind == kind {
			n++
		}
	}
	return n
}

// TestPeerEpochChange: a valid epoch change from a peer is stored, delivered to all
// three compartments and switches the broker (old-epoch requests dropped) and its
// Ledger (once), and is pushed to the clients once (EpochNet); one that fails EC1–EC4 changes nothing and reaches no compartment
// and no ledger.
func TestPeerEpochChange(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(w *world, ec *spec.EpochChange)
		ok     bool
	}{
		{"valid", func(*world, *spec.EpochChange) {}, true},
		{"forged vote", func(_ *world, ec *spec.EpochChange) { ec.Votes[1].Sig[3] ^= 1 }, false},
		{"two votes", func(_ *world, ec *spec.EpochChange) { ec.Votes = ec.Votes[:2] }, false},
		{"votes unsorted", func(_ *world, ec *spec.EpochChange) { ec.Votes[0], ec.Votes[1] = ec.Votes[1], ec.Votes[0] }, false},
		{"config swapped after voting", func(w *world, ec *spec.EpochChange) {
			var c spec.Config
			spec.Decode(ec.Config, &c, spec.MaxMessageBytes)
			c.StartSeq++
			ec.Config = spec.Encode(&c)
		}, false},
		{"skips an epoch", func(w *world, ec *spec.EpochChange) {
			var c spec.Config
			spec.Decode(ec.Config, &c, spec.MaxMessageBytes)
			c.Epoch = 2
			ec.Config = spec.Encode(&c)
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := epochWorld(t, 7)
			led := &fakeLedger{}
			h := harnessIn(w, 1, Options{Ledger: led})
			raw, _ := w.request(t, 0, 5)
			h.r.HandleClient(raw) // a backup: timed and forwarded
			if h.r.Sizes().Pending != 1 {
				t.Fatal("request not timed")
			}
			next, ec := w.nextEpoch(t, []uint64{0, 2, 3})
			tc.mutate(w, ec)
			h.peer(2, spec.KindEpochChange, ec)
			h.r.Flush()
			_, chain := h.r.Chain()
			got := [3]int{}
			for role := range h.enc {
				got[role] = countKind(h.enc[role].inputs(), spec.KindEpochChange)
			}
			m := h.r.Metrics()
			if !tc.ok {
				if len(chain) != 0 || got != [3]int{} || h.r.Config().Epoch != 0 || m.BadEpochChanges != 1 || h.r.Sizes().Pending != 1 || len(led.epochs) != 0 || len(h.net.epochs) != 0 {
					t.Fatalf("forged change: chain %d, delivered %v, epoch %d, bad %d", len(chain), got, h.r.Config().Epoch, m.BadEpochChanges)
				}
				return
			}
			if len(chain) != 1 || got != [3]int{1, 1, 1} || h.r.ConfigDigest() != spec.ConfigDigest(next) || m.Epochs != 1 ||
				len(led.epochs) != 1 || led.epochs[0] != spec.ConfigDigest(next) {
				t.Fatalf("chain %d, delivered %v, epoch %d", len(chain), got, h.r.Config().Epoch)
			}
			if len(h.net.epochs) != 1 || !bytes.Equal(h.net.epochs[0], spec.Encode(ec)) {
				t.Fatalf("%d epoch changes pushed to clients, want the adopted one", len(h.net.epochs))
			}
			if s := h.r.Sizes(); s.Pending != 0 || s.CertStates != 1 {
				t.Fatalf("after the change: %d requests timed (signed under the old digest), %d cert states", s.Pending, s.CertStates)
			}
			h.peer(3, spec.KindEpochChange, ec) // a duplicate: quietly dropped
			h.r.Flush()
			if _, chain := h.r.Chain(); len(chain) != 1 || h.r.Metrics().BadEpochChanges != 0 || countKind(h.enc[0].inputs(), spec.KindEpochChange) != 1 || len(led.epochs) != 1 || len(h.net.epochs) != 1 {
				t.Fatal("a duplicate epoch change was not dropped quietly")
			}
		})
	}
}

// TestEpochChangeForwarded: a peer whose hint shows an older epoch gets the epoch
// changes it lacks; one in the current epoch gets none.
func TestEpochChangeForwarded(t *testing.T) {
	w := epochWorld(t, 8)
	h := harnessIn(w, 1, Options{})
	_, ec := w.nextEpoch(t, []uint64{0, 1, 2})
	h.peer(0, spec.KindEpochChange, ec)
	h.r.Flush()
	h.net.sent = nil
	h.peer(2, KindHint, &Hint{Epoch: 0})
	h.peer(3, KindHint, &Hint{Epoch: 1})
	if n := countPeerKind(t, h.net, 2, spec.KindEpochChange); n != 1 {
		t.Fatalf("%d epoch changes forwarded to the lagging peer, want 1", n)
	}
	if n := countPeerKind(t, h.net, 3, spec.KindEpochChange); n != 0 {
		t.Fatalf("%d epoch changes forwarded to an up-to-date peer", n)
	}
	h.peer(2, KindHint, &Hint{Epoch: 0}) // within RetransmitTicks: not again
	if n := countPeerKind(t, h.net, 2, spec.KindEpochChange); n != 1 {
		t.Fatalf("forwarded again at once: %d", n)
	}
}

func countPeerKind(t testing.TB, n *fakeNet, to, kind uint64) (c int) {
	for _, k := range n.sentKinds(t, to) {
		if k == kind {
			c++
		}
	}
	return c
}

// TestEpochChangeOutput: the local exec's epoch change goes to prep, conf and the
// peers in its To, not back to exec; a forged one goes nowhere.
func TestEpochChangeOutput(t *testing.T) {
	for _, forged := range []bool{false, true} {
		w := epochWorld(t, 9)
		h := harnessIn(w, 2, Options{})
		_, ec := w.nextEpoch(t, []uint64{1, 2, 3})
		if forged {
			ec.Votes[0].Sig[0] ^= 1
		}
		h.enc[spec.RoleExec].script = func(f *fakeEnclave, in spec.Input) []spec.Output {
			if in.Kind != spec.KindCommit {
				return nil
			}
			return []spec.Output{{Kind: spec.KindEpochChange, To: spec.Destination{Roles: spec.ToPrep | spec.ToConf | spec.ToExec, Replicas: []uint64{0, 1, 2, 3}}, Body: spec.Encode(ec)}}
		}
		h.peer(0, spec.KindCommit, &spec.Commit{})
		h.r.Flush()
		want := [3]int{1, 1, 0}
		peers := 1
		if forged {
			want, peers = [3]int{}, 0
		}
		for role := range h.enc {
			if n := countKind(h.enc[role].inputs(), spec.KindEpochChange); n != want[role] {
				t.Fatalf("forged %v: %s got %d epoch changes, want %d", forged, spec.RoleName(spec.Role(role)), n, want[role])
			}
		}
		for _, p := range []uint64{0, 1, 3} {
			if n := countPeerKind(t, h.net, p, spec.KindEpochChange); n != peers {
				t.Fatalf("forged %v: peer %d got %d epoch changes, want %d", forged, p, n, peers)
			}
		}
	}
}

// TestAttestRelay: a peer's attest request for its own replica's enrollment reaches
// the local exec, whose attestation goes back to that peer only; a request for
// another replica's enrollment is garbage.
func TestAttestRelay(t *testing.T) {
	w := epochWorld(t, 10)
	h := harnessIn(w, 0, Options{})
	att := w.attestation(0, &spec.Enrollment{})
	h.enc[spec.RoleExec].script = func(f *fakeEnclave, in spec.Input) []spec.Output {
		if in.Kind != spec.KindAttest {
			return nil
		}
		var e spec.Enrollment
		spec.Decode(in.Body, &e, spec.MaxMessageBytes)
		a := *w.attestation(0, &e)
		att = &a
		return []spec.Output{{Kind: spec.KindAttestation, Body: spec.Encode(&a)}}
	}
	e3 := w.freshEnrollment(t, spec.RoleConf, 3, 99)
	h.peer(2, spec.KindAttest, &e3) // replica 2 asks for replica 3's enrollment: garbage
	h.r.Flush()
	if countKind(h.enc[spec.RoleExec].inputs(), spec.KindAttest) != 0 {
		t.Fatal("an attest request for another replica's enrollment reached exec")
	}
	h.peer(3, spec.KindAttest, &e3)
	h.r.Flush()
	if countKind(h.enc[spec.RoleExec].inputs(), spec.KindAttest) != 1 {
		t.Fatal("the attest request did not reach exec")
	}
	if countPeerKind(t, h.net, 3, spec.KindAttestation) != 1 || countPeerKind(t, h.net, 2, spec.KindAttestation) != 0 {
		t.Fatal("the attestation did not go back to the requester only")
	}
	if att.Body.Enrollment != spec.EnrollmentDigest(&e3.Body) {
		t.Fatal("exec attested another enrollment")
	}
}

// rejoin is replica 3's broker after a crash: fresh compartments, all down, admitted
// with the hooks recording what happens.
type rejoin struct {
	*harness
	fresh    []Fresh
	ops      [][][]byte
	admitted []spec.Role
	retired  int
	failed   []error
	hooks    EpochHooks // as installed
}

func newRejoin(t testing.TB, w *world) *rejoin {
	h := harnessIn(w, 3, Options{})
	rj := &rejoin{harness: h}
	sess, err := client.NewSession(w.cfg, w.clients[1], w.rnd)
	if err != nil {
		t.Fatal(err)
	}
	var last []byte
	rj.hooks = EpochHooks{
		Submit: func(cfg *spec.Config, ops [][]byte) ([]byte, error) {
			rj.ops = append(rj.ops, ops)
			if last == nil {
				last, _, err = sess.Prepare(ops)
			}
			return last, err
		},
		Admitted:    func(role spec.Role, _ uint64) { rj.admitted = append(rj.admitted, role) },
		Retired:     func(spec.Role, Enclave) { rj.retired++ },
		AdmitFailed: func(err error) { rj.failed = append(rj.failed, err) },
	}
	h.r.SetHooks(rj.hooks)
	for role := spec.RolePrep; role <= spec.RoleExec; role++ {
		h.r.Down(role)
		rj.fresh = append(rj.fresh, Fresh{Role: role, Enclave: h.enc[role], Enrollment: w.freshEnrollment(t, role, 3, 1000+uint64(role))})
	}
	if err := h.r.Admit(rj.fresh); err != nil {
		t.Fatal(err)
	}
	if err := h.r.Admit(rj.fresh); err != ErrAdmitting {
		t.Fatalf("a second Admit: %v", err)
	}
	return rj
}

// attestAll delivers attestations of the fresh enrollments from the execs listed.
func (rj *rejoin) attestAll(from ...uint64) {
	for _, f := range rj.fresh {
		for _, p := range from {
			rj.peer(p, spec.KindAttestation, rj.w.attestation(p, &f.Enrollment))
		}
	}
	rj.r.Flush()
}

// TestAdmission: a rejoining replica asks every peer to attest its fresh enrollments,
// submits ConfigOp{Admit} only with q valid attestations from distinct execs per
// enrollment (forged and repeated ones do not count), retries it, and when the epoch
// change admitting them arrives configures prep and conf with it and exec with a
// peer exec's share for it.
func TestAdmission(t *testing.T) {
	w := epochWorld(t, 11)
	rj := newRejoin(t, w)
	for _, p := range []uint64{0, 1, 2} {
		if n := countPeerKind(t, rj.net, p, spec.KindAttest); n != 3 {
			t.Fatalf("peer %d got %d attest requests, want 3", p, n)
		}
	}
	forged := w.attestation(0, &rj.fresh[0].Enrollment)
	forged.Sig[1] ^= 1
	rj.peer(1, spec.KindAttestation, forged)
	rj.attestAll(0, 1, 0, 1) // 2 distinct per enrollment, repeats, one forged: q = 3 not reached
	if len(rj.ops) != 0 {
		t.Fatal("submitted with fewer than q valid attestations")
	}
	rj.attestAll(2)
	if len(rj.ops) != 1 {
		t.Fatalf("%d submissions with q attestations, want 1", len(rj.ops))
	}
	if len(rj.ops[0]) != 3 {
		t.Fatalf("%d config ops in the admission request, want one per fresh compartment", len(rj.ops[0]))
	}
	for i, raw := range rj.ops[0] {
		var op spec.ConfigOp
		if err := spec.Decode(raw, &op, spec.MaxMessageBytes); err != nil || len(op.Admit) != 1 || !bytes.Equal(op.Tag, spec.ConfigOpTag) {
			t.Fatalf("ConfigOp %d: %v, %d admissions", i, err, len(op.Admit))
		}
		a := op.Admit[0]
		if a.Enrollment.Body.Role != spec.Role(i) || len(a.Attestations) != 3 || a.Attestations[0].Body.Replica != 0 || a.Attestations[2].Body.Replica != 2 {
			t.Fatalf("admission of %s: attestations %+v", spec.RoleName(a.Enrollment.Body.Role), a.Attestations)
		}
	}
	if countPeerKind(t, rj.net, 0, spec.KindRequest) != 1 {
		t.Fatal("the admission request was not forwarded to the primary")
	}
	rj.ticks(100) // RequestTimeoutTicks: one retry
	if len(rj.ops) != 2 {
		t.Fatalf("%d submissions after a request timeout, want 2", len(rj.ops))
	}
	next, ec := w.nextEpoch(t, []uint64{0, 1, 2}, rj.fresh[0].Enrollment, rj.fresh[1].Enrollment, rj.fresh[2].Enrollment)
	rj.peer(0, spec.KindEpochChange, ec)
	rj.r.Flush()
	for role := spec.RolePrep; role <= spec.RoleConf; role++ {
		ins := rj.enc[role].inputs()
		if len(ins) != 1 || ins[0].Kind != spec.KindConfigure {
			t.Fatalf("%s got %v, want one configure", spec.RoleName(role), rj.enc[role].kinds())
		}
	}
	if len(rj.enc[spec.RoleExec].inputs()) != 0 || rj.r.Config().Epoch != 1 {
		t.Fatal("exec got inputs before its group key share")
	}
	share := spec.GroupKeyShare{Dealer: next.Replicas[1].Exec.Body.BoxKey, Recipient: rj.fresh[2].Enrollment.Body.BoxKey, GroupKey: next.ExecGroupKey}
	bad := share
	bad.GroupKey[0] ^= 1
	rj.peer(1, KindShare, &spec.GroupKeyShares{Shares: []spec.GroupKeyShare{bad}})
	rj.r.Flush()
	if len(rj.enc[spec.RoleExec].inputs()) != 0 {
		t.Fatal("a share for another group key reached exec")
	}
	rj.peer(1, KindShare, &spec.GroupKeyShares{Shares: []spec.GroupKeyShare{share}})
	rj.r.Flush()
	var c spec.Configure
	ins := rj.enc[spec.RoleExec].inputs()
	if len(ins) != 1 || ins[0].Kind != spec.KindConfigure || spec.Decode(ins[0].Body, &c, spec.MaxMessageBytes) != nil ||
		len(c.Share) != 1 || c.Share[0].Dealer != share.Dealer || c.Share[0].Recipient != share.Recipient || string(c.Config) != string(spec.Encode(next)) {
		t.Fatalf("exec got %v, want a configure with the share", rj.enc[spec.RoleExec].kinds())
	}
	if len(rj.admitted) != 3 || rj.retired != 0 || len(rj.failed) != 0 || rj.r.Admitting() {
		t.Fatalf("admitted %v, retired %d, failed %v, admitting %v", rj.admitted, rj.retired, rj.failed, rj.r.Admitting())
	}
}

// TestAdmissionOvertaken: an epoch change that does not admit the fresh compartments
// ends the admission (the host starts again) and installs nothing.
func TestAdmissionOvertaken(t *testing.T) {
	w := epochWorld(t, 12)
	rj := newRejoin(t, w)
	rj.attestAll(0, 1, 2)
	_, ec := w.nextEpoch(t, []uint64{0, 1, 2})
	rj.peer(0, spec.KindEpochChange, ec)
	rj.r.Flush()
	if len(rj.failed) != 1 || rj.r.Admitting() || len(rj.admitted) != 0 {
		t.Fatalf("failed %v, admitting %v, admitted %v", rj.failed, rj.r.Admitting(), rj.admitted)
	}
	for role := range rj.enc {
		if n := len(rj.enc[role].inputs()); n != 0 {
			t.Fatalf("%s (down) got %d inputs", spec.RoleName(spec.Role(role)), n)
		}
	}
}

// TestAdmissionOvertakenRenewed: an admission overtaken by an epoch change that does
// not admit it is handed back to the host (Renew, with the roles and the new epoch's
// digest, not AdmitFailed), and the fresh compartments the host then starts for the
// new epoch are attested and admitted in the epoch after: no operator needed.
func TestAdmissionOvertakenRenewed(t *testing.T) {
	w := epochWorld(t, 16)
	rj := newRejoin(t, w)
	var renewed []spec.Role
	var renewCD spec.Digest
	hooks := rj.hooks
	hooks.Renew = func(roles []spec.Role, cd spec.Digest) { renewed, renewCD = roles, cd }
	rj.r.SetHooks(hooks)
	rj.attestAll(0, 1, 2)
	next, ec := w.nextEpoch(t, []uint64{0, 1, 2}) // another admission or a proposal ended epoch 0
	rj.peer(0, spec.KindEpochChange, ec)
	rj.r.Flush()
	if len(rj.failed) != 0 || rj.r.Admitting() || len(renewed) != 3 || renewCD != spec.ConfigDigest(next) || rj.r.Metrics().AdmitRenewals != 1 {
		t.Fatalf("failed %v, admitting %v, renewed %v (cd %x, want %x)", rj.failed, rj.r.Admitting(), renewed, renewCD[:4], spec.ConfigDigest(next))
	}
	w.cfg, w.cd = next, spec.ConfigDigest(next)
	w.tc.CD = w.cd
	rj.fresh = nil
	for _, role := range renewed {
		rj.fresh = append(rj.fresh, Fresh{Role: role, Enclave: rj.enc[role], Enrollment: w.freshEnrollment(t, role, 3, 2000+uint64(role))})
	}
	if err := rj.r.Admit(rj.fresh); err != nil {
		t.Fatalf("Admit after Renew: %v", err)
	}
	rj.r.Flush()
	rj.attestAll(0, 1, 2)
	if len(rj.ops) != 2 {
		t.Fatalf("%d admission submissions, want one per epoch", len(rj.ops))
	}
	final, ec2 := w.nextEpoch(t, []uint64{0, 1, 2}, rj.fresh[0].Enrollment, rj.fresh[1].Enrollment, rj.fresh[2].Enrollment)
	rj.peer(0, spec.KindEpochChange, ec2)
	rj.r.Flush()
	share := spec.GroupKeyShare{Dealer: final.Replicas[1].Exec.Body.BoxKey, Recipient: rj.fresh[2].Enrollment.Body.BoxKey, GroupKey: final.ExecGroupKey}
	rj.peer(1, KindShare, &spec.GroupKeyShares{Shares: []spec.GroupKeyShare{share}})
	rj.r.Flush()
	if rj.r.Config().Epoch != 2 || len(rj.admitted) != 3 || rj.r.Admitting() || len(rj.failed) != 0 {
		t.Fatalf("epoch %d, admitted %v, admitting %v, failed %v", rj.r.Config().Epoch, rj.admitted, rj.r.Admitting(), rj.failed)
	}
}

// TestRecoverOneRetires: replacing one compartment of a running replica retires the
// old one when the epoch change admits the fresh one; the running exec attests too.
func TestRecoverOneRetires(t *testing.T) {
	w := epochWorld(t, 13)
	h := harnessIn(w, 1, Options{})
	var retired []spec.Role
	h.r.SetHooks(EpochHooks{Retired: func(role spec.Role, _ Enclave) { retired = append(retired, role) },
		Submit: func(*spec.Config, [][]byte) ([]byte, error) { return []byte{0}, nil }})
	fresh := &fakeEnclave{role: spec.RolePrep, st: spec.Status{Role: spec.RolePrep, Replica: 1, Configured: true, ViewActive: true}}
	e := w.freshEnrollment(t, spec.RolePrep, 1, 77)
	if err := h.r.Admit([]Fresh{{Role: spec.RolePrep, Enclave: fresh, Enrollment: e}}); err != nil {
		t.Fatal(err)
	}
	h.r.Flush()
	if countKind(h.enc[spec.RoleExec].inputs(), spec.KindAttest) != 1 {
		t.Fatal("the replica's own exec was not asked to attest")
	}
	_, ec := w.nextEpoch(t, []uint64{0, 2, 3}, e)
	h.peer(0, spec.KindEpochChange, ec)
	h.r.Flush()
	if len(retired) != 1 || retired[0] != spec.RolePrep || len(fresh.inputs()) != 1 || fresh.inputs()[0].Kind != spec.KindConfigure {
		t.Fatalf("retired %v; fresh prep got %v", retired, fresh.kinds())
	}
	if countKind(h.enc[spec.RolePrep].inputs(), spec.KindEpochChange) != 0 || countKind(h.enc[spec.RoleConf].inputs(), spec.KindEpochChange) != 1 {
		t.Fatal("the epoch change went to the retired prep, or not to conf")
	}
}

// TestAdmissionEarlyShare: a group key share that arrives before the epoch change
// admitting the fresh exec (a peer adopted first) is kept and used at install.
func TestAdmissionEarlyShare(t *testing.T) {
	w := epochWorld(t, 14)
	rj := newRejoin(t, w)
	rj.attestAll(0, 1, 2)
	next, ec := w.nextEpoch(t, []uint64{0, 1, 2}, rj.fresh[0].Enrollment, rj.fresh[1].Enrollment, rj.fresh[2].Enrollment)
	share := spec.GroupKeyShare{Dealer: next.Replicas[2].Exec.Body.BoxKey, Recipient: rj.fresh[2].Enrollment.Body.BoxKey, GroupKey: next.ExecGroupKey}
	rj.peer(2, KindShare, &spec.GroupKeyShares{Shares: []spec.GroupKeyShare{share}})
	rj.r.Flush()
	if len(rj.enc[spec.RoleExec].inputs()) != 0 {
		t.Fatal("exec configured before the epoch change")
	}
	rj.peer(0, spec.KindEpochChange, ec)
	rj.r.Flush()
	if ins := rj.enc[spec.RoleExec].inputs(); len(ins) != 1 || ins[0].Kind != spec.KindConfigure || len(rj.admitted) != 3 {
		t.Fatalf("exec got %v, admitted %v: the early share was not used", rj.enc[spec.RoleExec].kinds(), rj.admitted)
	}
}

// TestFreshExecRejectedShare: when the fresh exec rejects its configure (a bad
// share), the broker tries the next share.
func TestFreshExecRejectedShare(t *testing.T) {
	w := epochWorld(t, 15)
	rj := newRejoin(t, w)
	rj.attestAll(0, 1, 2)
	next, ec := w.nextEpoch(t, []uint64{0, 1, 2}, rj.fresh[0].Enrollment, rj.fresh[1].Enrollment, rj.fresh[2].Enrollment)
	rj.peer(0, spec.KindEpochChange, ec)
	rj.r.Flush()
	exec := rj.enc[spec.RoleExec]
	exec.st.Configured = false
	bad := spec.GroupKeyShare{Dealer: next.Replicas[0].Exec.Body.BoxKey, Recipient: rj.fresh[2].Enrollment.Body.BoxKey, GroupKey: next.ExecGroupKey, Sealed: []byte("bad")}
	exec.script = func(f *fakeEnclave, in spec.Input) []spec.Output {
		var c spec.Configure
		spec.Decode(in.Body, &c, spec.MaxMessageBytes)
		if string(c.Share[0].Sealed) == "bad" {
			return []spec.Output{{Kind: spec.KindReject, Body: spec.Encode(&spec.Rejection{Index: 0, Code: spec.CodeBadSignature})}}
		}
		f.st.Configured = true
		return nil
	}
	good := bad
	good.Dealer, good.Sealed = next.Replicas[1].Exec.Body.BoxKey, []byte("good")
	rj.peer(0, KindShare, &spec.GroupKeyShares{Shares: []spec.GroupKeyShare{bad}})
	rj.r.Flush()
	if len(rj.admitted) != 2 {
		t.Fatalf("admitted %v after a rejected share", rj.admitted)
	}
	rj.peer(1, KindShare, &spec.GroupKeyShares{Shares: []spec.GroupKeyShare{good}})
	rj.r.Flush()
	if n := countKind(exec.inputs(), spec.KindConfigure); n != 2 || len(rj.admitted) != 3 || rj.r.Admitting() {
		t.Fatalf("%d configures, admitted %v, admitting %v", n, rj.admitted, rj.r.Admitting())
	}
}

// TestAttestBudget: a peer broker's attest requests beyond its budget (attestBurst at
// once, one more every attestEvery ticks) are dropped before exec sees them, and
// counted; another peer's budget is its own (SPEC §13.3 obligation 5).
func TestAttestBudget(t *testing.T) {
	w := epochWorld(t, 11)
	h := harnessIn(w, 0, Options{})
	flood := func(from uint64, n int) {
		for i := range n {
			e := w.freshEnrollment(t, spec.RoleConf, from, uint64(100+i))
			h.peer(from, spec.KindAttest, &e)
		}
		h.r.Flush()
	}
	flood(3, 3*attestBurst)
	if got := countKind(h.enc[spec.RoleExec].inputs(), spec.KindAttest); got != attestBurst {
		t.Fatalf("exec checked %d attest requests of a flooding peer, want its burst %d", got, attestBurst)
	}
	if d := h.r.Metrics().AttestDrops; d != 2*attestBurst {
		t.Fatalf("AttestDrops = %d, want %d", d, 2*attestBurst)
	}
	flood(2, 1) // another peer is not affected
	if got := countKind(h.enc[spec.RoleExec].inputs(), spec.KindAttest); got != attestBurst+1 {
		t.Fatalf("replica 2's attest request was dropped with replica 3's budget: exec saw %d", got)
	}
	h.ticks(attestEvery)
	flood(3, 2) // one token came back
	if got := countKind(h.enc[spec.RoleExec].inputs(), spec.KindAttest); got != attestBurst+2 {
		t.Fatalf("after %d ticks exec saw %d attest requests, want %d", attestEvery, got, attestBurst+2)
	}
}

// rekey101 has replica h adopt an epoch change that registers client 101 with another
// sign key (from seed).
func rekey101(t *testing.T, w *world, h *harness, seed uint64) {
	t.Helper()
	other := w.freshEnrollment(t, spec.RoleExec, 0, seed).Body.SignKey
	_, ec := w.nextEpochWith(t, []uint64{0, 2, 3}, func(c *spec.Config) {
		c.Clients[slices.IndexFunc(c.Clients, func(cc spec.ClientConfig) bool { return cc.ID == 101 })].SignKey = other
	})
	h.peer(2, spec.KindEpochChange, ec)
	h.r.Flush()
	if h.r.Config().Epoch != 1 {
		t.Fatalf("the epoch change was not adopted (epoch %d)", h.r.Config().Epoch)
	}
}

// TestEpochForgetsRekeyedClients: an epoch change that registers a client with other
// keys (a restarted gateway's identities) or removes it makes the broker forget the
// newest timestamp its exec answered for that client, as exec forgets its table entry
// (SPEC §17.3), so that the new identity's first requests are not dropped at the edge;
// a client whose keys stay keeps it.
func TestEpochForgetsRekeyedClients(t *testing.T) {
	w := epochWorld(t, 11)
	h := harnessIn(w, 1, Options{})
	h.r.lastDone[100], h.r.lastDone[101] = 50, 60
	rekey101(t, w, h, 99)
	if got, kept := h.r.lastDone[101]; kept {
		t.Errorf("client 101, registered with another key, still has its answered timestamp %d", got)
	}
	if h.r.lastDone[100] != 50 {
		t.Errorf("client 100, whose keys stay, lost its answered timestamp: %d", h.r.lastDone[100])
	}
}

// TestEpochForgetsRekeyedHeldReplies: with a ledger, a reply to a re-keyed client that
// was held until its batch is durable, released after the epoch change, is sent but
// does not give the client's new identity the old one's answered timestamp.
func TestEpochForgetsRekeyedHeldReplies(t *testing.T) {
	w := epochWorld(t, 12)
	led := &fakeLedger{}
	h := harnessIn(w, 1, Options{Ledger: led})
	h.r.status[spec.RoleExec].Last = 5 // the replies answer batches up to 5, none durable yet
	h.r.stepReplies = append(h.r.stepReplies, heldReply{client: 101, ts: 60, body: []byte{1}}, heldReply{client: 100, ts: 50, body: []byte{2}})
	h.r.endExecStep()
	if h.r.held.Len() != 2 {
		t.Fatalf("%d replies held, want 2", h.r.held.Len())
	}
	rekey101(t, w, h, 98)
	led.durable = 1 << 62
	h.r.releaseDurable()
	if h.r.held.Len() != 0 || h.r.Metrics().Replies != 2 {
		t.Fatalf("%d replies still held, %d sent; want both sent", h.r.held.Len(), h.r.Metrics().Replies)
	}
	if got, ok := h.r.lastDone[101]; ok {
		t.Errorf("the re-keyed client 101 got the old identity's answered timestamp %d back", got)
	}
	if h.r.lastDone[100] != 50 {
		t.Errorf("client 100, whose keys stay, has answered timestamp %d, want 50", h.r.lastDone[100])
	}
}
