package operator

import (
	"bytes"
	"fmt"

	"github.com/splitbft/splitbft/broker"
	"github.com/splitbft/splitbft/spec"
)

// PolicyConfig returns the part of the configuration that decides which evidence is
// acceptable — n, f, AllowDevInsecure and the build policies — with no enrollments,
// for checking enrollments before the configuration exists (attest.CheckEnrollment).
func (t *Template) PolicyConfig() (*spec.Config, error) {
	pol, err := t.Policies()
	if err != nil {
		return nil, err
	}
	members, err := t.memberConfig()
	if err != nil {
		return nil, err
	}
	return &spec.Config{Version: spec.WireVersion, Name: []byte(t.Name), N: t.N, F: t.F,
		CheckpointInterval: t.CheckpointInterval, Window: t.Window, MaxBatchRequests: t.MaxBatchRequests,
		MaxRequestOps: t.MaxRequestOps, MaxOpBytes: t.MaxOpBytes, AllowDevInsecure: t.AllowDevInsecure,
		Builds: pol, Clients: t.ClientConfigs(), Members: members, Threshold: t.Threshold}, nil
}

// CheckSlot checks that enrollment e is what the template expects at replica id for
// role r: the right role and replica, and the build the template assigns there.
func (t *Template) CheckSlot(id uint64, r spec.Role, e *spec.Enrollment) error {
	if id >= uint64(len(t.Replicas)) {
		return fmt.Errorf("replica %d is not in the template", id)
	}
	want := t.Replicas[id].Build(r)
	switch {
	case e.Body.Role != r || e.Body.Replica != id:
		return fmt.Errorf("replica %d %s: enrollment names role %d replica %d", id, spec.RoleName(r), e.Body.Role, e.Body.Replica)
	case !bytes.Equal(e.Body.Build, []byte(want)):
		return fmt.Errorf("replica %d %s: enrolled build %q, the template assigns %q", id, spec.RoleName(r), e.Body.Build, want)
	}
	return nil
}

// Assemble builds the cluster configuration from the template, the enrollments of
// every replica (enr[i] = prep, conf, exec of replica i), the registrations of the
// gateways' client identities (gw: exactly the ids the template assigns to gateways,
// SPEC.md §16.2; admitted by Template.CheckGateway) and the exec group key. It
// is a pure function of its arguments, so every replica computes the same bytes and
// the same ConfigDigest. The result is validated (SPEC.md §6.2, key admission by
// broker.AdmitKey) and every enrollment is checked against its template slot;
// evidence is not checked here (attest.CheckConfig).
func Assemble(t *Template, enr [][3]spec.Enrollment, gw []spec.ClientConfig, group spec.PublicKey) (*spec.Config, error) {
	if uint64(len(enr)) != t.N {
		return nil, fmt.Errorf("operator: %d replicas' enrollments for n=%d", len(enr), t.N)
	}
	cfg, err := t.PolicyConfig()
	if err != nil {
		return nil, err
	}
	cfg.ExecGroupKey = group
	if cfg.Clients, err = t.registerClients(gw); err != nil {
		return nil, err
	}
	for i := range enr {
		rc := spec.ReplicaConfig{ID: uint64(i), Address: []byte(t.Replicas[i].Peer),
			Prep: enr[i][spec.RolePrep], Conf: enr[i][spec.RoleConf], Exec: enr[i][spec.RoleExec]}
		for r := spec.RolePrep; r <= spec.RoleExec; r++ {
			if err := t.CheckSlot(uint64(i), r, rc.Slot(r)); err != nil {
				return nil, fmt.Errorf("operator: %w", err)
			}
		}
		cfg.Replicas = append(cfg.Replicas, rc)
	}
	// Round-trip through the codec so that the result holds exactly what its
	// encoding says (no nil-versus-empty differences between replicas).
	var out spec.Config
	if err := spec.Decode(spec.Encode(cfg), &out, spec.MaxMessageBytes); err != nil {
		return nil, fmt.Errorf("operator: assembled configuration does not encode canonically: %w", err)
	}
	if err := out.Validate(broker.AdmitKey); err != nil {
		return nil, fmt.Errorf("operator: assembled configuration: %w", err)
	}
	return &out, nil
}
