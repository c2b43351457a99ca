package operator

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/splitbft/splitbft/attest"
	"github.com/splitbft/splitbft/broker"
	"github.com/splitbft/splitbft/spec"
)

// Formation: how the replicas of a template agree on one configuration, over HTTP on
// their status addresses, with nothing trusted in transit (every enrollment is checked
// against its evidence, the shares are sealed to the execs, the Config is a pure
// function of what every replica checked):
//
//	GET /enrollments  CBOR ReplicaEnrollments: the replica's three enrollments (after Init)
//	GET /group-key    CBOR spec.GroupKeyShares: the dealer's shares, one per exec in
//	                  replica order (served by the dealer, the lowest replica id, once dealt)
//	GET /config       the canonical spec.Config, once this replica has configured its compartments
//	GET /gateway-enrollment  CBOR spec.GatewayAttestation of the replica's gateway, if it runs one (gateway_enroll.go)
//
// A resource that is not ready yet answers 503; clients poll.

// Dealer is the replica whose exec deals the exec group key: the lowest id.
const Dealer uint64 = 0

// ReplicaEnrollments is the body of GET /enrollments.
type ReplicaEnrollments struct {
	_           struct{} `cbor:",toarray"`
	Replica     uint64
	Enrollments []spec.Enrollment // prep, conf, exec
}

// maxFormationBody caps the formation documents a replica accepts from a peer.
const maxFormationBody = 16 << 20

// Former runs one replica's side of formation.
type Former struct {
	T        *Template       // the cluster template, identical on every replica
	ID       uint64          // this replica
	Verifier attest.Verifier // checks ego-sgx evidence (attest.DefaultVerifier)
	Log      *slog.Logger
	Every    time.Duration // polling period; default 100ms
	Timeout  time.Duration // per HTTP request; default 2s
	// Gateway is this replica's gateway's attestation (SPEC.md §16.2), nil when the
	// template gives it no gateway.
	Gateway *spec.GatewayAttestation
}

func (f *Former) every() time.Duration   { return cmpOr(f.Every, 100*time.Millisecond) }
func (f *Former) timeout() time.Duration { return cmpOr(f.Timeout, 2*time.Second) }

func cmpOr(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// CheckReplica checks one replica's three enrollments against the template: each is
// in its slot with its assigned build, and its evidence is admitted by the template's
// policy (attest.CheckEnrollment).
func (f *Former) CheckReplica(id uint64, enr []spec.Enrollment) error {
	if len(enr) != 3 {
		return fmt.Errorf("operator: replica %d sent %d enrollments, want 3", id, len(enr))
	}
	pol, err := f.T.PolicyConfig()
	if err != nil {
		return err
	}
	for r := spec.RolePrep; r <= spec.RoleExec; r++ {
		if err := f.T.CheckSlot(id, r, &enr[r]); err != nil {
			return fmt.Errorf("operator: %w", err)
		}
		if err := attest.CheckEnrollment(enr[r], pol, f.Verifier); err != nil {
			return err
		}
	}
	return nil
}

// Gather returns every replica's enrollments: own for this replica, and each peer's
// from its GET /enrollments, polled until all have answered. A peer whose enrollments
// fail CheckReplica ends formation with that error.
func (f *Former) Gather(ctx context.Context, own [3]spec.Enrollment) ([][3]spec.Enrollment, error) {
	all := make([][3]spec.Enrollment, f.T.N)
	if err := f.CheckReplica(f.ID, own[:]); err != nil {
		return nil, fmt.Errorf("own compartments: %w", err)
	}
	all[f.ID] = own
	missing := map[uint64]bool{}
	for i := range f.T.N {
		missing[i] = i != f.ID
	}
	for polls := 0; ; polls++ {
		for i := range f.T.N {
			if !missing[i] {
				continue
			}
			got, err := f.fetchEnrollments(ctx, i)
			if err != nil {
				if _, fatal := err.(*fatalError); fatal {
					return nil, err
				}
				continue
			}
			all[i], missing[i] = got, false
			f.Log.Info("enrollments received", "peer", i)
		}
		if len(missingIDs(missing)) == 0 {
			return all, nil
		}
		if polls%50 == 49 {
			f.Log.Info("waiting for peers' enrollments", "missing", missingIDs(missing))
		}
		if err := sleepCtx(ctx, f.every()); err != nil {
			return nil, err
		}
	}
}

// fatalError is a formation error that polling again cannot fix.
type fatalError struct{ err error }

func (e *fatalError) Error() string { return e.err.Error() }
func (e *fatalError) Unwrap() error { return e.err }

// fetchEnrollments fetches and checks replica i's enrollments once.
func (f *Former) fetchEnrollments(ctx context.Context, i uint64) ([3]spec.Enrollment, error) {
	var out [3]spec.Enrollment
	raw, err := httpGet(ctx, f.T.Replicas[i].Status, "/enrollments", f.timeout(), maxFormationBody)
	if err != nil {
		return out, err
	}
	var re ReplicaEnrollments
	if err := spec.Decode(raw, &re, maxFormationBody); err != nil || re.Replica != i {
		return out, &fatalError{fmt.Errorf("operator: replica %d served enrollments that do not decode or are for replica %d: %v", i, re.Replica, err)}
	}
	if err := f.CheckReplica(i, re.Enrollments); err != nil {
		return out, &fatalError{fmt.Errorf("operator: replica %d not admitted: %w", i, err)}
	}
	copy(out[:], re.Enrollments)
	return out, nil
}

// GroupKey returns the shares of the exec group key: dealt by this replica's exec
// when it is the Dealer (publish then serves them to peers before they are used
// here), or polled from the dealer's GET /group-key. Either way they pass
// CheckShares against all.
func (f *Former) GroupKey(ctx context.Context, all [][3]spec.Enrollment, exec broker.Enclave, publish func([]byte)) ([]spec.GroupKeyShare, error) {
	if f.ID == Dealer {
		shares, err := DealGroupKey(exec, Dealer, all)
		if err != nil {
			return nil, err
		}
		publish(spec.Encode(&spec.GroupKeyShares{Shares: shares}))
		return shares, nil
	}
	for {
		raw, err := httpGet(ctx, f.T.Replicas[Dealer].Status, "/group-key", f.timeout(), maxFormationBody)
		if err == nil {
			shares, err := f.checkDeal(raw, all)
			var kc *KeyChangedError
			// The dealer's own share (share 0) or its signature names an exec key its
			// gathered enrollments do not have.
			if errors.As(err, &kc) && kc.Replica == Dealer && f.ID != Dealer && f.dealerRestarted(ctx, all, kc.Key) {
				return f.checkDeal(raw, all)
			}
			return shares, err
		}
		if err := sleepCtx(ctx, f.every()); err != nil {
			return nil, err
		}
	}
}

// dealerRestarted handles a deal from an exec key the dealer's gathered enrollments
// do not have: the dealer restarted after this replica gathered them (SPEC §13.4,
// "Restarted during formation"). It fetches the dealer's enrollments again and, if
// they are admitted and their exec has key, takes them in place of the earlier ones
// (all[Dealer]) and reports true; the configuration is then assembled with them.
func (f *Former) dealerRestarted(ctx context.Context, all [][3]spec.Enrollment, key spec.PublicKey) bool {
	got, err := f.fetchEnrollments(ctx, Dealer)
	if err != nil || got[spec.RoleExec].Body.BoxKey != key {
		return false
	}
	f.Log.Warn("the dealer restarted during formation: its deal is from its new compartments, whose enrollments replace those gathered before", "dealer", Dealer)
	all[Dealer] = got
	return true
}

// checkDeal decodes and checks the dealer's shares.
func (f *Former) checkDeal(raw []byte, all [][3]spec.Enrollment) ([]spec.GroupKeyShare, error) {
	var gs spec.GroupKeyShares
	if err := spec.Decode(raw, &gs, spec.MaxBodyBytes(spec.KindGroupKeyShares)); err != nil {
		return nil, fmt.Errorf("operator: the dealer's group key shares do not decode: %w", err)
	}
	// This replica's own share first: a share for an exec key it no longer has means
	// it restarted during formation (formOrJoin then joins), whichever other shares
	// are also stale.
	if f.ID < uint64(len(gs.Shares)) && f.ID < uint64(len(all)) {
		if s := gs.Shares[f.ID]; s.Recipient != all[f.ID][spec.RoleExec].Body.BoxKey && !knownExec(all, s.Recipient) {
			return nil, &KeyChangedError{Share: int(f.ID), Replica: f.ID, What: "for", Key: s.Recipient}
		}
	}
	if _, err := CheckShares(gs.Shares, Dealer, all); err != nil {
		return nil, err // a *KeyChangedError says which replica restarted
	}
	return gs.Shares, nil
}

// Form runs Gather, GatherGateways and GroupKey, then assembles the configuration and checks the
// evidence of all its enrollments once more as a whole (attest.CheckConfig). It
// returns the configuration and this replica's exec share.
func (f *Former) Form(ctx context.Context, own [3]spec.Enrollment, exec broker.Enclave, publish func([]byte)) (*spec.Config, spec.GroupKeyShare, error) {
	all, err := f.Gather(ctx, own)
	if err != nil {
		return nil, spec.GroupKeyShare{}, err
	}
	gw, err := f.GatherGateways(ctx, f.Gateway)
	if err != nil {
		return nil, spec.GroupKeyShare{}, err
	}
	shares, err := f.GroupKey(ctx, all, exec, publish)
	if err != nil {
		return nil, spec.GroupKeyShare{}, err
	}
	cfg, err := Assemble(f.T, all, gw, shares[0].GroupKey)
	if err != nil {
		return nil, spec.GroupKeyShare{}, err
	}
	if err := attest.Rejected(attest.CheckConfig(cfg, f.Verifier)); err != nil {
		return nil, spec.GroupKeyShare{}, err
	}
	return cfg, shares[f.ID], nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func missingIDs(m map[uint64]bool) []uint64 {
	var out []uint64
	for id, miss := range m {
		if miss {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}
