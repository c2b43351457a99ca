package operator

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"

	"github.com/splitbft/splitbft/broker"
	"github.com/splitbft/splitbft/spec"
)

// TemplateFile is the name of the cluster template inside a cluster directory.
const TemplateFile = "cluster.json"

// Template is the operator's description of a cluster (cluster.json): everything in
// the configuration (SPEC.md §6) except what the enclaves create at start — their
// enrollments and the exec group key. Every replica assembles the same spec.Config
// from it (Assemble). It holds no secret.
type Template struct {
	Name               string `json:"name"` // 1..64 bytes
	N                  uint64 `json:"n"`    // == 3F+1
	F                  uint64 `json:"f"`
	CheckpointInterval uint64 `json:"checkpoint_interval"` // K
	Window             uint64 `json:"window"`              // L
	MaxBatchRequests   uint64 `json:"max_batch_requests"`
	MaxRequestOps      uint64 `json:"max_request_ops"`
	MaxOpBytes         uint64 `json:"max_op_bytes"`
	// AllowDevInsecure admits dev-insecure evidence: compartments running outside any
	// enclave, with NO TEE protection.
	AllowDevInsecure bool              `json:"allow_dev_insecure"`
	Replicas         []ReplicaTemplate `json:"replicas"` // Replicas[i].ID == i
	Builds           []BuildPolicy     `json:"builds"`   // the accepted builds per role (§7.3; role "gateway": §16.2)
	Clients          []ClientKeys      `json:"clients"`  // sorted by strictly increasing ID
	// Members are the governance members' Ed25519 public keys and Threshold the
	// member signatures a proposal needs (SPEC.md §17.2); none: no governance.
	Members   []Hex  `json:"members,omitempty"`
	Threshold uint64 `json:"threshold,omitempty"`
}

// ReplicaTemplate is one replica's addresses and the builds it runs.
type ReplicaTemplate struct {
	ID     uint64 `json:"id"`
	Peer   string `json:"peer"`   // broker-to-broker listen address, host:port (Config.Replicas[i].Address)
	Client string `json:"client"` // client front end, host:port
	Status string `json:"status"` // HTTP: formation, /status, /metrics, /config
	Prep   string `json:"prep"`   // build name of the Preparation compartment (prep-a, prep-b)
	Conf   string `json:"conf"`   // conf-a, conf-b
	Exec   string `json:"exec"`   // exec
	// Redis, when set, is the loopback address where `splitbft replica` runs this
	// replica's Redis gateway (SPEC.md §16), as the client ids GatewayClients, whose
	// keys the gateway generates and formation registers (§16.2): they are not in
	// Clients.
	Redis          string   `json:"redis,omitempty"`
	GatewayClients []uint64 `json:"gateway_clients,omitempty"`
	// RedisTLS makes the gateway serve TLS 1.3 under its attested key (SPEC.md §16.2)
	// instead of plain TCP on loopback; `splitbft gateway verify` then checks it and
	// writes the certificate to pin.
	RedisTLS bool `json:"redis_tls,omitempty"`
	// TransportKey is the broker's Ed25519 transport public key, pinned by its peers
	// and clients for the TLS links (SPEC §13.2); the private key is in the replica's
	// folder (TransportKeyFile).
	TransportKey Hex `json:"transport_key"`
	// BrokerClient is the id of the registered client the replica's broker submits
	// its admissions as (SPEC.md §13.4, §17.5); its credentials are in the replica's
	// folder (BrokerClientFile). 0: none (a template of an older init).
	BrokerClient uint64 `json:"broker_client,omitempty"`
}

// Build returns the build name the replica runs for role r.
func (rt *ReplicaTemplate) Build(r spec.Role) string {
	return [3]string{rt.Prep, rt.Conf, rt.Exec}[r]
}

// BuildPolicy is a spec.BuildPolicy in JSON: for dev-insecure evidence only Role and
// Build count; for ego-sgx evidence either UniqueID (MRENCLAVE) or SignerID
// (MRSIGNER) with ProductID and MinSVN (docs/ENCLAVES.md).
type BuildPolicy struct {
	Role      string `json:"role"` // prep, conf or exec
	Build     string `json:"build"`
	UniqueID  Hex    `json:"unique_id,omitempty"` // empty or 32 bytes
	SignerID  Hex    `json:"signer_id,omitempty"` // empty or 32 bytes
	ProductID uint64 `json:"product_id,omitempty"`
	MinSVN    uint64 `json:"min_svn,omitempty"`
}

// ClientKeys registers a client: its public keys (spec.ClientConfig).
type ClientKeys struct {
	ID      uint64 `json:"id"`
	SignKey Hex    `json:"sign_key"` // Ed25519, 32 bytes
	BoxKey  Hex    `json:"box_key"`  // X25519, 32 bytes
}

// Hex is a byte string that JSON carries as lowercase hexadecimal.
type Hex []byte

// MarshalText encodes h as hexadecimal.
func (h Hex) MarshalText() ([]byte, error) { return []byte(hex.EncodeToString(h)), nil }

// UnmarshalText decodes hexadecimal.
func (h *Hex) UnmarshalText(b []byte) error {
	v, err := hex.DecodeString(string(b))
	*h = v
	return err
}

// roleByName maps role names to roles.
var roleByName = map[string]spec.Role{"prep": spec.RolePrep, "conf": spec.RoleConf, "exec": spec.RoleExec}

// ErrTemplate is wrapped by every template validation error.
var ErrTemplate = errors.New("operator: invalid cluster template")

func tmplErr(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrTemplate, fmt.Sprintf(format, a...))
}

// LoadTemplate reads and validates dir/cluster.json.
func LoadTemplate(dir string) (*Template, error) {
	raw, err := os.ReadFile(filepath.Join(dir, TemplateFile))
	if err != nil {
		return nil, fmt.Errorf("operator: %w", err)
	}
	var t Template
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields() // a misspelt field must not be silently ignored
	if err := dec.Decode(&t); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrTemplate, TemplateFile, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: %s: data after the JSON object", ErrTemplate, TemplateFile)
	}
	if err := t.Validate(); err != nil {
		return nil, err
	}
	return &t, nil
}

// Save writes the template to dir/cluster.json.
func (t *Template) Save(dir string) error {
	raw, err := json.MarshalIndent(t, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, TemplateFile), append(raw, '\n'), 0o644)
}

// Validate checks that the template can make a valid configuration: the parameters
// of SPEC.md §6.2, replica ids and addresses, known build names accepted by the
// policies, and the clients' keys. Enclave keys and evidence are checked later,
// when the replicas have them.
func (t *Template) Validate() error {
	if t.F < 1 || t.F > spec.MaxReplicas/3 || t.N != 3*t.F+1 {
		return tmplErr("n=%d f=%d: need n = 3f+1 with 1 ≤ f ≤ %d", t.N, t.F, spec.MaxReplicas/3)
	}
	if _, err := t.Policies(); err != nil {
		return err
	}
	if err := t.checkReplicas(); err != nil {
		return err
	}
	if err := t.checkClients(); err != nil {
		return err
	}
	if err := t.checkGateways(); err != nil {
		return err
	}
	if err := t.checkBrokerClients(); err != nil {
		return err
	}
	return t.checkParams()
}

// checkParams validates the parameters and the clients by validating a configuration
// that has them, the template's policies and distinct placeholder enrollments: any
// error is then the template's.
func (t *Template) checkParams() error {
	pol, _ := t.Policies()
	c := &spec.Config{Version: spec.WireVersion, Name: []byte(t.Name), N: t.N, F: t.F,
		CheckpointInterval: t.CheckpointInterval, Window: t.Window, MaxBatchRequests: t.MaxBatchRequests,
		MaxRequestOps: t.MaxRequestOps, MaxOpBytes: t.MaxOpBytes, AllowDevInsecure: true,
		Builds: pol, Clients: t.ClientConfigs(), ExecGroupKey: spec.PublicKey{0xAA, 0xAA}, Threshold: t.Threshold}
	members, err := t.memberConfig()
	if err != nil {
		return err
	}
	c.Members = members
	for i := range t.Replicas {
		rc := spec.ReplicaConfig{ID: uint64(i)}
		for r := spec.RolePrep; r <= spec.RoleExec; r++ {
			e := rc.Slot(r)
			e.Body = spec.EnrollmentBody{Role: r, Replica: uint64(i), Build: []byte(t.Replicas[i].Build(r)),
				SignKey: spec.PublicKey{0xAA, byte(r), byte(i)}}
			if r == spec.RoleExec {
				e.Body.BoxKey = spec.PublicKey{0xAA, 0xBB, byte(i)}
			}
		}
		c.Replicas = append(c.Replicas, rc)
	}
	if err := c.Validate(nil); err != nil {
		return fmt.Errorf("%w: %v", ErrTemplate, err)
	}
	return nil
}

// checkReplicas checks ids, addresses and that every build is known and accepted.
func (t *Template) checkReplicas() error {
	if uint64(len(t.Replicas)) != t.N {
		return tmplErr("%d replicas listed, n=%d", len(t.Replicas), t.N)
	}
	seen := map[string]bool{}
	for i := range t.Replicas {
		rt := &t.Replicas[i]
		if rt.ID != uint64(i) {
			return tmplErr("replica %d has id %d", i, rt.ID)
		}
		for _, a := range []string{rt.Peer, rt.Client, rt.Status} {
			if _, _, err := net.SplitHostPort(a); err != nil {
				return tmplErr("replica %d: address %q: %v", i, a, err)
			}
			if seen[a] {
				return tmplErr("replica %d: address %q used twice", i, a)
			}
			seen[a] = true
		}
		if err := checkTransportKey(rt.TransportKey); err != nil {
			return tmplErr("replica %d: %v", i, err)
		}
		for r := spec.RolePrep; r <= spec.RoleExec; r++ {
			if err := t.checkBuild(r, rt.Build(r)); err != nil {
				return tmplErr("replica %d: %v", i, err)
			}
		}
	}
	return nil
}

// checkBuild checks that build is a known implementation of role r and accepted by
// some policy.
func (t *Template) checkBuild(r spec.Role, build string) error {
	if _, ok := KnownBuilds[r][build]; !ok {
		return fmt.Errorf("unknown %s build %q (known: %v)", spec.RoleName(r), build, BuildNames(r))
	}
	for _, p := range t.Builds {
		if p.Role == spec.RoleName(r) && p.Build == build {
			return nil
		}
	}
	return fmt.Errorf("%s build %q is not accepted by any build policy", spec.RoleName(r), build)
}

// checkClients checks ordering and key sizes of the registered clients.
func (t *Template) checkClients() error {
	for i, c := range t.Clients {
		if i > 0 && c.ID <= t.Clients[i-1].ID {
			return tmplErr("clients not sorted by distinct id at index %d", i)
		}
		if len(c.SignKey) != 32 || len(c.BoxKey) != 32 {
			return tmplErr("client %d: keys must be 32 bytes", c.ID)
		}
		if !broker.AdmitKey(spec.PublicKey(c.SignKey)) {
			return tmplErr("client %d: signing key not admitted (non-canonical or small order)", c.ID)
		}
	}
	return nil
}

// Policies returns the compartments' build policies as spec.BuildPolicy values, in
// template order; gateway policies are checked here but left out (GatewayPolicyConfig).
func (t *Template) Policies() ([]spec.BuildPolicy, error) {
	out := make([]spec.BuildPolicy, 0, len(t.Builds))
	for i, p := range t.Builds {
		if p.Role == gatewayRole { // not a compartment role: GatewayPolicyConfig (SPEC.md §16.2)
			if !spec.ValidBuildName([]byte(p.Build)) || (len(p.UniqueID) != 0 && len(p.UniqueID) != 32) ||
				(len(p.SignerID) != 0 && len(p.SignerID) != 32) {
				return nil, tmplErr("build policy %d: bad build name, or unique/signer id not 0 or 32 bytes", i)
			}
			continue
		}
		r, ok := roleByName[p.Role]
		if !ok {
			return nil, tmplErr("build policy %d: unknown role %q", i, p.Role)
		}
		bp := spec.BuildPolicy{Role: r, Build: []byte(p.Build), UniqueID: slices.Clone(p.UniqueID),
			SignerID: slices.Clone(p.SignerID), ProductID: p.ProductID, MinSVN: p.MinSVN}
		if !spec.ValidBuildName(bp.Build) || (len(bp.UniqueID) != 0 && len(bp.UniqueID) != 32) ||
			(len(bp.SignerID) != 0 && len(bp.SignerID) != 32) {
			return nil, tmplErr("build policy %d: bad build name, or unique/signer id not 0 or 32 bytes", i)
		}
		out = append(out, bp)
	}
	return out, nil
}

// ClientConfigs returns the registered clients as spec.ClientConfig values.
func (t *Template) ClientConfigs() []spec.ClientConfig {
	out := make([]spec.ClientConfig, len(t.Clients))
	for i, c := range t.Clients {
		out[i].ID = c.ID
		copy(out[i].SignKey[:], c.SignKey)
		copy(out[i].BoxKey[:], c.BoxKey)
	}
	return out
}
