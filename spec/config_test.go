package spec

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// Key tags, so that every fake key in validConfig is distinct.
const (
	tagPrep byte = iota + 1
	tagConf
	tagExec
	tagBox
	tagClient
	tagClientBox
	tagGroup
)

// fakeKey returns a deterministic 32-byte key, distinct for each (tag, i < 256).
// Validate with a nil admitter does no curve checks, so fake keys are fine.
func fakeKey(tag byte, i int) PublicKey {
	var k PublicKey
	for j := range k {
		k[j] = tag<<4 + byte(j)
	}
	k[0], k[1] = tag, byte(i)
	return k
}

func fakeEnrollment(r Role, id int, build string) Enrollment {
	tag := []byte{tagPrep, tagConf, tagExec}[r]
	e := Enrollment{
		Body:     EnrollmentBody{Role: r, Replica: uint64(id), Build: []byte(build), SignKey: fakeKey(tag, id)},
		Evidence: Evidence{Format: EvidenceEgoSGX, Data: fill(8, byte(16*id)+byte(r))},
	}
	if r == RoleExec {
		e.Body.BoxKey = fakeKey(tagBox, id)
	}
	return e
}

// validConfig returns a valid n=4, f=1 configuration with fake keys.
func validConfig() *Config { return validConfigF(1) }

// validConfigF returns a valid configuration tolerating f faults, with fake keys:
// prep and conf builds alternate between "-a" and "-b" by replica parity.
func validConfigF(f int) *Config {
	c := &Config{
		Version: WireVersion, Name: []byte("test-cluster"), N: uint64(3*f + 1), F: uint64(f),
		CheckpointInterval: 16, Window: 64, MaxBatchRequests: 64, MaxRequestOps: 8, MaxOpBytes: 1024,
		Builds: []BuildPolicy{
			{Role: RolePrep, Build: []byte("prep-a")}, {Role: RolePrep, Build: []byte("prep-b")},
			{Role: RoleConf, Build: []byte("conf-a")}, {Role: RoleConf, Build: []byte("conf-b")},
			{Role: RoleExec, Build: []byte("exec"), SignerID: fill(32, 0x5a), ProductID: 1, MinSVN: 2},
		},
		ExecGroupKey: fakeKey(tagGroup, 0),
	}
	for i := 0; i < 3*f+1; i++ {
		impl := []string{"a", "b"}[i%2]
		c.Replicas = append(c.Replicas, ReplicaConfig{
			ID: uint64(i), Address: []byte(fmt.Sprintf("10.0.0.%d:7000", i+1)),
			Prep: fakeEnrollment(RolePrep, i, "prep-"+impl),
			Conf: fakeEnrollment(RoleConf, i, "conf-"+impl),
			Exec: fakeEnrollment(RoleExec, i, "exec"),
		})
	}
	for _, id := range []int{1, 7, 100} {
		c.Clients = append(c.Clients, ClientConfig{ID: uint64(id), SignKey: fakeKey(tagClient, id), BoxKey: fakeKey(tagClientBox, id)})
	}
	return c
}

func TestValidConfigIsValid(t *testing.T) {
	if err := validConfig().Validate(nil); err != nil {
		t.Fatalf("validConfig: %v", err)
	}
	c := validConfig()
	c.AllowDevInsecure = true
	c.Replicas[0].Prep.Evidence = Evidence{Format: EvidenceDevInsecure}
	if err := c.Validate(nil); err != nil {
		t.Fatalf("dev-insecure evidence with AllowDevInsecure: %v", err)
	}
}

// TestConfigValidateBoundaries accepts the extreme values each rule allows.
func TestConfigValidateBoundaries(t *testing.T) {
	tests := []struct {
		name   string
		c      *Config
		mutate func(c *Config)
	}{
		{"f = 21, n = 64", validConfigF(MaxReplicas / 3), func(c *Config) {}},
		{"window = 2k", validConfig(), func(c *Config) { c.Window = 2 * c.CheckpointInterval }},
		{"(2f+1)²·L at its bound", validConfigF(MaxReplicas / 3), func(c *Config) { c.CheckpointInterval, c.Window = 1, MaxNewViewCerts/(43*43) }},
		{"window = max", validConfig(), func(c *Config) { c.Window = MaxWindow }},
		{"k = 1, window = 2", validConfig(), func(c *Config) { c.CheckpointInterval, c.Window = 1, 2 }},
		{"k = window/2 = max/2", validConfig(), func(c *Config) { c.CheckpointInterval, c.Window = MaxWindow/2, MaxWindow }},
		{"limits at max", validConfig(), func(c *Config) {
			c.MaxBatchRequests, c.MaxRequestOps, c.MaxOpBytes = MaxBatchRequestsLimit, MaxRequestOpsLimit, MaxOpBytesLimit
		}},
		{"limits at min", validConfig(), func(c *Config) { c.MaxBatchRequests, c.MaxRequestOps, c.MaxOpBytes = 1, 1, 17 }},
		{"name 64 bytes", validConfig(), func(c *Config) { c.Name = bytes.Repeat([]byte("n"), 64) }},
		{"no clients", validConfig(), func(c *Config) { c.Clients = nil }},
	}
	for _, tt := range tests {
		tt.mutate(tt.c)
		if err := tt.c.Validate(nil); err != nil {
			t.Errorf("%s: %v", tt.name, err)
		}
	}
}

// TestConfigValidateRejects applies one mutation per rule of SPEC.md §6.2 to a valid
// config; each must fail with ErrConfig and the message of the rule it breaks.
func TestConfigValidateRejects(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(c *Config)
		want   string // substring of the error
	}{
		{"version", func(c *Config) { c.Version = 2 }, "version"},
		{"empty name", func(c *Config) { c.Name = nil }, "name"},
		{"long name", func(c *Config) { c.Name = bytes.Repeat([]byte("x"), 65) }, "name"},
		{"n != 3f+1", func(c *Config) { c.N = 5 }, "3f+1"},
		{"f = 0", func(c *Config) { c.F, c.N, c.Replicas = 0, 1, c.Replicas[:1] }, "3f+1"},
		{"n > max", func(c *Config) { c.F, c.N = 22, 67 }, "3f+1"},
		{"3f+1 wraps to 0", func(c *Config) { c.F, c.N, c.Replicas = (1<<64-1)/3, 0, nil }, "3f+1"},
		{"3f+1 wraps to 2", func(c *Config) { c.F, c.N, c.Replicas = 0xaaaaaaaaaaaaaaab, 2, c.Replicas[:2] }, "3f+1"},
		{"replica count", func(c *Config) { c.Replicas = c.Replicas[:3] }, "replicas listed"},
		{"k = 0", func(c *Config) { c.CheckpointInterval = 0 }, "checkpoint interval"},
		{"window not multiple of k", func(c *Config) { c.Window = 72 }, "window"},
		{"window < 2k", func(c *Config) { c.Window = 16 }, "window"},
		{"window > max", func(c *Config) { c.Window = MaxWindow + 16 }, "window"},
		{"new-view too large", func(c *Config) {
			*c = *validConfigF(MaxReplicas / 3)
			c.CheckpointInterval, c.Window = 1, MaxNewViewCerts/(43*43)+1
		}, "NEW-VIEW"},
		{"window 0, 2k wraps to 0", func(c *Config) { c.CheckpointInterval, c.Window = 1<<63, 0 }, "window"},
		{"max batch 0", func(c *Config) { c.MaxBatchRequests = 0 }, "max batch requests"},
		{"max batch too big", func(c *Config) { c.MaxBatchRequests = MaxBatchRequestsLimit + 1 }, "max batch requests"},
		{"max ops 0", func(c *Config) { c.MaxRequestOps = 0 }, "max request ops"},
		{"max ops too big", func(c *Config) { c.MaxRequestOps = MaxRequestOpsLimit + 1 }, "max request ops"},
		{"max op bytes 16", func(c *Config) { c.MaxOpBytes = 16 }, "max op bytes"},
		{"max op bytes too big", func(c *Config) { c.MaxOpBytes = MaxOpBytesLimit + 1 }, "max op bytes"},
		{"too many clients", func(c *Config) { c.Clients = make([]ClientConfig, MaxClients+1) }, "clients, at most"},
		{"no group key", func(c *Config) { c.ExecGroupKey = PublicKey{} }, "exec group key"},
		{"replica id mismatch", func(c *Config) { c.Replicas[2].ID = 3 }, "has id"},
		{"enrollment role", func(c *Config) { c.Replicas[1].Conf.Body.Role = RolePrep }, "enrollment names"},
		{"enrollment replica", func(c *Config) { c.Replicas[1].Exec.Body.Replica = 2 }, "enrollment names"},
		{"bad build name", func(c *Config) { c.Replicas[0].Prep.Body.Build = []byte("Prep-A") }, "build name invalid"},
		{"box key on prep", func(c *Config) { c.Replicas[0].Prep.Body.BoxKey = fakeKey(tagBox, 9) }, "box key must be set for exec only"},
		{"box key on conf", func(c *Config) { c.Replicas[3].Conf.Body.BoxKey = fakeKey(tagBox, 9) }, "box key must be set for exec only"},
		{"no box key on exec", func(c *Config) { c.Replicas[3].Exec.Body.BoxKey = PublicKey{} }, "box key must be set for exec only"},
		{"dev-insecure not allowed", func(c *Config) { c.Replicas[2].Exec.Evidence = Evidence{} }, "dev-insecure"},
		{"unknown evidence format", func(c *Config) { c.Replicas[2].Exec.Evidence.Format = 2 }, "unknown evidence format"},
		{"unsorted clients", func(c *Config) { c.Clients[0], c.Clients[1] = c.Clients[1], c.Clients[0] }, "not sorted"},
		{"duplicate client id", func(c *Config) { c.Clients[1].ID = c.Clients[0].ID }, "not sorted"},
		{"client without box key", func(c *Config) { c.Clients[2].BoxKey = PublicKey{} }, "no box key"},
		{"policy bad role", func(c *Config) { c.Builds[0].Role = 3 }, "bad role or build name"},
		{"policy bad build", func(c *Config) { c.Builds[0].Build = nil }, "bad role or build name"},
		{"policy unique id 31", func(c *Config) { c.Builds[1].UniqueID = fill(31, 0) }, "unique id"},
		{"policy signer id 33", func(c *Config) { c.Builds[4].SignerID = fill(33, 0) }, "unique id"},
		{"unaccepted build", func(c *Config) { c.Builds = c.Builds[1:] }, "not an accepted build"},
		{"build for other role", func(c *Config) { c.Builds[2].Role = RoleExec }, "not an accepted build"},
		{"duplicate enclave key", func(c *Config) { c.Replicas[3].Conf.Body.SignKey = c.Replicas[0].Prep.Body.SignKey }, "signing key used twice"},
		{"client key = enclave key", func(c *Config) { c.Clients[1].SignKey = c.Replicas[2].Exec.Body.SignKey }, "signing key used twice"},
		{"duplicate client key", func(c *Config) { c.Clients[2].SignKey = c.Clients[0].SignKey }, "signing key used twice"},
		{"exec box = group key", func(c *Config) { c.Replicas[1].Exec.Body.BoxKey = c.ExecGroupKey }, "box key used twice"},
		{"duplicate exec box key", func(c *Config) { c.Replicas[1].Exec.Body.BoxKey = c.Replicas[0].Exec.Body.BoxKey }, "box key used twice"},
		{"client box = exec box", func(c *Config) { c.Clients[0].BoxKey = c.Replicas[3].Exec.Body.BoxKey }, "box key used twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig()
			tt.mutate(c)
			err := c.Validate(nil)
			if !errors.Is(err, ErrConfig) {
				t.Fatalf("Validate = %v, want ErrConfig", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate = %q, want it to mention %q", err, tt.want)
			}
		})
	}
}

func TestConfigValidateAdmitter(t *testing.T) {
	c := validConfig()
	var seen []PublicKey
	if err := c.Validate(func(k PublicKey) bool { seen = append(seen, k); return true }); err != nil {
		t.Fatalf("accepting admitter: %v", err)
	}
	if want := 3*len(c.Replicas) + len(c.Clients); len(seen) != want {
		t.Fatalf("admitter called %d times, want %d (every Ed25519 key once)", len(seen), want)
	}
	for _, bad := range []PublicKey{c.Replicas[2].Conf.Body.SignKey, c.Clients[2].SignKey} {
		err := c.Validate(func(k PublicKey) bool { return k != bad })
		if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "not admitted") {
			t.Errorf("admitter rejecting %x: Validate = %v, want ErrConfig not admitted", bad[:4], err)
		}
	}
	for _, k := range seen {
		if k == c.ExecGroupKey || k == c.Replicas[0].Exec.Body.BoxKey {
			t.Errorf("admitter was asked about X25519 key %x", k[:4])
		}
	}
}

func TestConfigClientLookup(t *testing.T) {
	c := validConfig()
	for i := range c.Clients {
		if got := c.Client(c.Clients[i].ID); got != &c.Clients[i] {
			t.Errorf("Client(%d) = %p, want &Clients[%d]", c.Clients[i].ID, got, i)
		}
	}
	for _, id := range []uint64{0, 2, 6, 8, 99, 101, 1 << 63} {
		if got := c.Client(id); got != nil {
			t.Errorf("Client(%d) = %+v, want nil", id, got)
		}
	}
	if got := (&Config{}).Client(0); got != nil {
		t.Errorf("Client on empty config = %+v", got)
	}
}

func TestConfigPrimaryQuorumEnrollment(t *testing.T) {
	c := validConfig()
	for _, tt := range []struct{ view, want uint64 }{{0, 0}, {1, 1}, {3, 3}, {4, 0}, {9, 1}, {1<<64 - 1, 3}} {
		if got := c.Primary(tt.view); got != tt.want {
			t.Errorf("Primary(%d) = %d, want %d", tt.view, got, tt.want)
		}
	}
	if c.Quorum() != 3 {
		t.Errorf("Quorum = %d, want 3", c.Quorum())
	}
	for id := uint64(0); id < 4; id++ {
		if e := c.Enrollment(RoleConf, id); e != &c.Replicas[id].Conf {
			t.Errorf("Enrollment(conf, %d) is not Replicas[%d].Conf", id, id)
		}
	}
	if c.Enrollment(RoleExec, 4) != nil || c.Enrollment(3, 0) != nil {
		t.Error("Enrollment out of range is not nil")
	}
}

func TestValidBuildName(t *testing.T) {
	for _, tt := range []struct {
		name string
		ok   bool
	}{
		{"prep-a", true}, {"v1.2-x9", true}, {strings.Repeat("a", 64), true},
		{"", false}, {strings.Repeat("a", 65), false}, {"Prep", false}, {"a_b", false}, {"a b", false}, {"é", false},
	} {
		if got := ValidBuildName([]byte(tt.name)); got != tt.ok {
			t.Errorf("ValidBuildName(%q) = %v, want %v", tt.name, got, tt.ok)
		}
	}
}
