package spec

import (
	"bytes"
	"errors"
	"fmt"
)

// This file defines the messages of the recovery of a whole cluster (SPEC.md §17.8):
// when no enclave of the last epoch survives, the governance members authorise the
// next epoch (a RecoveryPlan), the fresh execs replay the persisted log from a
// certified base to the plan's head and vote on the state they reach, and the plan
// with q such votes (a Recovery) is the step of the chain that starts the new epoch.

// RecoveryPlanBody is what the members sign to authorise a recovery after
// configuration C (digest cd): the next epoch's configuration with its StartState
// still zero, and the certified state the replay starts from.
type RecoveryPlanBody struct {
	_        struct{} `cbor:",toarray"`
	Template []byte   // canonical Config: C' with StartState all zero; StartSeq is the replay's head
	Base     CheckpointCert
}

// RecoveryPlan is a member-signed RecoveryPlanBody, domain DomainRecoveryPlan under
// cd (rules RC1–RC4).
type RecoveryPlan struct {
	_    struct{} `cbor:",toarray"`
	Body RecoveryPlanBody
	Sigs []MemberSig
}

// Recovery is the chain step that starts a recovery epoch (kind KindRecovery): the
// plan, the configuration C' (the template with StartState set) and q votes of the
// execs of C' on it (kind KindRecoveryVote, domain DomainRecoveryVote under the
// digest of C), sorted by Replica.
type Recovery struct {
	_      struct{} `cbor:",toarray"`
	Plan   RecoveryPlan
	Config []byte // canonical Config encoding of C'
	Votes  []EpochVote
}

// Recover is the local input (kind KindRecover) that puts an unconfigured exec into
// recovery (SPEC.md §17.8): the last configuration C, the plan and the group key as
// an exec of C sealed it.
type Recover struct {
	_         struct{} `cbor:",toarray"`
	Prev      []byte   // canonical Config encoding of C
	Plan      RecoveryPlan
	SealedKey SealedGroupKey
	Lead      []LeadIn // empty, or one lead-in (rule RV6)
}

// LeadIn lets a replay reach a base that is C's genesis certificate when no snapshot
// of C's start state survives (SPEC.md §17.8, "Lead-in"): the replay starts under the
// earliest of Configs from Base, a certified state of that configuration, and
// crosses each later configuration's start, checking the state there against its
// StartState, until it runs under C.
type LeadIn struct {
	_       struct{} `cbor:",toarray"`
	Configs [][]byte // canonical Config encodings of the configurations before C, oldest first
	Base    CheckpointCert
}

// MaxLeadConfigs bounds LeadIn.Configs: the epochs a lead-in may cross.
const MaxLeadConfigs = 8

// VerifyLeadIn applies RV6 of SPEC.md §17.8 to the lead-in of a recover after prev
// (whose plan passed RC1–RC4): it returns the configurations E_1..E_k of the lead-in,
// decoded, oldest first, with the reason code of a rejection.
func VerifyLeadIn(prev *Config, plan *RecoveryPlan, lead *LeadIn, verify SigVerifier, admit KeyAdmitter) ([]*Config, uint64, error) {
	if len(lead.Configs) == 0 || len(lead.Configs) > MaxLeadConfigs {
		return nil, CodeBadConfig, fmt.Errorf("%w: RV6: a lead-in of %d configurations (1 to %d)", ErrRecovery, len(lead.Configs), MaxLeadConfigs)
	}
	cfgs := make([]*Config, len(lead.Configs))
	for i, raw := range lead.Configs {
		var c Config
		if err := Decode(raw, &c, MaxMessageBytes); err != nil || c.Validate(admit) != nil {
			return nil, CodeBadConfig, fmt.Errorf("%w: RV6: lead-in configuration %d does not decode or validate", ErrRecovery, i)
		}
		if c.ExecGroupKey != prev.ExecGroupKey {
			return nil, CodeBadConfig, fmt.Errorf("%w: RV6: lead-in configuration %d has another exec group key", ErrRecovery, i)
		}
		cfgs[i] = &c
	}
	for i, c := range cfgs {
		next := prev
		if i+1 < len(cfgs) {
			next = cfgs[i+1]
		}
		if next.Prev != ConfigDigest(c) || next.StartSeq < c.StartSeq {
			return nil, CodeBadConfig, fmt.Errorf("%w: RV6: lead-in configuration %d is not the one before the next", ErrRecovery, i)
		}
	}
	b := &plan.Body.Base
	if b.Seq != prev.StartSeq || b.State != prev.StartState || len(b.Proof) != 0 {
		return nil, CodeBadCertificate, fmt.Errorf("%w: RV6: a lead-in needs the plan's base to be the genesis certificate of the configuration recovered", ErrRecovery)
	}
	first, end := cfgs[0], prev.StartSeq
	if len(cfgs) > 1 {
		end = cfgs[1].StartSeq
	}
	if err := VerifyCheckpointCert(first, ConfigDigest(first), &lead.Base, verify); err != nil || lead.Base.Seq > end {
		return nil, CodeBadCertificate, fmt.Errorf("%w: RV6: lead-in base of seq %d invalid for epoch %d (its end %d): %v", ErrRecovery, lead.Base.Seq, first.Epoch, end, err)
	}
	return cfgs, 0, nil
}

// Sealed group key formats (SPEC.md §11.2a).
const (
	SealInsecure   uint64 = 0 // Data is the group private key itself: no protection (dev-insecure)
	SealEGoProduct uint64 = 1 // Data is EGo's SealWithProductKey output, additional data the group public key
)

// SealGet is the body of the local input KindSealKey: the broker asks its exec for
// the group key sealed for storage. It has no fields.
type SealGet struct {
	_ struct{} `cbor:",toarray"`
}

// SealedGroupKey is the exec group private key sealed for the broker's storage
// (kind KindSealedKey).
type SealedGroupKey struct {
	_      struct{} `cbor:",toarray"`
	Format uint64
	Data   []byte
}

// ErrRecovery is wrapped by every error of VerifyRecovery and VerifyPlan.
var ErrRecovery = errors.New("spec: invalid recovery")

// VerifyPlan applies RC1–RC4 of SPEC.md §17.8 to plan after prev (digest
// prevDigest) and returns the template. It is the check of exec (on recover),
// brokers, clients and tools.
func VerifyPlan(prev *Config, prevDigest Digest, plan *RecoveryPlan, verify SigVerifier, admit KeyAdmitter) (*Config, uint64, error) {
	var t Config
	if err := Decode(plan.Body.Template, &t, MaxMessageBytes); err != nil {
		return nil, CodeBadConfig, fmt.Errorf("%w: RC1: template does not decode: %v", ErrRecovery, err)
	}
	if t.Epoch != prev.Epoch+1 || t.Prev != prevDigest {
		return nil, CodeStale, fmt.Errorf("%w: RC1: epoch %d does not follow epoch %d", ErrRecovery, t.Epoch, prev.Epoch)
	}
	if prev.Threshold < 1 {
		return nil, CodeBadSignature, fmt.Errorf("%w: RC2: epoch %d has no members", ErrRecovery, prev.Epoch)
	}
	body := Encode(&plan.Body)
	seen := make(map[uint64]bool, len(plan.Sigs))
	for _, s := range plan.Sigs {
		if s.Member >= uint64(len(prev.Members)) || seen[s.Member] {
			continue
		}
		if verify(prev.Members[s.Member], SignedBytes(DomainRecoveryPlan, prevDigest, body), s.Sig) {
			seen[s.Member] = true
		}
	}
	if uint64(len(seen)) < prev.Threshold {
		return nil, CodeBadSignature, fmt.Errorf("%w: RC2: %d valid member signatures, want %d", ErrRecovery, len(seen), prev.Threshold)
	}
	if err := VerifyCheckpointCert(prev, prevDigest, &plan.Body.Base, verify); err != nil {
		return nil, CodeBadCertificate, fmt.Errorf("%w: RC3: base: %v", ErrRecovery, err)
	}
	if plan.Body.Base.Seq < prev.StartSeq || t.StartSeq < plan.Body.Base.Seq {
		return nil, CodeBadCertificate, fmt.Errorf("%w: RC3: base %d not in epoch %d or above the head %d", ErrRecovery, plan.Body.Base.Seq, prev.Epoch, t.StartSeq)
	}
	if err := t.Validate(admit); err != nil {
		return nil, CodeBadConfig, fmt.Errorf("%w: RC4: %v", ErrRecovery, err)
	}
	if !sameFrame(prev, &t) || t.StartState != (Digest{}) {
		return nil, CodeBadConfig, fmt.Errorf("%w: RC4: template changes n, f, name, K, L or the group key, or has a start state", ErrRecovery)
	}
	if err := freshOrCarried(prev, &t); err != nil {
		return nil, CodeDuplicate, fmt.Errorf("%w: RC4: %v", ErrRecovery, err)
	}
	return &t, 0, nil
}

// VerifyRecovery applies RC1–RC5 of SPEC.md §17.8 to r after prev and returns the
// configuration it starts.
func VerifyRecovery(prev *Config, prevDigest Digest, r *Recovery, verify SigVerifier, admit KeyAdmitter) (*Config, uint64, error) {
	t, code, err := VerifyPlan(prev, prevDigest, &r.Plan, verify, admit)
	if err != nil {
		return nil, code, err
	}
	var next Config
	if err := Decode(r.Config, &next, MaxMessageBytes); err != nil {
		return nil, CodeBadConfig, fmt.Errorf("%w: RC5: config does not decode: %v", ErrRecovery, err)
	}
	st := next.StartState
	next.StartState = Digest{}
	same := string(Encode(&next)) == string(r.Plan.Body.Template)
	next.StartState = st
	if !same {
		return nil, CodeBadConfig, fmt.Errorf("%w: RC5: config differs from the template in more than StartState", ErrRecovery)
	}
	nd := ConfigDigest(&next)
	if len(r.Votes) != prev.Quorum() {
		return nil, CodeBadCertificate, fmt.Errorf("%w: RC5: %d votes, want %d", ErrRecovery, len(r.Votes), prev.Quorum())
	}
	for i := range r.Votes {
		v := &r.Votes[i]
		if v.Body.Replica >= t.N || (i > 0 && v.Body.Replica <= r.Votes[i-1].Body.Replica) || v.Body.Next != nd {
			return nil, CodeBadCertificate, fmt.Errorf("%w: RC5: vote %d (replica %d) out of order, unknown or for another configuration", ErrRecovery, i, v.Body.Replica)
		}
		key := next.Replicas[v.Body.Replica].Exec.Body.SignKey
		if !verify(key, SignedBytes(DomainRecoveryVote, prevDigest, Encode(&v.Body)), v.Sig) {
			return nil, CodeBadCertificate, fmt.Errorf("%w: RC5: vote of replica %d: bad signature", ErrRecovery, v.Body.Replica)
		}
	}
	return &next, 0, nil
}

// freshOrCarried checks the key rule of RC4: every replica's slot in t is fresh (no
// signing or box key of it appears in prev) or carried over from prev (its three
// enrollments encode exactly as that replica's in prev: an absent replica), and at
// most prev.F slots are carried over. The caller has checked that t and prev have
// the same N.
func freshOrCarried(prev, t *Config) error {
	if len(prev.Replicas) != len(t.Replicas) {
		return fmt.Errorf("%d replicas, epoch %d has %d", len(t.Replicas), prev.Epoch, len(prev.Replicas))
	}
	old := make(map[PublicKey]bool)
	for i := range prev.Replicas {
		for _, e := range slotOf(&prev.Replicas[i]) {
			old[e.Body.SignKey] = true
			if e.Body.BoxKey != (PublicKey{}) {
				old[e.Body.BoxKey] = true
			}
		}
	}
	carried := 0
	for i := range t.Replicas {
		if sameSlot(&prev.Replicas[i], &t.Replicas[i]) {
			carried++
			continue
		}
		for _, e := range slotOf(&t.Replicas[i]) {
			if old[e.Body.SignKey] {
				return fmt.Errorf("replica %d: key %x of epoch %d reused in a slot that is not carried over whole", i, e.Body.SignKey[:8], prev.Epoch)
			}
			if e.Body.BoxKey != (PublicKey{}) && old[e.Body.BoxKey] {
				return fmt.Errorf("replica %d: box key %x of epoch %d reused in a slot that is not carried over whole", i, e.Body.BoxKey[:8], prev.Epoch)
			}
		}
	}
	if uint64(carried) > prev.F {
		return fmt.Errorf("%d replicas carried over from epoch %d, at most f = %d", carried, prev.Epoch, prev.F)
	}
	return nil
}

func slotOf(r *ReplicaConfig) [3]*Enrollment { return [3]*Enrollment{&r.Prep, &r.Conf, &r.Exec} }

// sameSlot reports whether b's three enrollments encode exactly as a's.
func sameSlot(a, b *ReplicaConfig) bool {
	x, y := slotOf(a), slotOf(b)
	for k := range x {
		if !bytes.Equal(Encode(x[k]), Encode(y[k])) {
			return false
		}
	}
	return true
}

// VerifyCheckpointCert applies K1–K5 of SPEC.md §5.1 to c under cfg (digest cd).
func VerifyCheckpointCert(cfg *Config, cd Digest, c *CheckpointCert, verify SigVerifier) error {
	if c.Seq == cfg.StartSeq {
		if c.State != cfg.StartState || len(c.Proof) != 0 {
			return fmt.Errorf("K1: the epoch's start %d with another state or a proof", c.Seq)
		}
		return nil
	}
	if c.Seq < cfg.StartSeq || c.Seq%cfg.CheckpointInterval != 0 || len(c.Proof) != cfg.Quorum() {
		return fmt.Errorf("K2: seq %d with %d checkpoints (start %d, K = %d, q = %d)", c.Seq, len(c.Proof), cfg.StartSeq, cfg.CheckpointInterval, cfg.Quorum())
	}
	for i := range c.Proof {
		b := &c.Proof[i].Body
		switch {
		case b.Replica >= cfg.N || (i > 0 && b.Replica <= c.Proof[i-1].Body.Replica):
			return fmt.Errorf("K3: replica %d out of order or not in the configuration", b.Replica)
		case b.Seq != c.Seq || b.State != c.State:
			return fmt.Errorf("K4: checkpoint of replica %d is for another seq or state", b.Replica)
		case !verify(cfg.Replicas[b.Replica].Exec.Body.SignKey, SignedBytes(DomainCheckpoint, cd, Encode(b)), c.Proof[i].Sig):
			return fmt.Errorf("K5: signature of replica %d invalid", b.Replica)
		}
	}
	return nil
}

// Step is one step of the configuration chain (SPEC.md §17.1, §17.8): exactly one of
// Change (an epoch change certified by the execs of the epoch it ends) or Recovery (a
// recovery authorised by the members). It encodes as the one it holds, so a chain of
// epoch changes encodes as before.
type Step struct {
	Change   *EpochChange
	Recovery *Recovery
}

// ChangeStep and RecoveryStep wrap one step.
func ChangeStep(ec EpochChange) Step { return Step{Change: &ec} }
func RecoveryStep(r Recovery) Step   { return Step{Recovery: &r} }

// MarshalCBOR encodes the step as the EpochChange or Recovery it holds.
func (s Step) MarshalCBOR() ([]byte, error) {
	switch {
	case s.Change != nil && s.Recovery == nil:
		return encMode.Marshal(s.Change)
	case s.Recovery != nil && s.Change == nil:
		return encMode.Marshal(s.Recovery)
	}
	return nil, errors.New("spec: a chain step holds exactly one of an epoch change or a recovery")
}

// UnmarshalCBOR decodes an EpochChange (a 2-element array) or a Recovery (3 elements).
func (s *Step) UnmarshalCBOR(b []byte) error {
	var ec EpochChange
	if err := decMode.Unmarshal(b, &ec); err == nil {
		*s = Step{Change: &ec}
		return nil
	}
	var r Recovery
	if err := decMode.Unmarshal(b, &r); err != nil {
		return fmt.Errorf("spec: chain step is neither an epoch change nor a recovery: %v", err)
	}
	*s = Step{Recovery: &r}
	return nil
}

// ConfigBytes returns the canonical encoding of the configuration the step starts.
func (s *Step) ConfigBytes() []byte {
	if s.Recovery != nil {
		return s.Recovery.Config
	}
	if s.Change != nil {
		return s.Change.Config
	}
	return nil
}

// VerifyStep verifies one step after prev (EC1–EC4 for an epoch change, RC1–RC5 for
// a recovery) for a party whose stable sequence number is h, and returns the
// configuration it starts.
func VerifyStep(prev *Config, prevDigest Digest, h uint64, s *Step, verify SigVerifier, admit KeyAdmitter) (*Config, error) {
	switch {
	case s.Change != nil && s.Recovery == nil:
		return VerifyEpochChange(prev, prevDigest, h, s.Change, verify, admit)
	case s.Recovery != nil && s.Change == nil:
		next, _, err := VerifyRecovery(prev, prevDigest, s.Recovery, verify, admit)
		return next, err
	}
	return nil, fmt.Errorf("%w: empty chain step", ErrEpoch)
}

// VerifySteps verifies steps in order from the trusted configuration start and
// returns the configuration reached (start itself when steps is empty).
func VerifySteps(start *Config, steps []Step, verify SigVerifier, admit KeyAdmitter) (*Config, error) {
	cur := start
	for i := range steps {
		next, err := VerifyStep(cur, ConfigDigest(cur), cur.StartSeq, &steps[i], verify, admit)
		if err != nil {
			return nil, fmt.Errorf("chain step %d: %w", i, err)
		}
		cur = next
	}
	return cur, nil
}
