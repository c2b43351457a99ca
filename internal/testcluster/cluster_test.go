package testcluster_test

import (
	"bytes"
	"crypto/ed25519"
	"io"
	"strings"
	"testing"

	"github.com/splitbft/splitbft/internal/builds"
	"github.com/splitbft/splitbft/internal/testcluster"
	"github.com/splitbft/splitbft/spec"
)

// TestDeriveKeysMatchesEveryBuild: for every registered build, the keys DeriveKeys
// reads from a stream are the ones the compartment built with that stream enrolls
// (SPEC §3.5).
func TestDeriveKeysMatchesEveryBuild(t *testing.T) {
	for _, b := range builds.All() {
		for seed := uint64(1); seed <= 3; seed++ {
			c := b.New(spec.TestStream("enclave", seed))
			raw, err := c.Init(spec.Encode(&spec.InitRequest{Role: b.Role, Replica: 1}))
			if err != nil {
				t.Fatalf("%s seed %d: Init: %v", b.Name, seed, err)
			}
			var e spec.Enrollment
			if err := spec.Decode(raw, &e, spec.MaxMessageBytes); err != nil {
				t.Fatalf("%s seed %d: enrollment: %v", b.Name, seed, err)
			}
			k, err := testcluster.DeriveKeys(spec.TestStream("enclave", seed), b.Role)
			if err != nil {
				t.Fatal(err)
			}
			if want := k.Enrollment(b.Role, 1, b.Name); string(spec.Encode(&want)) != string(spec.Encode(&e.Body)) {
				t.Errorf("%s seed %d: derived %+v, enrolled %+v", b.Name, seed, want, e.Body)
			}
		}
	}
}

// TestClusterSignsAsEnrolled: every enclave's and client's signature verifies under
// the key the configuration enrolls, and the configuration validates.
func TestClusterSignsAsEnrolled(t *testing.T) {
	for _, f := range []uint64{1, 2} {
		c, err := testcluster.New(7, testcluster.Options{F: f})
		if err != nil {
			t.Fatalf("f=%d: %v", f, err)
		}
		if c.N() != 3*f+1 || len(c.Config.Replicas) != int(c.N()) || len(c.Config.Clients) != 3 {
			t.Fatalf("f=%d: n %d, %d replicas, %d clients", f, c.N(), len(c.Config.Replicas), len(c.Config.Clients))
		}
		body := spec.CheckpointBody{Seq: 4, Replica: 1}
		for r := range c.N() {
			for role := spec.RolePrep; role <= spec.RoleExec; role++ {
				sig := c.Sign(role, r, spec.DomainCheckpoint, &body)
				k := c.Config.Enrollment(role, r).Body.SignKey
				if !ed25519.Verify(k[:], spec.SignedBytes(spec.DomainCheckpoint, c.CD, spec.Encode(&body)), sig[:]) {
					t.Errorf("f=%d: %s%d's signature does not verify", f, spec.RoleName(role), r)
				}
			}
		}
		req := c.SignRequest(spec.RequestBody{Client: 101, Timestamp: 1})
		k := c.Config.Client(101).SignKey
		if !ed25519.Verify(k[:], spec.SignedBytes(spec.DomainRequest, c.CD, spec.Encode(&req.Body)), req.Sig[:]) {
			t.Errorf("f=%d: client 101's request signature does not verify", f)
		}
	}
}

// TestClusterDeterministic: the same seed and options give the same configuration;
// another seed, another one; an Override stream sets exactly that enclave's keys.
func TestClusterDeterministic(t *testing.T) {
	a, _ := testcluster.New(1, testcluster.Options{})
	b, _ := testcluster.New(1, testcluster.Options{})
	c, _ := testcluster.New(2, testcluster.Options{})
	if a.CD != b.CD || a.CD == c.CD {
		t.Fatalf("digests: seed 1 %x, again %x, seed 2 %x", a.CD[:4], b.CD[:4], c.CD[:4])
	}
	own := testcluster.Slot{Role: spec.RoleConf, Replica: 2}
	o, err := testcluster.New(1, testcluster.Options{Override: map[testcluster.Slot]io.Reader{own: spec.TestStream("enclave", 9)}})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := testcluster.DeriveKeys(spec.TestStream("enclave", 9), spec.RoleConf)
	if o.Keys(own).SignKey() != want.SignKey() || o.Config.Enrollment(own.Role, own.Replica).Body.SignKey != want.SignKey() {
		t.Errorf("the overridden enclave does not have the keys of its stream")
	}
	other := testcluster.Slot{Role: spec.RolePrep, Replica: 3}
	if o.Keys(other).SignKey() == a.Keys(other).SignKey() {
		t.Errorf("the keys after an overridden slot did not move on: the override should not consume the main stream")
	}
	if o.Keys(testcluster.Slot{Role: spec.RolePrep, Replica: 0}).SignKey() != a.Keys(testcluster.Slot{Role: spec.RolePrep, Replica: 0}).SignKey() {
		t.Errorf("the keys before the overridden slot changed")
	}
}

// TestNewReportsErrors: a key stream that runs dry and a configuration that does not
// validate are errors naming the problem, not panics.
func TestNewReportsErrors(t *testing.T) {
	for _, c := range []struct {
		name string
		opt  testcluster.Options
		want string
	}{
		{"short key stream", testcluster.Options{Keys: bytes.NewReader(make([]byte, 100))}, "reading a"},
		{"short group stream", testcluster.Options{Group: bytes.NewReader(nil)}, "group key"},
		{"window not a multiple of K", testcluster.Options{K: 4, L: 6}, "window 6 must be a multiple of K=4"},
		{"duplicate client ids", testcluster.Options{Clients: []uint64{5, 5}}, "clients not sorted by distinct id"},
	} {
		_, err := testcluster.New(3, c.opt)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error containing %q", c.name, err, c.want)
		}
	}
}
