package agreea

import (
	"bytes"
	"testing"

	"github.com/splitbft/splitbft/internal/stdcrypto/fixture"
	"github.com/splitbft/splitbft/spec"
)

// TestCheckInit: a request failing exactly one of I1–I3 (SPEC.md §7.1) is refused
// with that line's reason, whose text the compartments' errors carry.
func TestCheckInit(t *testing.T) {
	good := spec.Encode(&spec.InitRequest{Role: spec.RoleConf, Replica: 3})
	tests := []struct {
		name   string
		req    []byte
		inited bool
		reason string // "" accepts
	}{
		{"I1 garbage", []byte{0xff}, false, "?"},
		{"I1 trailing byte", append(bytes.Clone(good), 0), false, "?"},
		{"I2 prep role", spec.Encode(&spec.InitRequest{Role: spec.RolePrep, Replica: 3}), false, "role 0 is not conf"},
		{"I2 role 7", spec.Encode(&spec.InitRequest{Role: 7, Replica: 3}), false, "role 7 is not conf"},
		{"I3 second Init", good, true, "second Init call"},
		{"pass", good, false, ""},
	}
	for _, tc := range tests {
		r, err := CheckInit(tc.req, spec.RoleConf, tc.inited)
		switch {
		case tc.reason == "" && (err != nil || r != 3):
			t.Errorf("%s: replica %d, %v", tc.name, r, err)
		case tc.reason == "?" && err == nil, tc.reason != "" && tc.reason != "?" && (err == nil || err.Error() != tc.reason):
			t.Errorf("%s: %v, want %q", tc.name, err, tc.reason)
		}
	}
}

// TestEnroll: Enroll reads exactly 32 bytes (§3.5) and returns an admissible key and
// the dev-insecure Enrollment of (role, replica, build); it fails on short randomness.
func TestEnroll(t *testing.T) {
	rd := bytes.NewReader(bytes.Repeat([]byte{5}, 100))
	key, self, enr, err := Enroll(rd, spec.RolePrep, 2, "prep-a")
	if err != nil || rd.Len() != 100-32 {
		t.Fatalf("Enroll: %v, read %d bytes", err, 100-rd.Len())
	}
	var e spec.Enrollment
	if err := spec.Decode(enr, &e, spec.MaxMessageBytes); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(spec.Encode(&e.Body), spec.Encode(&self)) || self.Role != spec.RolePrep || self.Replica != 2 ||
		string(self.Build) != "prep-a" || self.SignKey != key.Public() || self.BoxKey != (spec.PublicKey{}) ||
		e.Evidence.Format != spec.EvidenceDevInsecure || len(e.Evidence.Data) != 0 || !AdmitKey(self.SignKey) {
		t.Fatalf("enrollment %+v, self %+v", e, self)
	}
	if _, _, _, err := Enroll(bytes.NewReader(make([]byte, 31)), spec.RolePrep, 2, "prep-a"); err == nil {
		t.Fatal("Enroll with 31 bytes of randomness succeeded")
	}
}

// TestCheckConfigure: a configure failing exactly one of F1–F4 (§8.1) gets
// bad-config; a valid one returns the configuration.
func TestCheckConfigure(t *testing.T) {
	const seed = 31
	key, self, enr, err := Enroll(fixture.NewReader(seed), spec.RoleConf, 1, "conf-a")
	if err != nil {
		t.Fatal(err)
	}
	var own spec.Enrollment
	if err := spec.Decode(enr, &own, spec.MaxMessageBytes); err != nil {
		t.Fatal(err)
	}
	c := fixture.New(fixture.Options{Seed: seed}, own)
	good := spec.Encode(c.Config)
	smallOrder := *c.Config // a client key of small order: only the admission rule refuses it
	smallOrder.Clients = append([]spec.ClientConfig(nil), c.Config.Clients...)
	smallOrder.Clients[0].SignKey = spec.PublicKey{1}
	otherSelf := self
	otherSelf.Replica = 2
	otherKey := self
	otherKey.SignKey[0] ^= 1
	tests := []struct {
		name   string
		m      spec.Configure
		inited bool
		self   spec.EnrollmentBody
		ok     bool
	}{
		{"F1 garbage", spec.Configure{Config: []byte{0xff}}, true, self, false},
		{"F2 small-order client key", spec.Configure{Config: spec.Encode(&smallOrder)}, true, self, false},
		{"F3 not inited", spec.Configure{Config: good}, false, self, false},
		{"F3 another replica", spec.Configure{Config: good}, true, otherSelf, false},
		{"F3 another key", spec.Configure{Config: good}, true, otherKey, false},
		{"F4 a share", spec.Configure{Config: good, Share: []spec.GroupKeyShare{{}}}, true, self, false},
		{"pass", spec.Configure{Config: good}, true, self, true},
	}
	for _, tc := range tests {
		cfg, code := CheckConfigure(&tc.m, tc.inited, &tc.self)
		if tc.ok != (code == 0) || (code != 0 && (code != spec.CodeBadConfig || cfg != nil)) {
			t.Errorf("seed %d: %s: code %s", seed, tc.name, spec.CodeName(code))
		}
		if code == 0 && spec.ConfigDigest(cfg) != c.CD {
			t.Errorf("seed %d: %s: another configuration came back", seed, tc.name)
		}
	}
	if smallOrder.Validate(nil) != nil || key.Public() != self.SignKey {
		t.Fatalf("seed %d: the F2 case fails for another reason than key admission", seed)
	}
}
