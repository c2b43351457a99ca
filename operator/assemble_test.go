package operator

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/splitbft/splitbft/attest"
	"github.com/splitbft/splitbft/broker"
	"github.com/splitbft/splitbft/internal/builds"
	"github.com/splitbft/splitbft/spec"
)

// testReplicas starts and Inits in-process compartments for every replica of tmpl,
// with randomness from seed.
func testReplicas(t *testing.T, tmpl *Template, seed uint64) ([][3]broker.Enclave, [][3]spec.Enrollment) {
	t.Helper()
	encl := make([][3]broker.Enclave, tmpl.N)
	enr := make([][3]spec.Enrollment, tmpl.N)
	for i, rt := range tmpl.Replicas {
		for r := spec.RolePrep; r <= spec.RoleExec; r++ {
			rand := spec.TestStream(fmt.Sprintf("assemble-%d-%d", i, r), seed)
			encl[i][r] = broker.InProcess(builds.MustLookup(rt.Build(r)).New(rand))
		}
		var err error
		if enr[i], err = InitAll(encl[i], uint64(i)); err != nil {
			t.Fatal(err)
		}
	}
	return encl, enr
}

func TestAssembleDeterministic(t *testing.T) {
	tmpl := validTemplate(t)
	encl, enr := testReplicas(t, tmpl, 1)
	shares, err := DealGroupKey(encl[0][spec.RoleExec], 0, enr)
	if err != nil {
		t.Fatal(err)
	}
	g, err := CheckShares(shares, 0, enr)
	if err != nil {
		t.Fatal(err)
	}
	// Every replica assembles from its own copies of what it received: decode them
	// afresh per replica, as formation does.
	var first []byte
	for i := range tmpl.N {
		var copyOf [][3]spec.Enrollment
		for _, e := range enr {
			var re ReplicaEnrollments
			spec.Decode(spec.Encode(&ReplicaEnrollments{Enrollments: e[:]}), &re, maxFormationBody)
			copyOf = append(copyOf, [3]spec.Enrollment(re.Enrollments))
		}
		cfg, err := Assemble(validTemplate(t), copyOf, nil, g)
		if err != nil {
			t.Fatalf("replica %d: %v", i, err)
		}
		if raw := spec.Encode(cfg); first == nil {
			first = raw
		} else if !bytes.Equal(raw, first) {
			t.Fatalf("replica %d assembled another configuration", i)
		}
	}
	var cfg spec.Config
	spec.Decode(first, &cfg, spec.MaxMessageBytes)
	if string(cfg.Replicas[2].Address) != tmpl.Replicas[2].Peer || len(cfg.Clients) != 3+4 || cfg.ExecGroupKey != g || !cfg.AllowDevInsecure {
		t.Errorf("configuration %+v does not carry the template", cfg)
	}
	for i := range encl {
		if err := ConfigureAll(encl[i], &cfg, shares[i]); err != nil {
			t.Fatalf("replica %d: %v", i, err)
		}
	}
}

func TestAssembleErrors(t *testing.T) {
	tmpl := validTemplate(t)
	_, enr := testReplicas(t, tmpl, 2)
	g := spec.PublicKey{9}
	if _, err := Assemble(tmpl, enr[:3], nil, g); err == nil {
		t.Error("three replicas' enrollments assembled for n=4")
	}
	swapped := append([][3]spec.Enrollment(nil), enr...)
	swapped[1], swapped[2] = swapped[2], swapped[1]
	if _, err := Assemble(tmpl, swapped, nil, g); err == nil || !strings.Contains(err.Error(), "enrollment names") {
		t.Errorf("enrollments in the wrong slots: %v", err)
	}
	other := validTemplate(t)
	other.Replicas[3].Prep = "prep-a"
	if _, err := Assemble(other, enr, nil, g); err == nil || !strings.Contains(err.Error(), `the template assigns "prep-a"`) {
		t.Errorf("a build the template does not assign: %v", err)
	}
	if _, err := Assemble(tmpl, enr, nil, spec.PublicKey{}); err == nil {
		t.Error("a configuration without a group key validated")
	}
}

func TestCheckShares(t *testing.T) {
	tmpl := validTemplate(t)
	encl, enr := testReplicas(t, tmpl, 3)
	shares, err := DealGroupKey(encl[0][spec.RoleExec], 0, enr)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		mod  func(s []spec.GroupKeyShare) []spec.GroupKeyShare
		want string
	}{
		{"count", func(s []spec.GroupKeyShare) []spec.GroupKeyShare { return s[:3] }, "3 group key shares"},
		{"recipient", func(s []spec.GroupKeyShare) []spec.GroupKeyShare { s[1], s[2] = s[2], s[1]; return s }, "not for replica 1"},
		{"dealer", func(s []spec.GroupKeyShare) []spec.GroupKeyShare { s[3].Dealer = s[1].Recipient; return s }, "not from replica 0"},
		{"recipient restarted", func(s []spec.GroupKeyShare) []spec.GroupKeyShare { s[2].Recipient[0] ^= 1; return s },
			"share 2 is for an exec key replica 2 no longer has: replica 2 restarted during formation"},
		{"dealer restarted", func(s []spec.GroupKeyShare) []spec.GroupKeyShare { s[3].Dealer[0] ^= 1; return s },
			"share 3 is from an exec key replica 0 no longer has: replica 0 restarted during formation"},
		{"group key", func(s []spec.GroupKeyShare) []spec.GroupKeyShare { s[2].GroupKey[0] ^= 1; return s }, "another (or no) group key"},
	} {
		s := tc.mod(append([]spec.GroupKeyShare(nil), shares...))
		_, err := CheckShares(s, 0, enr)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
		// Only a key no current enrollment has is reported as a restart.
		var kc *KeyChangedError
		if restarted := strings.Contains(tc.name, "restarted"); errors.As(err, &kc) != restarted || strings.Contains(err.Error(), "restart") != restarted {
			t.Errorf("%s: %v: says a replica restarted: %v, want %v", tc.name, err, !restarted, restarted)
		}
	}
	if _, err := CheckShares(shares, 1, enr); err == nil {
		t.Error("shares dealt by replica 0 were accepted as replica 1's")
	}
}

func TestCheckReplica(t *testing.T) {
	tmpl := validTemplate(t)
	_, enr := testReplicas(t, tmpl, 4)
	f := &Former{T: tmpl, Verifier: attest.DefaultVerifier(), Log: slog.New(slog.DiscardHandler)}
	if err := f.CheckReplica(1, enr[1][:]); err != nil {
		t.Fatalf("a valid replica: %v", err)
	}
	if err := f.CheckReplica(1, enr[2][:]); err == nil {
		t.Error("replica 2's enrollments accepted as replica 1's")
	}
	if err := f.CheckReplica(1, enr[1][:2]); err == nil {
		t.Error("two enrollments accepted")
	}
	tmpl.AllowDevInsecure = false
	err := f.CheckReplica(1, enr[1][:])
	var ref *attest.Refusal
	if !errors.As(err, &ref) || !strings.Contains(err.Error(), "dev-insecure") {
		t.Errorf("dev-insecure evidence under a template that does not allow it: %v", err)
	}
}

// TestCheckDealOwnShareFirst: when the shares for two replicas name exec keys they no
// longer have (both restarted during formation), each of them is told about its own
// share, with the key it names, so that each joins the configuration formed with its
// earlier exec (formed_without.go); a replica whose share is good is told about the
// first stale one.
func TestCheckDealOwnShareFirst(t *testing.T) {
	tmpl := validTemplate(t)
	encl, enr := testReplicas(t, tmpl, 5)
	shares, err := DealGroupKey(encl[0][spec.RoleExec], 0, enr)
	if err != nil {
		t.Fatal(err)
	}
	shares[2].Recipient[0] ^= 1
	shares[3].Recipient[0] ^= 1
	raw := spec.Encode(&spec.GroupKeyShares{Shares: shares})
	for _, tc := range []struct {
		id, want uint64
	}{{3, 3}, {2, 2}, {1, 2}} {
		f := &Former{T: tmpl, ID: tc.id, Verifier: attest.DefaultVerifier(), Log: slog.New(slog.DiscardHandler)}
		_, err := f.checkDeal(raw, enr)
		var kc *KeyChangedError
		if !errors.As(err, &kc) || kc.Replica != tc.want || kc.What != "for" || kc.Key != shares[tc.want].Recipient {
			t.Errorf("replica %d: %v (%+v), want a share for replica %d's earlier exec key", tc.id, err, kc, tc.want)
		}
	}
}
