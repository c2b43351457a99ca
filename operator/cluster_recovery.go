package operator

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/splitbft/splitbft/broker"
	"github.com/splitbft/splitbft/broker/ledger"
	"github.com/splitbft/splitbft/broker/tcpnet"
	"github.com/splitbft/splitbft/spec"
)

// The replica's side of the recovery of a whole cluster (SPEC.md §17.8). A replica
// that restarts on a directory holding its chain and a ledger, and finds its peers not
// serving the chain (awaitChain: in rounds of RecoveryGrace), starts fresh compartments for the chain's
// last configuration C (Init with Challenge = cd), runs its broker in C with prep and
// conf held down, serves its offer at GET /recovery and waits for the members' plan
// (POST /recovery). With a valid plan (RC1–RC4) it gives its exec recover, the base
// snapshot's chunks and the batches and COMMITs up to the head (from its ledger, or
// from the chosen replica), and the broker routes recovery votes; the recovery its
// exec or a peer emits is adopted like an epoch change (broker.BeginRecovery).

// PhaseRecovering is the phase of a replica waiting for, or running, a recovery of
// the whole cluster.
const PhaseRecovering = "recovering"

// defaultRecoveryGrace is the round in which a restarting replica waits for f+1 peers
// serving the chain (awaitChain).
const defaultRecoveryGrace = 5 * time.Second

// clusterRec is a recovery of the whole cluster at this replica.
type clusterRec struct {
	cfg    *spec.Config // C, the chain's last configuration
	cd     spec.Digest
	chain  *Chain
	ledCfg *spec.Config // the configuration its ledger starts with (names its directory)

	mu    sync.Mutex
	led   *ledger.Ledger // once run opened it
	offer []byte         // enc(RecoveryOffer), once the ledger is open
	post  *RecoveryPost  // the plan accepted, once one is
	done  bool           // the recovery was adopted
}

// localChain returns the chain this replica's directory holds (ChainFile, verified
// from genesis), the configuration it reaches and the configuration of the ledger
// that ends in it, or an error when there is nothing to recover from. The broker
// queues an epoch's record for its ledger (written asynchronously) before it writes
// ChainFile, so a kill in between leaves either one ahead of the other:
//   - a ledger that recorded steps after the chain file's end lends them
//     (ledgerSteps): the replica recovers in the epoch its ledger ends in; so does
//     one whose chain file does not decode (torn by a kill while an older version
//     rewrote it in place), from its genesis ledger's epoch records;
//   - when no ledger ends in the chain's last configuration with a sealed group key,
//     it drops steps from the end of the chain until one does: the replica wrote a
//     step to ChainFile before its ledger recorded that epoch, and it recovers as a
//     replica behind its peers, which forward it the steps it lacks (SPEC §17.8).
func localChain(dir string, id uint64, genesis []byte) (*Chain, *spec.Config, *spec.Config, error) {
	c := &Chain{Genesis: genesis}
	var torn error
	if raw, err := os.ReadFile(replicaPath(dir, id, ChainFile)); err == nil {
		if err := spec.Decode(raw, c, maxChainBody); err != nil {
			torn = fmt.Errorf("operator: %s: %w", ChainFile, err)
			c = &Chain{Genesis: genesis}
		}
	}
	if _, err := VerifyChain(genesis, c); err != nil {
		return nil, nil, nil, err
	}
	c = ledgerSteps(c, ledgerStartsOf(dir, id, c))
	last, err := VerifyChain(genesis, c)
	if err != nil {
		return nil, nil, nil, err
	}
	starts := ledgerStartsOf(dir, id, c)
	for {
		cfg, err := VerifyChain(genesis, c)
		if err != nil {
			return nil, nil, nil, err
		}
		if start, ok := keyedLedger(starts, cfg); ok {
			return c, cfg, start, nil
		}
		if len(c.Changes) == 0 {
			err := fmt.Errorf("operator: no ledger of replica %d ends in epoch %d (or an earlier one of its chain) with a sealed group key", id, last.Epoch)
			if torn != nil {
				err = fmt.Errorf("%w (%w)", err, torn)
			}
			return nil, nil, nil, err
		}
		c = &Chain{Genesis: c.Genesis, Changes: c.Changes[:len(c.Changes)-1]}
	}
}

// ledgerSteps returns c extended by the steps a ledger of starts recorded after c's
// end: the longest chain that follows c up to the configuration a ledger starts with,
// then that ledger's epoch records (ledger.Steps), agrees with c where both have a
// step and verifies from c's genesis; c itself when no ledger is ahead of it.
func ledgerSteps(c *Chain, starts map[string]*spec.Config) *Chain {
	var g spec.Config
	if spec.Decode(c.Genesis, &g, spec.MaxMessageBytes) != nil {
		return c
	}
	at := map[spec.Digest]int{spec.ConfigDigest(&g): 0} // configuration → steps of c before it
	for i := range c.Changes {
		var cfg spec.Config
		if spec.Decode(c.Changes[i].ConfigBytes(), &cfg, spec.MaxMessageBytes) == nil {
			at[spec.ConfigDigest(&cfg)] = i + 1
		}
	}
	best := c
	for d, start := range starts {
		k, ok := at[spec.ConfigDigest(start)]
		if !ok {
			continue
		}
		if _, err := os.Stat(d); err != nil {
			continue
		}
		steps, err := ledger.Steps(d, start)
		if err != nil || k+len(steps) <= len(best.Changes) {
			continue
		}
		agree := true
		for i := k; i < len(c.Changes) && i-k < len(steps); i++ {
			agree = agree && bytes.Equal(spec.Encode(&c.Changes[i]), spec.Encode(&steps[i-k]))
		}
		ext := &Chain{Genesis: c.Genesis, Changes: append(slices.Clip(c.Changes[:k]), steps...)}
		if _, err := VerifyChain(c.Genesis, ext); agree && err == nil {
			best = ext
		}
	}
	return best
}

// keyedLedger returns the starting configuration of a ledger of starts that opens
// ending in cfg and holds a sealed group key.
func keyedLedger(starts map[string]*spec.Config, cfg *spec.Config) (*spec.Config, bool) {
	for d, start := range starts {
		if _, err := os.Stat(d); err != nil {
			continue
		}
		led, err := ledger.Open(d, cfg, ledger.Options{})
		if err != nil {
			continue
		}
		_, kerr := led.Key()
		led.Close()
		if kerr == nil {
			return start, true
		}
	}
	return nil, false
}

func replicaPath(dir string, id uint64, file string) string {
	return replicaDir(dir, id) + string(os.PathSeparator) + file
}

// startClusterRecovery starts fresh compartments for C and prepares the offer's
// parts; run opens the ledger and serves the offer.
func (rp *replica) startClusterRecovery(ctx context.Context, c *Chain, cfg, ledCfg *spec.Config) (*spec.Config, error) {
	cd := spec.ConfigDigest(cfg)
	rp.n.set(func(n *node) { n.phase, n.recovering = PhaseRecovering, true })
	rp.log.Warn("the peers do not serve the configuration chain (none in a round, or fewer than f+1 are not recovering themselves): the whole cluster stopped; starting fresh compartments and waiting for the members' recovery plan (splitbft recover-cluster)",
		"epoch", cfg.Epoch, "config_digest", fmt.Sprintf("%x", cd[:8]))
	if err := rp.start(ctx, cd); err != nil {
		return nil, err
	}
	rp.n.set(func(n *node) { n.phase = PhaseRecovering })
	rp.warnInsecure(cfg)
	rp.chain = c
	rp.cluster.Store(&clusterRec{cfg: cfg, cd: cd, chain: c, ledCfg: ledCfg})
	rp.n.setConfig(cfg)
	return cfg, nil
}

// beginClusterRecovery runs once the broker and the ledger exist: it builds the
// offer, serves the recovery endpoints and holds prep and conf down.
func (rp *replica) beginClusterRecovery(ctx context.Context, r *broker.Replica, led *ledger.Ledger) {
	c := rp.cluster.Load()
	var gw []byte
	rp.n.set(func(n *node) { gw = n.gwEnr })
	o := buildOffer(rp.opt.ID, rp.own, gw, c.chain, c.cfg, led)
	c.mu.Lock()
	c.led, c.offer = led, spec.Encode(o)
	c.mu.Unlock()
	if o.HasKey && o.KeyFormat == spec.SealInsecure {
		rp.insecureKey()
	}
	rp.log.Info("recovery offer ready at GET /recovery", "base", o.Base.Seq, "head", o.Head, "has_base", o.HasBase, "sealed_key", o.HasKey)
	r.BeginRecovery(rp.own)
	rp.n.set(func(n *node) { n.phase = PhaseRecovering })
	go rp.watchPeers(ctx, c)
}

// errRestart is wrapped by the errors that end a replica so that, started again with
// the same command, it takes the path its situation now calls for.
var errRestart = errors.New("start this replica again with the same command")

// Situations that end a replica in recovery mode (errRestart).
var (
	errClusterRuns      = fmt.Errorf("operator: f+1 peers serve the configuration chain after all: the cluster runs (they were unreachable during the grace); %w: it rejoins", errRestart)
	errBehindRecovery   = fmt.Errorf("operator: a recovery of the whole cluster that does not hold this replica's fresh compartments was adopted (this replica's chain was behind, or the members recovered without it: recover-cluster --absent); %w: it rejoins, or recovers with the others", errRestart)
	errRecoveredWithout = fmt.Errorf("operator: the members recovered the whole cluster without this replica (recover-cluster --absent; it was stopped or unreachable) and its peers forwarded the recovery: its compartments belong to the epoch before; %w: it rejoins with fresh ones", errRestart)
	errBehindEpoch      = fmt.Errorf("operator: while waiting for a recovery plan, this replica adopted an epoch change its peers forwarded (its chain was behind theirs); %w: it offers for the epoch reached", errRestart)
)

// watchPeers stops the replica when, while it waits for a plan, f+1 peers serve the
// chain it holds after all: the cluster did not stop (a partition kept them silent
// during the grace), and started again the replica rejoins. A longer chain means a
// recovery happened without this replica's plan: its broker adopts the recovery from
// its peers.
func (rp *replica) watchPeers(ctx context.Context, c *clusterRec) {
	best, err := clusterRuns(ctx, ChainFetcher{T: rp.t, ID: rp.opt.ID, Every: time.Second}, c.chain.Genesis, cmpOr(rp.opt.RecoveryGrace, defaultRecoveryGrace))
	if err != nil || len(best.Changes) > len(c.chain.Changes) {
		return
	}
	c.mu.Lock()
	busy := c.post != nil || c.done
	c.mu.Unlock()
	if !busy {
		rp.fail(errClusterRuns)
		rp.stop(errClusterRuns)
	}
}

// clusterRuns polls the peers' chains in rounds of round until f+1 of them serve a
// chain that verifies from genesis within one round, and returns the longest; or
// ctx's error. Only a round's answers count, as in awaitChain: chains served at
// different times (a peer that served once and was stopped since, and another, or a
// faulty one, later) do not show a running cluster.
func clusterRuns(ctx context.Context, fetcher ChainFetcher, genesis []byte, round time.Duration) (*Chain, error) {
	best, _, _, err := fetchRounds(ctx, fetcher, genesis, round, func(int, *ChainFetcher) bool { return false })
	return best, err
}

// insecureKey announces loudly a group key stored without protection.
func (rp *replica) insecureKey() {
	const w = "\n*** WARNING: this replica's exec group key is stored UNSEALED on disk (format 0, dev-insecure exec outside an enclave).\n*** Anyone who can read its directory can decrypt every request and state snapshot. Development and testing only.\n\n"
	fmt.Fprint(rp.opt.Stderr, w)
	rp.log.Warn("INSECURE: the exec group key is stored unsealed (format 0, dev-insecure): no confidentiality against anyone reading the disk")
}

// recoveryHandler serves the recovery endpoints of this replica.
func (rp *replica) recoveryHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+RecoveryPath, rp.serveOffer)
	mux.HandleFunc("POST "+RecoveryPath, rp.servePlan)
	mux.HandleFunc("GET "+RecoveryPath+"/records", rp.serveRecords)
	mux.HandleFunc("GET "+RecoveryPath+"/snapshot", rp.serveSnapshot)
	return mux
}

// clusterState returns the recovery and its ledger, or answers 503.
func (rp *replica) clusterState(w http.ResponseWriter) (*clusterRec, *ledger.Ledger, []byte) {
	c := rp.cluster.Load()
	if c == nil {
		http.Error(w, "this replica is not recovering", http.StatusNotFound)
		return nil, nil, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.led == nil {
		http.Error(w, "not ready", http.StatusServiceUnavailable)
		return nil, nil, nil
	}
	return c, c.led, c.offer
}

func (rp *replica) serveOffer(w http.ResponseWriter, _ *http.Request) {
	if _, _, offer := rp.clusterState(w); offer != nil {
		w.Header().Set("Content-Type", "application/cbor")
		w.Write(offer)
	}
}

// serveRecords answers up to maxRecordsPerGet batch records above ?from=.
func (rp *replica) serveRecords(w http.ResponseWriter, r *http.Request) {
	_, led, _ := rp.clusterState(w)
	if led == nil {
		return
	}
	from, err := strconv.ParseUint(r.URL.Query().Get("from"), 10, 64)
	if err != nil {
		http.Error(w, "from: want a sequence number", http.StatusBadRequest)
		return
	}
	var out RecoveryRecords
	for s := from + 1; s <= from+maxRecordsPerGet; s++ {
		b, err := led.Batch(s)
		if err != nil {
			break
		}
		out.Batches = append(out.Batches, *b)
	}
	w.Header().Set("Content-Type", "application/cbor")
	w.Write(spec.Encode(&out))
}

func (rp *replica) serveSnapshot(w http.ResponseWriter, _ *http.Request) {
	_, led, _ := rp.clusterState(w)
	if led == nil {
		return
	}
	rec, err := led.LatestSnapshot()
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "application/cbor")
	w.Write(spec.Encode(rec))
}

// servePlan takes the members' plan: bounded, decoded strictly, verified (RC1–RC4
// after C, and this replica's fresh compartments in the template); the first valid
// one starts the replay. An invalid plan is refused with the reason and changes
// nothing.
func (rp *replica) servePlan(w http.ResponseWriter, r *http.Request) {
	c, led, _ := rp.clusterState(w)
	if c == nil {
		return
	}
	var post RecoveryPost
	raw, err := readBody(w, r, maxOfferBody)
	if err == nil {
		err = spec.Decode(raw, &post, maxOfferBody)
	}
	var tmpl *spec.Config
	if err == nil {
		tmpl, err = rp.checkPlan(c, &post)
	}
	if err != nil {
		rp.log.Warn("recovery plan refused", "err", err)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	c.mu.Lock()
	first := c.post == nil
	if first {
		c.post = &post
	}
	same := bytes.Equal(spec.Encode(c.post), spec.Encode(&post))
	c.mu.Unlock()
	switch {
	case !first && same:
		fmt.Fprintln(w, "accepted before")
		return
	case !first:
		http.Error(w, "another plan was accepted before: this one is ignored", http.StatusConflict)
		return
	}
	rp.log.Info("recovery plan accepted: replaying", "base", post.Plan.Body.Base.Seq, "head", tmpl.StartSeq, "source", post.Source)
	go rp.replay(rp.ctx, c, led, &post, tmpl)
	fmt.Fprintln(w, "accepted")
}

// checkPlan verifies a plan after C and that it names this replica's compartments.
func (rp *replica) checkPlan(c *clusterRec, post *RecoveryPost) (*spec.Config, error) {
	tmpl, _, err := spec.VerifyPlan(c.cfg, c.cd, &post.Plan, verifyEd, broker.AdmitKey)
	if err != nil {
		return nil, err
	}
	for role := spec.RolePrep; role <= spec.RoleExec; role++ {
		if tmpl.Enrollment(role, rp.opt.ID).Body.SignKey != rp.own[role].Body.SignKey {
			return nil, fmt.Errorf("operator: the plan's %s of replica %d is not this replica's fresh one", spec.RoleName(role), rp.opt.ID)
		}
	}
	if post.Source >= c.cfg.N {
		return nil, fmt.Errorf("operator: source replica %d is not in the configuration", post.Source)
	}
	switch len(post.Lead) { // RV6, checked here too: the exec would refuse, and the replay never start
	case 0:
	case 1:
		if _, _, err := spec.VerifyLeadIn(c.cfg, &post.Plan, &post.Lead[0], verifyEd, broker.AdmitKey); err != nil {
			return nil, fmt.Errorf("operator: the plan's lead-in: %w", err)
		}
	default:
		return nil, fmt.Errorf("operator: %d lead-ins, want at most one", len(post.Lead))
	}
	return tmpl, nil
}

// readBody reads a request body of at most max bytes.
func readBody(w http.ResponseWriter, r *http.Request, max int64) ([]byte, error) {
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
	if err != nil {
		return nil, fmt.Errorf("operator: body: %w", err)
	}
	return raw, nil
}

// onRecovered ends the recovery once the broker adopted it (its Epoch hook). A
// recovery without this replica's fresh compartments (it was behind: killed before
// it recorded an earlier recovery, and its peers forwarded that one) leaves them
// unconfigured: the replica stops, to start again in the configuration reached.
func (rp *replica) onRecovered(cfg *spec.Config) {
	c := rp.cluster.Load()
	if c == nil {
		return
	}
	if cfg.Enrollment(spec.RolePrep, rp.opt.ID).Body.SignKey != rp.own[spec.RolePrep].Body.SignKey {
		rp.fail(errBehindRecovery)
		rp.stop(errBehindRecovery)
		return
	}
	c.mu.Lock()
	c.done = true
	c.mu.Unlock()
	rp.n.set(func(n *node) { n.phase, n.recovering = PhaseRunning, false })
	rp.log.Info("cluster recovered: running in the recovery epoch", "epoch", cfg.Epoch, "start_seq", cfg.StartSeq)
}

// awaitingRecovery reports whether this replica is in recovery mode and its
// recovery has not been adopted yet: only then can a recovery step name its
// compartments (its fresh ones).
func (rp *replica) awaitingRecovery() bool {
	c := rp.cluster.Load()
	if c == nil {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return !c.done
}

// onEpochWhileRecovering stops a replica that, waiting for a recovery plan, adopted
// an ordinary epoch change: its peers forwarded a step its chain lacked (it was
// killed before it recorded it), so its offer is for the epoch before theirs, which
// recover-cluster does not take. Its ledger recorded the epoch (Close writes it);
// started again, it offers for the epoch reached.
func (rp *replica) onEpochWhileRecovering() {
	c := rp.cluster.Load()
	if c == nil {
		return
	}
	c.mu.Lock()
	done := c.done
	c.mu.Unlock()
	if !done {
		rp.fail(errBehindEpoch)
		rp.stop(errBehindEpoch)
	}
}

// hostNow returns the broker's host once it runs, else nil.
func (rp *replica) hostNow() *tcpnet.Host {
	rp.n.mu.Lock()
	defer rp.n.mu.Unlock()
	return rp.n.host
}
