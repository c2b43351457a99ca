package broker

import (
	"bytes"
	"cmp"
	"fmt"
	"slices"

	"github.com/splitbft/splitbft/spec"
)

// Setup is what Bootstrap needs besides the enclaves: the configuration fields that
// are not the enclaves' own (SPEC.md §6.1). Zero values take the defaults noted.
type Setup struct {
	Name             string // cluster name, 1..64 bytes; default "splitbft"
	F                uint64 // default (n−1)/3 for n enclave triples
	K                uint64 // CheckpointInterval; default 16
	L                uint64 // Window; default 64
	MaxBatchRequests uint64 // default 200
	MaxRequestOps    uint64 // default 16
	MaxOpBytes       uint64 // default 4096
	AllowDevInsecure bool   // must be true for dev-insecure enclaves
	Clients          []spec.ClientConfig
	Addresses        [][]byte           // broker address per replica (optional)
	Builds           []spec.BuildPolicy // default: one policy per (role, build) seen
}

func (s Setup) withDefaults(n uint64) Setup {
	if s.Name == "" {
		s.Name = "splitbft"
	}
	if s.F == 0 && n > 0 {
		s.F = (n - 1) / 3
	}
	def := func(v *uint64, d uint64) {
		if *v == 0 {
			*v = d
		}
	}
	def(&s.K, 16)
	def(&s.L, 64)
	def(&s.MaxBatchRequests, 200)
	def(&s.MaxRequestOps, 16)
	def(&s.MaxOpBytes, 4096)
	return s
}

// Bootstrap performs obligation 1 of SPEC.md §13.3 for a whole cluster whose enclaves
// are all reachable from here (tests, demos, a single operator): it Inits every
// enclave (enclaves[i] = prep, conf, exec of replica i), has exec 0 deal the group key
// to every exec enrollment, assembles and validates the configuration (key admission
// by AdmitKey), and delivers configure to every compartment, exec with its own share.
// It fails if any enclave fails, rejects, or does not report itself configured.
func Bootstrap(setup Setup, enclaves [][3]Enclave) (*spec.Config, error) {
	n := uint64(len(enclaves))
	setup = setup.withDefaults(n)
	if n == 0 || n != 3*setup.F+1 {
		return nil, fmt.Errorf("broker: bootstrap: %d replicas, need 3f+1 with f=%d", n, setup.F)
	}
	enr, err := initAll(enclaves)
	if err != nil {
		return nil, err
	}
	shares, group, err := dealGroupKey(enclaves[0][spec.RoleExec], enr)
	if err != nil {
		return nil, err
	}
	cfg := assemble(setup, enr, group)
	if err := cfg.Validate(AdmitKey); err != nil {
		return nil, fmt.Errorf("broker: bootstrap: %w", err)
	}
	if err := configureAll(cfg, enclaves, shares); err != nil {
		return nil, err
	}
	return cfg, nil
}

// initAll calls Init on every enclave and checks that each enrollment is for its slot.
func initAll(enclaves [][3]Enclave) ([][3]spec.Enrollment, error) {
	out := make([][3]spec.Enrollment, len(enclaves))
	for i := range enclaves {
		for role := spec.RolePrep; role <= spec.RoleExec; role++ {
			req := spec.Encode(&spec.InitRequest{Role: role, Replica: uint64(i)})
			raw, err := enclaves[i][role].Init(req)
			if err != nil {
				return nil, fmt.Errorf("broker: init replica %d %s: %w", i, spec.RoleName(role), err)
			}
			e := &out[i][role]
			if err := spec.Decode(raw, e, spec.MaxMessageBytes); err != nil {
				return nil, fmt.Errorf("broker: replica %d %s enrollment: %w", i, spec.RoleName(role), err)
			}
			if e.Body.Role != role || e.Body.Replica != uint64(i) {
				return nil, fmt.Errorf("broker: replica %d %s enrolled as role %d replica %d", i, spec.RoleName(role), e.Body.Role, e.Body.Replica)
			}
		}
	}
	return out, nil
}

// dealGroupKey has the dealer exec wrap a new group key for every exec enrollment.
func dealGroupKey(dealer Enclave, enr [][3]spec.Enrollment) ([]spec.GroupKeyShare, spec.PublicKey, error) {
	deal := spec.GroupKeyDeal{}
	for i := range enr {
		deal.Execs = append(deal.Execs, enr[i][spec.RoleExec].Body)
	}
	outs, err := StepOnce(dealer, spec.KindGroupKeyDeal, spec.Encode(&deal))
	if err != nil {
		return nil, spec.PublicKey{}, fmt.Errorf("broker: group key deal: %w", err)
	}
	for _, o := range outs {
		if o.Kind != spec.KindGroupKeyShares {
			continue
		}
		var gs spec.GroupKeyShares
		if err := spec.Decode(o.Body, &gs, spec.MaxBodyBytes(spec.KindGroupKeyShares)); err != nil {
			return nil, spec.PublicKey{}, fmt.Errorf("broker: group key shares: %w", err)
		}
		return checkShares(gs.Shares, deal.Execs)
	}
	return nil, spec.PublicKey{}, fmt.Errorf("broker: group key deal produced no shares")
}

// checkShares checks that there is one share per exec, in order, all for one group key.
func checkShares(shares []spec.GroupKeyShare, execs []spec.EnrollmentBody) ([]spec.GroupKeyShare, spec.PublicKey, error) {
	if len(shares) != len(execs) {
		return nil, spec.PublicKey{}, fmt.Errorf("broker: %d group key shares for %d execs", len(shares), len(execs))
	}
	for i := range shares {
		if shares[i].Recipient != execs[i].BoxKey || shares[i].GroupKey != shares[0].GroupKey {
			return nil, spec.PublicKey{}, fmt.Errorf("broker: group key share %d is for another exec or group key", i)
		}
	}
	return shares, shares[0].GroupKey, nil
}

// assemble builds the configuration document from the setup and the enrollments.
func assemble(s Setup, enr [][3]spec.Enrollment, group spec.PublicKey) *spec.Config {
	n := uint64(len(enr))
	cfg := &spec.Config{Version: spec.WireVersion, Name: []byte(s.Name), N: n, F: s.F,
		CheckpointInterval: s.K, Window: s.L, MaxBatchRequests: s.MaxBatchRequests,
		MaxRequestOps: s.MaxRequestOps, MaxOpBytes: s.MaxOpBytes, AllowDevInsecure: s.AllowDevInsecure,
		Builds: slices.Clone(s.Builds), ExecGroupKey: group}
	for i := range enr {
		rc := spec.ReplicaConfig{ID: uint64(i), Prep: enr[i][0], Conf: enr[i][1], Exec: enr[i][2]}
		if i < len(s.Addresses) {
			rc.Address = s.Addresses[i]
		}
		cfg.Replicas = append(cfg.Replicas, rc)
	}
	if len(cfg.Builds) == 0 {
		cfg.Builds = buildsSeen(enr)
	}
	cfg.Clients = slices.Clone(s.Clients)
	slices.SortFunc(cfg.Clients, func(a, b spec.ClientConfig) int { return cmp.Compare(a.ID, b.ID) })
	return cfg
}

// buildsSeen returns one BuildPolicy per distinct (role, build) among the enrollments,
// sorted by role then build. The policies carry no measurement: they are meaningful
// for dev-insecure evidence only (SPEC.md §7.3).
func buildsSeen(enr [][3]spec.Enrollment) []spec.BuildPolicy {
	var out []spec.BuildPolicy
	for i := range enr {
		for role := range enr[i] {
			b := enr[i][role].Body
			if !slices.ContainsFunc(out, func(p spec.BuildPolicy) bool { return p.Role == b.Role && bytes.Equal(p.Build, b.Build) }) {
				out = append(out, spec.BuildPolicy{Role: b.Role, Build: bytes.Clone(b.Build)})
			}
		}
	}
	slices.SortFunc(out, func(a, b spec.BuildPolicy) int {
		if a.Role != b.Role {
			return cmp.Compare(a.Role, b.Role)
		}
		return bytes.Compare(a.Build, b.Build)
	})
	return out
}

// configureAll delivers configure to every compartment and checks that each accepted.
func configureAll(cfg *spec.Config, enclaves [][3]Enclave, shares []spec.GroupKeyShare) error {
	raw := spec.Encode(cfg)
	for i := range enclaves {
		for role := spec.RolePrep; role <= spec.RoleExec; role++ {
			c := spec.Configure{Config: raw}
			if role == spec.RoleExec {
				c.Share = []spec.GroupKeyShare{shares[i]}
			}
			outs, err := StepOnce(enclaves[i][role], spec.KindConfigure, spec.Encode(&c))
			if err != nil {
				return fmt.Errorf("broker: configure replica %d %s: %w", i, spec.RoleName(role), err)
			}
			if st, ok := lastStatus(outs); !ok || !st.Configured {
				return fmt.Errorf("broker: replica %d %s does not report itself configured", i, spec.RoleName(role))
			}
		}
	}
	return nil
}

// StepOnce runs one input through an enclave and returns its outputs (at least one:
// the status comes last), failing on a host error, an undecodable output, an output
// without a status, or any rejection. Bootstrap and cluster formation use it for the
// group-key deal and configure.
func StepOnce(e Enclave, kind uint64, body []byte) ([]spec.Output, error) {
	raw, err := e.Step(spec.Encode(&spec.StepInput{Inputs: []spec.Input{{Kind: kind, Body: body}}}))
	if err != nil {
		return nil, err
	}
	var out spec.StepOutput
	if err := spec.Decode(raw, &out, spec.MaxMessageBytes); err != nil {
		return nil, fmt.Errorf("step output: %w", err)
	}
	if len(out.Outputs) == 0 {
		return nil, fmt.Errorf("step output without status")
	}
	for _, o := range out.Outputs {
		if o.Kind == spec.KindReject {
			return nil, fmt.Errorf("rejected: %s", spec.Describe(o.Kind, o.Body))
		}
	}
	return out.Outputs, nil
}

// lastStatus returns the decoded status that ends a step's outputs.
func lastStatus(outs []spec.Output) (spec.Status, bool) {
	var st spec.Status
	if len(outs) == 0 || outs[len(outs)-1].Kind != spec.KindStatus {
		return st, false
	}
	return st, spec.Decode(outs[len(outs)-1].Body, &st, spec.MaxBodyBytes(spec.KindStatus)) == nil
}
