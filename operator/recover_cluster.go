package operator

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/splitbft/splitbft/attest"
	"github.com/splitbft/splitbft/broker"
	"github.com/splitbft/splitbft/spec"
)

// The members' tool of the recovery of a whole cluster (SPEC.md §17.8,
// `splitbft recover-cluster`): it collects an offer from every replica the members
// did not declare absent (at most f; their slots are carried over), verifies each
// from the configuration the members trust, chooses the highest certified head (ties:
// the highest base), builds the template of the next epoch from the offers' fresh
// enrollments, signs the plan with the member keys it holds and delivers it.

// RecoverClusterOptions configure RecoverCluster.
type RecoverClusterOptions struct {
	T        *Template            // the cluster's template: addresses and build policies
	Trusted  []byte               // the genesis configuration the members trust (canonical bytes)
	Keys     []ed25519.PrivateKey // member keys; at least the threshold of the last configuration
	Head     uint64               // a lower head than the highest offered, explicitly (0: the highest)
	Absent   []uint64             // replicas recovered without: no offer asked, slot carried over (at most f)
	Verifier attest.Verifier      // enrollment evidence; default attest.DefaultVerifier()
	Timeout  time.Duration        // for collecting every offer; default 30s
}

// RecoveryChoice is what RecoverCluster chose and delivered.
type RecoveryChoice struct {
	Epoch       uint64   // the recovery epoch
	Base        uint64   // the certified state the replay starts from
	Head        uint64   // the last batch it replays
	Source      uint64   // the replica whose offer was chosen
	LeadFrom    uint64   // with a lead-in (LeadEpochs > 0): the seq the replay starts from, in an earlier epoch
	LeadEpochs  int      // the epochs before Epoch−1 the lead-in replays (0: none)
	AtHead      int      // offers whose head reaches Head
	Proven      int      // offers whose base and head certificates verify
	Offers      int      // offers (one per replica not absent)
	Absent      []uint64 // replicas left out, their slots carried over from the last configuration
	F           uint64   // faults tolerated per compartment type
	Insecure    []uint64
	Delivered   []uint64 // replicas that accepted the plan
	Refused     []string // replicas that did not, with why
	Gateways    []uint64 // replicas whose gateway the plan registers as it runs now
	GatewaysNot []string // replicas with a gateway the plan does not register, with why (re-admit it later)
}

// RecoverCluster runs the tool (see the section comment).
func RecoverCluster(ctx context.Context, opt RecoverClusterOptions) (*RecoveryChoice, error) {
	if opt.Verifier == nil {
		opt.Verifier = attest.DefaultVerifier()
	}
	if err := CheckAbsent(opt.T, opt.Absent); err != nil {
		return nil, err
	}
	if err := probeAbsent(ctx, opt.T, opt.Absent); err != nil {
		return nil, err
	}
	offers, cfg, err := collectOffers(ctx, &opt)
	if err != nil {
		return nil, err
	}
	cd := spec.ConfigDigest(cfg)
	ch, src, err := choose(offers, cfg, cd, opt.Head)
	if err != nil {
		return nil, err
	}
	ch.Absent = slices.Sorted(slices.Values(opt.Absent))
	var gws []*spec.GatewayEnrollment
	gws, ch.Gateways, ch.GatewaysNot = recoveryGateways(&opt, offers)
	plan, err := buildPlan(cfg, cd, offers, src, gws, opt.Keys)
	if err != nil {
		return nil, err
	}
	for _, o := range offers {
		if o.HasKey && o.KeyFormat == spec.SealInsecure {
			ch.Insecure = append(ch.Insecure, o.Replica)
		}
	}
	post := spec.Encode(&RecoveryPost{Plan: *plan, Source: src.Replica, Lead: src.Lead})
	for _, o := range offers {
		i := o.Replica
		if err := postPlan(ctx, opt.T.Replicas[i].Status, post); err != nil {
			ch.Refused = append(ch.Refused, fmt.Sprintf("replica %d: %v", i, err))
		} else {
			ch.Delivered = append(ch.Delivered, i)
		}
	}
	return ch, nil
}

// CheckAbsent checks the replicas declared absent: known, distinct, at most f.
func CheckAbsent(t *Template, absent []uint64) error {
	f := (t.N - 1) / 3
	for k, r := range absent {
		switch {
		case r >= t.N:
			return fmt.Errorf("operator: --absent %d: the cluster has replicas 0..%d", r, t.N-1)
		case slices.Contains(absent[:k], r):
			return fmt.Errorf("operator: --absent %d given twice", r)
		}
	}
	if uint64(len(absent)) > f {
		return fmt.Errorf("operator: %d replicas declared absent; a recovery can leave out at most f = %d (the rest must vote: SPEC §17.8)", len(absent), f)
	}
	return nil
}

// probeAbsent refuses when a replica declared absent answers on its status port: a
// replica that runs, or waits to offer, is not absent, and leaving it out would leave
// it with compartments that cannot serve the recovered epoch, or an offer (maybe the
// highest head) unread (SPEC §17.8, "Absent replicas").
func probeAbsent(ctx context.Context, t *Template, absent []uint64) error {
	for _, i := range absent {
		_, err := httpGet(ctx, t.Replicas[i].Status, "/status", 2*time.Second, 1<<20)
		var se *statusError
		if err == nil || errors.As(err, &se) {
			return fmt.Errorf("operator: replica %d, declared absent, answers on its status port %s: let it offer (start it with its usual command, without --absent), or stop it first", i, t.Replicas[i].Status)
		}
	}
	return nil
}

// collectOffers polls every replica's GET /recovery until all answered with an offer
// whose chain verifies from the trusted genesis and whose enrollments pass the
// template's policy, all ending in the same configuration (returned). An offer whose
// chain is behind another's (its replica was killed before it recorded the last
// recovery) is asked again: that replica's broker gets the missing step from its
// peers and stops, and started again it offers for the configuration reached.
// Replicas in opt.Absent are not asked. It returns the offers in replica order.
func collectOffers(ctx context.Context, opt *RecoverClusterOptions) ([]*RecoveryOffer, *spec.Config, error) {
	ctx, cancel := context.WithTimeout(ctx, cmpOr(opt.Timeout, 30*time.Second))
	defer cancel()
	offers := make([]*RecoveryOffer, opt.T.N)
	cfgs := make([]*spec.Config, opt.T.N)
	errs := make([]error, opt.T.N)
	asked := func(i uint64) bool { return !slices.Contains(opt.Absent, i) }
	for {
		for i := range opt.T.N {
			if offers[i] == nil && asked(i) {
				offers[i], cfgs[i], errs[i] = fetchOffer(ctx, opt, i)
			}
		}
		if cfg, ok := sameEnd(offers, cfgs, errs, asked); ok {
			return slices.DeleteFunc(offers, func(o *RecoveryOffer) bool { return o == nil }), cfg, nil
		}
		if sleepCtx(ctx, 200*time.Millisecond) != nil {
			var why []string
			for i, e := range errs {
				if e != nil {
					why = append(why, fmt.Sprintf("replica %d: %v", i, e))
				}
			}
			return nil, nil, fmt.Errorf("operator: recover-cluster needs an offer from every replica not declared absent (--absent, at most f), for one configuration; missing: %s", strings.Join(why, "; "))
		}
	}
}

// sameEnd reports whether every replica asked offered, all for the same
// configuration. Offers for an earlier epoch than the latest are dropped (to be
// asked again) with the reason in errs.
func sameEnd(offers []*RecoveryOffer, cfgs []*spec.Config, errs []error, asked func(uint64) bool) (*spec.Config, bool) {
	var last *spec.Config
	for i := range offers {
		if offers[i] != nil && (last == nil || cfgs[i].Epoch > last.Epoch) {
			last = cfgs[i]
		}
	}
	all := last != nil
	for i := range offers {
		switch {
		case offers[i] == nil:
			all = all && !asked(uint64(i))
		case spec.ConfigDigest(cfgs[i]) != spec.ConfigDigest(last):
			errs[i] = fmt.Errorf("its chain ends in epoch %d, another's in epoch %d: it catches up from its peers and stops; start it again with the same command", cfgs[i].Epoch, last.Epoch)
			offers[i], all = nil, false
		}
	}
	return last, all
}

// fetchOffer fetches and checks replica i's offer.
func fetchOffer(ctx context.Context, opt *RecoverClusterOptions, i uint64) (*RecoveryOffer, *spec.Config, error) {
	raw, err := httpGet(ctx, opt.T.Replicas[i].Status, RecoveryPath, 10*time.Second, maxOfferBody)
	var se *statusError
	if errors.As(err, &se) && se.code == http.StatusNotFound {
		return nil, nil, fmt.Errorf("%w (it runs, as its peers did not when they restarted: stop it and start it again with the same command, and it offers)", err)
	}
	if err != nil {
		return nil, nil, err
	}
	var o RecoveryOffer
	if err := spec.Decode(raw, &o, maxOfferBody); err != nil {
		return nil, nil, fmt.Errorf("offer does not decode: %w", err)
	}
	if o.Replica != i {
		return nil, nil, fmt.Errorf("offer of replica %d served at replica %d's address", o.Replica, i)
	}
	cfg, err := VerifyChain(opt.Trusted, &o.Chain)
	if err != nil {
		return nil, nil, err
	}
	if err := checkOfferEnrollments(opt, i, o.Enrollments, cfg); err != nil {
		return nil, nil, err
	}
	return &o, cfg, nil
}

// checkOfferEnrollments checks replica i's fresh enrollments as §17.8 asks: one per
// role in the template's slots, and evidence admitted under the build policies of
// cfg (the configuration being recovered, which upgrades may have changed since
// formation) with the challenge its fresh enclaves were started with, cfg's digest.
func checkOfferEnrollments(opt *RecoverClusterOptions, i uint64, enr []spec.Enrollment, cfg *spec.Config) error {
	if len(enr) != 3 {
		return fmt.Errorf("operator: replica %d offered %d enrollments, want 3", i, len(enr))
	}
	cd := spec.ConfigDigest(cfg)
	for r := spec.RolePrep; r <= spec.RoleExec; r++ {
		if err := opt.T.CheckSlot(i, r, &enr[r]); err != nil {
			return fmt.Errorf("operator: %w", err)
		}
		if err := attest.CheckEnrollmentFor(&enr[r], cfg, opt.Verifier, cd); err != nil {
			return err
		}
	}
	return nil
}

// choose picks the offer with the highest verified head (ties: the shorter replay,
// shorterReplay), or the one reaching want exactly when want > 0.
func choose(offers []*RecoveryOffer, cfg *spec.Config, cd spec.Digest, want uint64) (*RecoveryChoice, *RecoveryOffer, error) {
	var best *RecoveryOffer
	ch := &RecoveryChoice{Epoch: cfg.Epoch + 1, Offers: len(offers), F: cfg.F}
	var heads []uint64
	for _, o := range offers {
		if err := checkOfferProofs(o, cfg, cd); err != nil {
			heads = append(heads, 0)
			continue
		}
		ch.Proven++
		heads = append(heads, o.Head)
		if best == nil || o.Head > best.Head || (o.Head == best.Head && shorterReplay(o, best)) {
			best = o
		}
	}
	if best == nil {
		return nil, nil, fmt.Errorf("operator: no offer proves a certified state (a base with its snapshot) of epoch %d", cfg.Epoch)
	}
	if want > 0 && want != best.Head {
		return nil, nil, fmt.Errorf("operator: --head %d: the highest certified head offered is %d; a lower head loses the writes acknowledged above it, and this tool replays to the head of a chosen offer only", want, best.Head)
	}
	for _, h := range heads {
		ch.AtHead += b2i(h >= best.Head)
	}
	ch.Base, ch.Head, ch.Source = best.Base.Seq, best.Head, best.Replica
	if len(best.Lead) > 0 {
		ch.LeadFrom, ch.LeadEpochs = best.Lead[0].Base.Seq, len(best.Lead[0].Configs)
	}
	return ch, best, nil
}

// shorterReplay reports whether, at equal heads, a replay from o's base is shorter
// than from b's: a higher base, then no lead-in, then a lead-in from a higher seq.
func shorterReplay(o, b *RecoveryOffer) bool {
	switch {
	case o.Base.Seq != b.Base.Seq:
		return o.Base.Seq > b.Base.Seq
	case len(o.Lead) == 0 || len(b.Lead) == 0:
		return len(o.Lead) < len(b.Lead)
	}
	return o.Lead[0].Base.Seq > b.Lead[0].Base.Seq
}

// recoveryGateways returns the gateway enrollments the offers carry (the gateway each
// replica started for the recovery), each admitted as at formation (GW1–GW6 under
// the template, CheckGateway), for the plan to register (SPEC §16.2, §17.8); the
// replicas they are for; and, for each replica whose template entry has a gateway
// that this does not hold for (none in its offer, or refused), why: the members
// re-admit that one once the cluster runs. It reads only the offers, so the plan is
// the same each time the tool runs.
func recoveryGateways(opt *RecoverClusterOptions, offers []*RecoveryOffer) ([]*spec.GatewayEnrollment, []uint64, []string) {
	var gws []*spec.GatewayEnrollment
	var ok []uint64
	var not []string
	for _, o := range offers {
		if o.Replica >= opt.T.N || opt.T.Replicas[o.Replica].Redis == "" {
			continue
		}
		var a spec.GatewayAttestation
		err := errors.New("its offer carries no gateway attestation")
		if len(o.Gateway) > 0 {
			if err = spec.Decode(o.Gateway, &a, maxFormationBody); err == nil {
				err = opt.T.CheckGateway(o.Replica, &a, opt.Verifier)
			}
		}
		if err != nil {
			not = append(not, fmt.Sprintf("replica %d: %v", o.Replica, err))
			continue
		}
		gws, ok = append(gws, &a.Enrollment), append(ok, o.Replica)
	}
	return gws, ok, not
}

// buildPlan builds the template (C with the offers' fresh enrollments, the slots of
// replicas that did not offer carried over, the registrations of the gateways gws
// replacing those of their client ids that C registers, the next epoch, Prev = cd,
// StartSeq = the head, no start state) and signs the plan.
func buildPlan(cfg *spec.Config, cd spec.Digest, offers []*RecoveryOffer, src *RecoveryOffer, gws []*spec.GatewayEnrollment, keys []ed25519.PrivateKey) (*spec.RecoveryPlan, error) {
	var t spec.Config
	if err := spec.Decode(spec.Encode(cfg), &t, spec.MaxMessageBytes); err != nil {
		return nil, err
	}
	t.Epoch, t.Prev, t.StartSeq, t.StartState = cfg.Epoch+1, cd, src.Head, spec.Digest{}
	for _, o := range offers {
		for role := spec.RolePrep; role <= spec.RoleExec; role++ {
			*t.Enrollment(role, o.Replica) = o.Enrollments[role]
		}
	}
	for _, g := range gws {
		for _, reg := range g.Registrations() {
			if c := t.Client(reg.ID); c != nil { // ids the configuration no longer registers stay out
				*c = reg
			}
		}
	}
	if err := t.Validate(broker.AdmitKey); err != nil {
		return nil, fmt.Errorf("operator: the recovery template is invalid: %w", err)
	}
	plan := &spec.RecoveryPlan{Body: spec.RecoveryPlanBody{Template: spec.Encode(&t), Base: src.Base}}
	msg := spec.SignedBytes(spec.DomainRecoveryPlan, cd, spec.Encode(&plan.Body))
	for _, k := range keys {
		pub := spec.PublicKey(k.Public().(ed25519.PublicKey))
		i := slices.Index(cfg.Members, pub)
		if i < 0 {
			return nil, fmt.Errorf("operator: key %x… is not a member of the configuration of epoch %d", pub[:6], cfg.Epoch)
		}
		if slices.ContainsFunc(plan.Sigs, func(s spec.MemberSig) bool { return s.Member == uint64(i) }) {
			return nil, fmt.Errorf("operator: member %d's key given twice", i)
		}
		plan.Sigs = append(plan.Sigs, spec.MemberSig{Member: uint64(i), Sig: spec.Signature(ed25519.Sign(k, msg))})
	}
	slices.SortFunc(plan.Sigs, func(a, b spec.MemberSig) int { return int(a.Member) - int(b.Member) })
	if _, _, err := spec.VerifyPlan(cfg, cd, plan, verifyEd, broker.AdmitKey); err != nil {
		return nil, fmt.Errorf("operator: %w (the configuration of epoch %d needs %d member signatures)", err, cfg.Epoch, cfg.Threshold)
	}
	return plan, nil
}

// postPlan delivers the plan to one replica's status port.
func postPlan(ctx context.Context, addr string, body []byte) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+RecoveryPath, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/cbor")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(msg)))
	}
	return nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
