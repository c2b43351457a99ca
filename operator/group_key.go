package operator

import (
	"fmt"

	"github.com/splitbft/splitbft/broker"
	"github.com/splitbft/splitbft/spec"
)

// This file holds obligation 1 of SPEC.md §13.3 as one replica performs it once it has
// every replica's enrollments: the dealer's exec wraps the group key for every exec,
// and each replica configures its own compartments.

// DealGroupKey has the dealer exec (before configure) create the exec group key and
// wrap it for every exec enrollment in enr, in replica order (SPEC.md §11.2). It
// returns the shares after CheckShares.
func DealGroupKey(dealer broker.Enclave, dealerID uint64, enr [][3]spec.Enrollment) ([]spec.GroupKeyShare, error) {
	deal := spec.GroupKeyDeal{}
	for i := range enr {
		deal.Execs = append(deal.Execs, enr[i][spec.RoleExec].Body)
	}
	outs, err := broker.StepOnce(dealer, spec.KindGroupKeyDeal, spec.Encode(&deal))
	if err != nil {
		return nil, fmt.Errorf("operator: group key deal: %w", err)
	}
	for _, o := range outs {
		if o.Kind != spec.KindGroupKeyShares {
			continue
		}
		var gs spec.GroupKeyShares
		if err := spec.Decode(o.Body, &gs, spec.MaxBodyBytes(spec.KindGroupKeyShares)); err != nil {
			return nil, fmt.Errorf("operator: group key shares: %w", err)
		}
		if _, err := CheckShares(gs.Shares, dealerID, enr); err != nil {
			return nil, err
		}
		return gs.Shares, nil
	}
	return nil, fmt.Errorf("operator: group key deal produced no shares")
}

// CheckShares checks a deal received from replica dealerID: one share per exec in
// replica order, each for that exec's box key, all from the dealer's exec and for one
// non-zero group key, which it returns. (Whether a share opens is checked by each
// exec when it is configured, rule G3.) A share for, or from, an exec key that no
// current enrollment has is a *KeyChangedError: that replica's keys changed since the
// deal, as they do when it restarts.
func CheckShares(shares []spec.GroupKeyShare, dealerID uint64, enr [][3]spec.Enrollment) (spec.PublicKey, error) {
	if len(shares) != len(enr) || dealerID >= uint64(len(enr)) {
		return spec.PublicKey{}, fmt.Errorf("operator: %d group key shares for %d execs", len(shares), len(enr))
	}
	dealer := enr[dealerID][spec.RoleExec].Body.BoxKey
	g := shares[0].GroupKey
	for i := range shares {
		s := &shares[i]
		switch {
		case s.Recipient != enr[i][spec.RoleExec].Body.BoxKey && !knownExec(enr, s.Recipient):
			return spec.PublicKey{}, &KeyChangedError{Share: i, Replica: uint64(i), What: "for", Key: s.Recipient}
		case s.Recipient != enr[i][spec.RoleExec].Body.BoxKey:
			return spec.PublicKey{}, fmt.Errorf("operator: group key share %d is not for replica %d's exec", i, i)
		case s.Dealer != dealer && !knownExec(enr, s.Dealer):
			return spec.PublicKey{}, &KeyChangedError{Share: i, Replica: dealerID, What: "from", Key: s.Dealer}
		case s.Dealer != dealer:
			return spec.PublicKey{}, fmt.Errorf("operator: group key share %d is not from replica %d's exec", i, dealerID)
		case s.GroupKey != g || g == spec.PublicKey{}:
			return spec.PublicKey{}, fmt.Errorf("operator: group key share %d names another (or no) group key", i)
		}
	}
	return g, nil
}

// knownExec reports whether key is the box key of some exec in enr.
func knownExec(enr [][3]spec.Enrollment, key spec.PublicKey) bool {
	for i := range enr {
		if enr[i][spec.RoleExec].Body.BoxKey == key {
			return true
		}
	}
	return false
}

// KeyChangedError is a group key share made for (or by) an exec key that replica
// Replica's exec no longer has: the replica restarted after the deal (a restarted
// compartment has new keys), or the dealer is faulty.
type KeyChangedError struct {
	Share   int
	Replica uint64
	What    string         // "for": the recipient's key changed; "from": the dealer's
	Key     spec.PublicKey // the exec box key the share names
}

// Error names the share, the replica and what to do.
func (e *KeyChangedError) Error() string {
	return fmt.Sprintf("operator: group key share %d is %s an exec key replica %d no longer has: replica %d restarted during formation (a restarted replica has new keys), or the dealer is faulty; if the cluster cannot form, start every replica with --new-cluster",
		e.Share, e.What, e.Replica, e.Replica)
}

// ConfigureAll delivers configure to a replica's three compartments — exec with its
// own share — and checks that each accepted it and reports itself configured.
func ConfigureAll(enclaves [3]broker.Enclave, cfg *spec.Config, share spec.GroupKeyShare) error {
	raw := spec.Encode(cfg)
	for r := spec.RolePrep; r <= spec.RoleExec; r++ {
		c := spec.Configure{Config: raw}
		if r == spec.RoleExec {
			c.Share = []spec.GroupKeyShare{share}
		}
		outs, err := broker.StepOnce(enclaves[r], spec.KindConfigure, spec.Encode(&c))
		if err != nil {
			return fmt.Errorf("operator: configure %s: %w", spec.RoleName(r), err)
		}
		var st spec.Status
		last := outs[len(outs)-1]
		if last.Kind != spec.KindStatus || spec.Decode(last.Body, &st, spec.MaxBodyBytes(spec.KindStatus)) != nil || !st.Configured {
			return fmt.Errorf("operator: %s does not report itself configured", spec.RoleName(r))
		}
	}
	return nil
}

// InitAll calls Init on a replica's three compartments and checks each enrollment
// names its role and the replica.
func InitAll(enclaves [3]broker.Enclave, id uint64) ([3]spec.Enrollment, error) {
	return InitAllFor(enclaves, id, spec.Digest{})
}

// InitAllFor is InitAll for compartments started in the epoch whose configuration
// digest is challenge, which the entry points bind into the evidence (SPEC §7.1, §17.5).
func InitAllFor(enclaves [3]broker.Enclave, id uint64, challenge spec.Digest) ([3]spec.Enrollment, error) {
	var out [3]spec.Enrollment
	for r := spec.RolePrep; r <= spec.RoleExec; r++ {
		raw, err := enclaves[r].Init(spec.Encode(&spec.InitRequest{Role: r, Replica: id, Challenge: challenge}))
		if err != nil {
			return out, fmt.Errorf("operator: init %s: %w", spec.RoleName(r), err)
		}
		if err := spec.Decode(raw, &out[r], spec.MaxMessageBytes); err != nil {
			return out, fmt.Errorf("operator: %s enrollment: %w", spec.RoleName(r), err)
		}
		if out[r].Body.Role != r || out[r].Body.Replica != id {
			return out, fmt.Errorf("operator: %s enrolled as role %d replica %d", spec.RoleName(r), out[r].Body.Role, out[r].Body.Replica)
		}
	}
	return out, nil
}
