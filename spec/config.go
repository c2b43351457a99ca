package spec

import (
	"bytes"
	"errors"
	"fmt"
)

// Role names a compartment type.
type Role = uint64

// The compartment roles. A role's bit in Destination.Roles is 1 << role.
const (
	RolePrep Role = 0 // Preparation
	RoleConf Role = 1 // Confirmation
	RoleExec Role = 2 // Execution
)

// RoleName returns the short name of a role ("prep", "conf", "exec", "gateway") or "role?".
func RoleName(r Role) string {
	switch r {
	case RolePrep:
		return "prep"
	case RoleConf:
		return "conf"
	case RoleExec:
		return "exec"
	case RoleGateway:
		return "gateway"
	}
	return fmt.Sprintf("role%d", r)
}

// Evidence formats (SPEC.md §7.2).
const (
	EvidenceDevInsecure uint64 = 0 // no TEE: Data is empty; accepted only if Config.AllowDevInsecure
	EvidenceEgoSGX      uint64 = 1 // Data is an EGo remote report whose report data is EnrollmentDigest
)

// EnrollmentBody is what an enclave attests to at Init: its public keys, role,
// replica id and build name.
type EnrollmentBody struct {
	_       struct{} `cbor:",toarray"`
	Role    Role
	Replica uint64
	Build   []byte    // build name, e.g. "prep-a"; 1..64 bytes of [a-z0-9.-]
	SignKey PublicKey // Ed25519
	BoxKey  PublicKey // X25519 for exec; all zero for prep and conf
}

// Evidence binds an EnrollmentBody to a TEE (SPEC.md §7.2).
type Evidence struct {
	_      struct{} `cbor:",toarray"`
	Format uint64
	Data   []byte
}

// Enrollment is an enclave's answer to Init.
type Enrollment struct {
	_        struct{} `cbor:",toarray"`
	Body     EnrollmentBody
	Evidence Evidence
}

// ReplicaConfig is one replica's entry in the configuration.
type ReplicaConfig struct {
	_       struct{} `cbor:",toarray"`
	ID      uint64   // == index in Config.Replicas
	Address []byte   // broker address for peers, "host:port"; opaque to compartments
	Prep    Enrollment
	Conf    Enrollment
	Exec    Enrollment
}

// Slot returns the enrollment of role r in rc (Prep, Conf or Exec; any other role
// gets Exec's slot, so callers pass one of the three).
func (rc *ReplicaConfig) Slot(r Role) *Enrollment {
	switch r {
	case RolePrep:
		return &rc.Prep
	case RoleConf:
		return &rc.Conf
	}
	return &rc.Exec
}

// BuildPolicy admits a build for a role (SPEC.md §7.3). For dev-insecure evidence only
// Role and Build are checked.
type BuildPolicy struct {
	_         struct{} `cbor:",toarray"`
	Role      Role
	Build     []byte
	UniqueID  []byte // MRENCLAVE (32 bytes) or empty to match on signer
	SignerID  []byte // MRSIGNER (32 bytes) or empty
	ProductID uint64
	MinSVN    uint64
}

// ClientConfig registers a client.
type ClientConfig struct {
	_       struct{} `cbor:",toarray"`
	ID      uint64
	SignKey PublicKey // Ed25519, verifies REQUESTs
	BoxKey  PublicKey // X25519, for request and reply keys
}

// Config is the cluster configuration document (SPEC.md §6). Its ConfigDigest is bound
// into every signature and every AEAD, so messages of one cluster are never valid in
// another.
type Config struct {
	_                  struct{} `cbor:",toarray"`
	Version            uint64   // WireVersion
	Name               []byte   // cluster name, 1..64 bytes
	N                  uint64   // number of replicas, == 3F+1
	F                  uint64   // faults tolerated per compartment type, ≥ 1
	CheckpointInterval uint64   // K: exec checkpoints after every K-th batch; ≥ 1
	Window             uint64   // L: sequence numbers (h, h+L] are in the window; multiple of K, ≥ 2K, ≤ MaxWindow
	MaxBatchRequests   uint64   // requests per batch, 1..MaxBatchRequestsLimit
	MaxRequestOps      uint64   // operations per request, 1..MaxRequestOpsLimit
	MaxOpBytes         uint64   // ciphertext bytes per operation, 17..MaxOpBytesLimit
	AllowDevInsecure   bool     // accept dev-insecure evidence (no TEE protection)
	Replicas           []ReplicaConfig
	Builds             []BuildPolicy
	Clients            []ClientConfig // sorted by ID, IDs distinct
	ExecGroupKey       PublicKey      // X25519 public key of the execution group
	Epoch              uint64         // 0 for the configuration formed at start (SPEC.md §17.1)
	Prev               Digest         // ConfigDigest of epoch Epoch−1; zero in epoch 0
	StartSeq           uint64         // the sequence number the epoch starts from; 0 in epoch 0
	StartState         Digest         // the state digest at StartSeq; zero in epoch 0
	Members            []PublicKey    // Ed25519 keys of the governance members, at most MaxMembers
	Threshold          uint64         // member signatures a proposal needs; ≤ len(Members), ≥ 1 if any
}

// Hard limits on configuration values, so that every size cap is finite.
const (
	MaxReplicas           = 64
	MaxClients            = 100000
	MaxWindow             = 4096
	MaxBatchRequestsLimit = 4096
	MaxRequestOpsLimit    = 256
	MaxOpBytesLimit       = 64 << 10
	MaxMembers            = 64
	MaxStartSeq           = 1 << 62 // bound of Config.StartSeq (SPEC.md §6.2 rule 8)

	// MaxNewViewCerts bounds (2f+1)²·L. A NEW-VIEW carries 2f+1 VIEW-CHANGEs of up to L
	// prepared certificates of 2f+1 signed headers (about 130 bytes each), so this keeps
	// the largest possible NEW-VIEW near 34 MB, inside its 48 MiB cap.
	MaxNewViewCerts = 1 << 18
)

// Primary returns the replica id of the primary of view v: v mod N.
func (c *Config) Primary(view uint64) uint64 { return view % c.N }

// Quorum returns 2f+1.
func (c *Config) Quorum() int { return int(2*c.F + 1) }

// Enrollment returns replica id's enrollment for role r, or nil if out of range.
func (c *Config) Enrollment(r Role, id uint64) *Enrollment {
	if id >= uint64(len(c.Replicas)) {
		return nil
	}
	rc := &c.Replicas[id]
	switch r {
	case RolePrep:
		return &rc.Prep
	case RoleConf:
		return &rc.Conf
	case RoleExec:
		return &rc.Exec
	}
	return nil
}

// Client returns the registered client with the given id, or nil.
func (c *Config) Client(id uint64) *ClientConfig {
	lo, hi := 0, len(c.Clients)
	for lo < hi {
		m := (lo + hi) / 2
		switch {
		case c.Clients[m].ID == id:
			return &c.Clients[m]
		case c.Clients[m].ID < id:
			lo = m + 1
		default:
			hi = m
		}
	}
	return nil
}

// ErrConfig is wrapped by every configuration validation error.
var ErrConfig = errors.New("spec: invalid config")

// KeyAdmitter reports whether an Ed25519 public key may be enrolled or registered:
// canonically encoded and not of small order (SPEC.md §3.3). It is supplied by the
// caller because this package does no curve arithmetic.
type KeyAdmitter func(PublicKey) bool

// Validate checks every rule of SPEC.md §6.2 except build admission of evidence
// (§7.3), using admit for Ed25519 key admission. A nil admit skips that check.
func (c *Config) Validate(admit KeyAdmitter) error {
	checks := []func() error{c.checkShape, c.checkEpoch, c.checkReplicas, c.checkClients, c.checkBuilds}
	for _, chk := range checks {
		if err := chk(); err != nil {
			return err
		}
	}
	return c.checkKeys(admit)
}

func cfgErr(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrConfig, fmt.Sprintf(format, a...))
}

func (c *Config) checkShape() error {
	switch {
	case c.Version != WireVersion:
		return cfgErr("version %d, want %d", c.Version, WireVersion)
	case len(c.Name) == 0 || len(c.Name) > 64:
		return cfgErr("name must be 1..64 bytes")
	case c.F < 1 || c.F > MaxReplicas/3 || c.N != 3*c.F+1 || c.N > MaxReplicas: // bound F first: 3F+1 must not wrap
		return cfgErr("n=%d f=%d: need n = 3f+1, f ≥ 1, n ≤ %d", c.N, c.F, MaxReplicas)
	case uint64(len(c.Replicas)) != c.N:
		return cfgErr("%d replicas listed, n=%d", len(c.Replicas), c.N)
	case c.CheckpointInterval < 1:
		return cfgErr("checkpoint interval must be ≥ 1")
	case c.Window/2 < c.CheckpointInterval || c.Window%c.CheckpointInterval != 0 || c.Window > MaxWindow:
		return cfgErr("window %d must be a multiple of K=%d, ≥ 2K and ≤ %d", c.Window, c.CheckpointInterval, MaxWindow)
	case (2*c.F+1)*(2*c.F+1)*c.Window > MaxNewViewCerts:
		return cfgErr("(2f+1)²·L = %d exceeds %d: a worst-case NEW-VIEW would not fit its size cap", (2*c.F+1)*(2*c.F+1)*c.Window, MaxNewViewCerts)
	case c.MaxBatchRequests < 1 || c.MaxBatchRequests > MaxBatchRequestsLimit:
		return cfgErr("max batch requests %d out of 1..%d", c.MaxBatchRequests, MaxBatchRequestsLimit)
	case c.MaxRequestOps < 1 || c.MaxRequestOps > MaxRequestOpsLimit:
		return cfgErr("max request ops %d out of 1..%d", c.MaxRequestOps, MaxRequestOpsLimit)
	case c.MaxOpBytes < 17 || c.MaxOpBytes > MaxOpBytesLimit:
		return cfgErr("max op bytes %d out of 17..%d", c.MaxOpBytes, MaxOpBytesLimit)
	case len(c.Clients) > MaxClients:
		return cfgErr("%d clients, at most %d", len(c.Clients), MaxClients)
	case c.ExecGroupKey == PublicKey{}:
		return cfgErr("exec group key missing")
	}
	return nil
}

// checkEpoch applies rules 8 and 9 of SPEC.md §6.2: the epoch fields and the members.
func (c *Config) checkEpoch() error {
	switch {
	case c.Epoch == 0 && (c.Prev != Digest{} || c.StartSeq != 0 || c.StartState != Digest{}):
		return cfgErr("epoch 0 must have zero Prev, StartSeq and StartState")
	case c.Epoch > 0 && c.Prev == Digest{}:
		return cfgErr("epoch %d has no Prev digest", c.Epoch)
	case c.StartSeq > MaxStartSeq:
		return cfgErr("start seq %d exceeds 2^62", c.StartSeq)
	case len(c.Members) > MaxMembers:
		return cfgErr("%d members, at most %d", len(c.Members), MaxMembers)
	case c.Threshold > uint64(len(c.Members)):
		return cfgErr("threshold %d exceeds the %d members", c.Threshold, len(c.Members))
	case len(c.Members) > 0 && c.Threshold == 0:
		return cfgErr("members need a threshold ≥ 1")
	}
	return nil
}

// GenesisCert returns the epoch's genesis checkpoint certificate (SPEC.md §17.1):
// StartSeq and StartState with no proof. In epoch 0 it is the cluster's genesis
// certificate (Seq 0, zero state).
func (c *Config) GenesisCert() CheckpointCert {
	return CheckpointCert{Seq: c.StartSeq, State: c.StartState}
}

func (c *Config) checkReplicas() error {
	for i := range c.Replicas {
		rc := &c.Replicas[i]
		if rc.ID != uint64(i) {
			return cfgErr("replica %d has id %d", i, rc.ID)
		}
		for _, r := range []Role{RolePrep, RoleConf, RoleExec} {
			e := c.Enrollment(r, rc.ID)
			if e.Body.Role != r || e.Body.Replica != rc.ID {
				return cfgErr("replica %d %s enrollment names role %d replica %d", i, RoleName(r), e.Body.Role, e.Body.Replica)
			}
			if !ValidBuildName(e.Body.Build) {
				return cfgErr("replica %d %s build name invalid", i, RoleName(r))
			}
			if (r == RoleExec) == (e.Body.BoxKey == PublicKey{}) {
				return cfgErr("replica %d %s: box key must be set for exec only", i, RoleName(r))
			}
			if e.Evidence.Format == EvidenceDevInsecure && !c.AllowDevInsecure {
				return cfgErr("replica %d %s has dev-insecure evidence but the config does not allow it", i, RoleName(r))
			}
			if e.Evidence.Format > EvidenceEgoSGX {
				return cfgErr("replica %d %s: unknown evidence format %d", i, RoleName(r), e.Evidence.Format)
			}
		}
	}
	return nil
}

func (c *Config) checkClients() error {
	for i := range c.Clients {
		if i > 0 && c.Clients[i].ID <= c.Clients[i-1].ID {
			return cfgErr("clients not sorted by distinct id at index %d", i)
		}
		if c.Clients[i].BoxKey == (PublicKey{}) {
			return cfgErr("client %d has no box key", c.Clients[i].ID)
		}
	}
	return nil
}

func (c *Config) checkBuilds() error {
	for i := range c.Builds {
		b := &c.Builds[i]
		if b.Role > RoleExec || !ValidBuildName(b.Build) {
			return cfgErr("build policy %d: bad role or build name", i)
		}
		if (len(b.UniqueID) != 0 && len(b.UniqueID) != 32) || (len(b.SignerID) != 0 && len(b.SignerID) != 32) {
			return cfgErr("build policy %d: unique id and signer id must be empty or 32 bytes", i)
		}
	}
	for i := range c.Replicas {
		for _, r := range []Role{RolePrep, RoleConf, RoleExec} {
			if !c.BuildAccepted(r, c.Enrollment(r, uint64(i)).Body.Build) {
				return cfgErr("replica %d %s build %q is not an accepted build", i, RoleName(r), c.Enrollment(r, uint64(i)).Body.Build)
			}
		}
	}
	return nil
}

// BuildAccepted reports whether some BuildPolicy admits build for role r.
func (c *Config) BuildAccepted(r Role, build []byte) bool {
	for i := range c.Builds {
		if c.Builds[i].Role == r && bytes.Equal(c.Builds[i].Build, build) {
			return true
		}
	}
	return false
}

// checkKeys enforces that all Ed25519 keys (enclaves and clients) are distinct and
// admitted, and that all X25519 keys are distinct and non-zero.
func (c *Config) checkKeys(admit KeyAdmitter) error {
	sign := map[PublicKey]bool{}
	box := map[PublicKey]bool{c.ExecGroupKey: true}
	addSign := func(k PublicKey, who string) error {
		if sign[k] {
			return cfgErr("%s: signing key used twice", who)
		}
		if admit != nil && !admit(k) {
			return cfgErr("%s: signing key not admitted (non-canonical or small order)", who)
		}
		sign[k] = true
		return nil
	}
	addBox := func(k PublicKey, who string) error {
		if box[k] {
			return cfgErr("%s: box key used twice", who)
		}
		box[k] = true
		return nil
	}
	for i := range c.Replicas {
		for _, r := range []Role{RolePrep, RoleConf, RoleExec} {
			e := c.Enrollment(r, uint64(i))
			who := fmt.Sprintf("replica %d %s", i, RoleName(r))
			if err := addSign(e.Body.SignKey, who); err != nil {
				return err
			}
			if r == RoleExec {
				if err := addBox(e.Body.BoxKey, who); err != nil {
					return err
				}
			}
		}
	}
	for i, m := range c.Members {
		if err := addSign(m, fmt.Sprintf("member %d", i)); err != nil {
			return err
		}
	}
	for i := range c.Clients {
		who := fmt.Sprintf("client %d", c.Clients[i].ID)
		if err := addSign(c.Clients[i].SignKey, who); err != nil {
			return err
		}
		if err := addBox(c.Clients[i].BoxKey, who); err != nil {
			return err
		}
	}
	return nil
}

// ValidBuildName reports whether b is 1..64 bytes of [a-z0-9.-].
func ValidBuildName(b []byte) bool {
	if len(b) == 0 || len(b) > 64 {
		return false
	}
	for _, ch := range b {
		if !(ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9' || ch == '.' || ch == '-') {
			return false
		}
	}
	return true
}
