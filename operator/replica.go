package operator

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/splitbft/splitbft/attest"
	"github.com/splitbft/splitbft/broker"
	"github.com/splitbft/splitbft/broker/ledger"
	"github.com/splitbft/splitbft/broker/procenclave"
	"github.com/splitbft/splitbft/broker/tcpnet"
	"github.com/splitbft/splitbft/spec"
)

// ReplicaOptions configure RunReplica. Zero values take the defaults noted.
type ReplicaOptions struct {
	Dir      string          // cluster directory (cluster.json); required
	ID       uint64          // replica id
	BinDir   string          // compartment binaries; default Dir/bin, built there on demand
	Runner   []string        // command prefix for compartment binaries, e.g. ["ego", "run"]
	Log      *slog.Logger    // default: discard
	Stderr   io.Writer       // compartments' stderr and the loud warnings; default os.Stderr
	Broker   broker.Options  // broker tuning (ticks are Tick long)
	Tick     time.Duration   // broker tick; default 10ms
	Verifier attest.Verifier // default attest.DefaultVerifier()
	// NewCluster forms a new cluster even if this replica formed one before (its
	// genesis.cbor and chain.cbor are removed): for when every replica restarted and
	// the old cluster's state is gone.
	NewCluster bool
	// RecoverEvery, when positive, replaces this replica's compartments one at a time
	// in its time slots of length RecoverEvery/n (proactive recovery, SPEC §17.6).
	RecoverEvery time.Duration
	// InsecureTransport runs the broker's ports over plain TCP without
	// authentication (SPEC §13.2), for measuring the transport's cost only.
	InsecureTransport bool
	// NoLedger turns the durable ledger off (SPEC §13.5): replies are released
	// without waiting for the disk, and nothing survives the replica's processes.
	NoLedger bool
	// LedgerRetain, when positive, turns the ledger's retention on (SPEC §13.5,
	// "Retention"): once a snapshot is on disk, batch records below it are pruned,
	// except the newest LedgerRetain.
	LedgerRetain uint64
	// LedgerArchive, with LedgerRetain, is where pruned records go first: archive
	// segments in ArchiveDir(LedgerArchive, ID, the ledger's first configuration).
	LedgerArchive string
	// LedgerSnapshotLog is the ledger's MinSnapshotLog (0: its default, 16 MiB).
	LedgerSnapshotLog uint64
	// RecoveryGrace is the round in which a replica restarting on a formed cluster
	// waits for f+1 peers serving the chain; after a round in which none served it, or
	// fewer than f+1 were not recovering themselves, it concludes that the whole
	// cluster stopped and waits for a recovery plan (awaitChain, SPEC §17.8); default 5s.
	RecoveryGrace time.Duration
}

// ConfigFile is where a replica writes the configuration it formed, inside its
// folder replica-<id> of the cluster directory.
const ConfigFile = "config.cbor"

// replica is a running replica's resources.
type replica struct {
	opt     ReplicaOptions
	t       *Template
	log     *slog.Logger
	n       *node
	procs   [3]*procenclave.Process
	own     [3]spec.Enrollment // own compartments' enrollments, after start
	host    *tcpnet.Host
	status  net.Listener
	srv     *http.Server
	gw      *spec.GatewayAttestation   // this replica's gateway's, if it runs one; read only by formation, before waitGateway may replace it
	gwCmd   *exec.Cmd                  // the gateway process (under mu once run started: waitGateway replaces it)
	closing atomic.Bool                // close began: waitGateway starts no gateway again
	chain   *Chain                     // the chain followed; written on the broker's event loop once it runs
	join    bool                       // rejoining: the compartments are fresh and must be admitted
	cluster atomic.Pointer[clusterRec] // a recovery of the whole cluster (cluster_recovery.go), nil otherwise; read by HTTP handlers
	ctx     context.Context            // RunReplica's, for work started by HTTP handlers
	stop    context.CancelCauseFunc    // ends RunReplica with an error

	binDir    string // compartment binaries …
	buildBins bool   // … built there when missing
	mu        sync.Mutex
	pending   [3]*pendingProc // fresh processes waiting for admission (recover.go); guarded by mu, as procs is once running
}

// RunReplica runs replica opt.ID of the cluster in opt.Dir until ctx ends: it starts
// its three compartment processes, forms the cluster with its peers (formation.go),
// configures its compartments, writes Dir/replica-<id>/config.cbor and runs the
// broker over TCP. It returns nil when ctx ends after a clean shutdown (compartment
// processes closed), or the error that stopped it. A compartment process that dies is
// logged, shown in /status and /metrics, and never restarted.
func RunReplica(ctx context.Context, opt ReplicaOptions) error {
	rp, err := newReplica(opt)
	if err != nil {
		return err
	}
	ctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	rp.ctx, rp.stop = ctx, stop
	defer rp.close()
	if opt.NewCluster {
		for _, f := range []string{GenesisFile, ChainFile, FormingFile} {
			if err := os.Remove(filepath.Join(replicaDir(opt.Dir, opt.ID), f)); err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
		}
	}
	genesis, err := loadGenesis(opt.Dir, opt.ID)
	var cfg *spec.Config
	switch {
	case err != nil:
	case genesis != nil:
		cfg, err = rp.rejoin(ctx, genesis)
	default:
		cfg, err = rp.formOrJoin(ctx)
	}
	switch {
	case ctx.Err() != nil:
		return nil // asked to stop before the broker ran
	case err != nil:
		rp.fail(err)
		return err
	}
	if err := rp.run(ctx, cfg); err != nil || !errors.Is(context.Cause(ctx), errRestart) {
		return err
	}
	return context.Cause(ctx)
}

func newReplica(opt ReplicaOptions) (*replica, error) {
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	if opt.Stderr == nil {
		opt.Stderr = os.Stderr
	}
	if opt.Verifier == nil {
		opt.Verifier = attest.DefaultVerifier()
	}
	t, err := LoadTemplate(opt.Dir)
	if err != nil {
		return nil, err
	}
	if opt.ID >= t.N {
		return nil, fmt.Errorf("operator: replica %d: the cluster has replicas 0..%d", opt.ID, t.N-1)
	}
	log := opt.Log.With("replica", opt.ID)
	rp := &replica{opt: opt, t: t, log: log, n: &node{id: opt.ID, t: t, phase: PhaseStarting}}
	rp.n.recover = rp.serveRecover
	rp.n.recovery = rp.recoveryHandler()
	return rp, rp.listen()
}

// listen binds the status, peer and client ports first, so that a port conflict
// fails at once.
func (rp *replica) listen() error {
	me := rp.t.Replicas[rp.opt.ID]
	var err error
	if rp.status, err = net.Listen("tcp", me.Status); err != nil {
		return fmt.Errorf("operator: status port: %w", err)
	}
	peers := make([]string, rp.t.N)
	for i, r := range rp.t.Replicas {
		peers[i] = r.Peer
	}
	topt := tcpnet.Options{ID: rp.opt.ID, Listen: me.Peer, Peers: peers, ClientListen: me.Client,
		Tick: cmpOr(rp.opt.Tick, 10*time.Millisecond), Logger: rp.opt.Log, Insecure: rp.opt.InsecureTransport,
		PeerKeys: rp.t.TransportKeys(), ClientKeys: rp.t.ClientSignKeys()}
	if !topt.Insecure {
		topt.Key, err = LoadTransportKey(rp.opt.Dir, rp.t, rp.opt.ID)
	}
	if err == nil {
		rp.host, err = tcpnet.Listen(topt)
	}
	if err != nil {
		rp.status.Close()
		return fmt.Errorf("operator: %w", err)
	}
	rp.srv = newStatusServer(rp.n.handler())
	go rp.srv.Serve(limitListener(rp.status, statusMaxConns))
	rp.log.Info("listening", "peer", me.Peer, "client", me.Client, "status", me.Status)
	return nil
}

// start builds (if needed) and starts the compartment processes and Inits them for
// the epoch whose digest is challenge (zero when forming; SPEC §17.5 step 1).
func (rp *replica) start(ctx context.Context, challenge spec.Digest) error {
	me := &rp.t.Replicas[rp.opt.ID]
	builds := [3]string{me.Prep, me.Conf, me.Exec}
	binDir, build := rp.opt.BinDir, false
	if binDir == "" {
		binDir, build = filepath.Join(rp.opt.Dir, "bin"), true
	}
	rp.binDir, rp.buildBins = binDir, build
	paths, err := EnsureBinaries(ctx, binDir, builds, build, rp.log)
	if err != nil {
		return err
	}
	procs, err := StartCompartments(paths, rp.opt.Runner, rp.opt.Stderr)
	rp.mu.Lock()
	rp.procs = procs
	rp.mu.Unlock()
	if err != nil {
		return err
	}
	var encl [3]broker.Enclave
	for r := range rp.procs {
		w := Watch(rp.procs[r], spec.Role(r), builds[r], rp.log)
		rp.n.set(func(n *node) { n.watched[r] = w })
		encl[r] = w
		rp.log.Info("compartment started", "role", spec.RoleName(spec.Role(r)), "build", builds[r], "pid", rp.procs[r].Pid())
	}
	if rp.own, err = InitAllFor(encl, rp.opt.ID, challenge); err != nil {
		return err
	}
	if err := rp.enrollGateway(ctx); err != nil {
		return err
	}
	switch {
	case rp.gw == nil || challenge == (spec.Digest{}): // formation registers it
	case rp.n.isRecovering():
		rp.log.Info("redis gateway started with new identities: the members' recovery plan registers them (splitbft recover-cluster)")
	default:
		rp.sayReadmit() // a rejoin: the configuration registers an earlier gateway's identities
	}
	re := ReplicaEnrollments{Replica: rp.opt.ID, Enrollments: rp.own[:]}
	body := spec.Encode(&re)
	if challenge == (spec.Digest{}) { // a formation attempt: recorded before it is served (formed_without.go)
		if err := rp.recordAttempt(re); err != nil {
			return err
		}
	}
	rp.n.set(func(n *node) { n.enr, n.phase = body, PhaseForming })
	return nil
}

// form runs formation and configures the compartments.
func (rp *replica) form(ctx context.Context) (*spec.Config, error) {
	encl := rp.enclaves()
	f := &Former{T: rp.t, ID: rp.opt.ID, Verifier: rp.opt.Verifier, Log: rp.log, Gateway: rp.gw}
	rp.log.Info("forming the cluster", "replicas", rp.t.N, "dealer", Dealer)
	cfg, share, err := f.Form(ctx, rp.own, encl[spec.RoleExec], func(b []byte) { rp.n.set(func(n *node) { n.deal = b }) })
	if err != nil {
		return nil, err
	}
	rp.warnInsecure(cfg)
	if err := ConfigureAll(encl, cfg, share); err != nil {
		return nil, err
	}
	if err := writeConfig(rp.opt.Dir, rp.opt.ID, cfg); err != nil {
		return nil, err
	}
	rp.host.SetClientKeys(clientSignKeys(cfg)) // the gateways' identities, registered at formation
	rp.chain = &Chain{Genesis: spec.Encode(cfg)}
	if err := writeFileSynced(filepath.Join(replicaDir(rp.opt.Dir, rp.opt.ID), GenesisFile), rp.chain.Genesis); err != nil {
		return nil, err
	}
	os.Remove(filepath.Join(replicaDir(rp.opt.Dir, rp.opt.ID), FormingFile))
	rp.n.formed(cfg, attest.CheckConfig(cfg, rp.opt.Verifier))
	d := spec.ConfigDigest(cfg)
	rp.log.Info("cluster formed; compartments configured", "config_digest", fmt.Sprintf("%x", d[:8]))
	return cfg, nil
}

// enclaves returns the watched compartments as broker enclaves.
func (rp *replica) enclaves() [3]broker.Enclave {
	var encl [3]broker.Enclave
	rp.n.mu.Lock()
	defer rp.n.mu.Unlock()
	for r, w := range rp.n.watched {
		encl[r] = w
	}
	return encl
}

// warnInsecure prints the loud dev-insecure warning to stderr and the log.
func (rp *replica) warnInsecure(cfg *spec.Config) {
	if w := attest.InsecureWarning(cfg); w != "" {
		fmt.Fprint(rp.opt.Stderr, w)
		rp.log.Warn("dev-insecure cluster: NO TEE PROTECTION; use for development and testing only")
	}
}

// writeConfig writes the formed configuration to dir/replica-<id>/config.cbor.
func writeConfig(dir string, id uint64, cfg *spec.Config) error {
	d := filepath.Join(dir, fmt.Sprintf("replica-%d", id))
	if err := os.MkdirAll(d, 0o755); err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(d, ConfigFile), spec.Encode(cfg))
}

// run runs the broker until ctx ends.
func (rp *replica) run(ctx context.Context, cfg *spec.Config) error {
	bopt := rp.opt.Broker
	var led *ledger.Ledger
	if !rp.opt.NoLedger || rp.cluster.Load() != nil {
		dirCfg := cfg
		if rp.cluster.Load() != nil {
			dirCfg = rp.cluster.Load().ledCfg
		}
		var err error
		if led, err = rp.openLedger(dirCfg, cfg); err != nil {
			rp.fail(err)
			return err
		}
		defer led.Close()
		bopt.Ledger = led
	}
	r := broker.NewReplica(rp.opt.ID, cfg, rp.enclaves(), rp.host.Net(), bopt)
	if err := r.SetChain(rp.chain.Genesis, rp.chain.Changes); err != nil {
		return err
	}
	r.SetHooks(rp.hooks(ctx))
	rp.followClients(cfg)
	if rp.join {
		rp.admitAll(ctx, r)
	}
	if rp.cluster.Load() != nil {
		go rp.host.Query(ctx, func(r *broker.Replica) { rp.beginClusterRecovery(ctx, r, led) })
	}
	rp.n.set(func(n *node) {
		n.host, n.phase = rp.host, PhaseRunning
		if rp.cluster.Load() != nil {
			n.phase = PhaseRecovering
		}
	})
	go rp.checkPeersConfig(ctx, rp.chain.Genesis)
	go rp.logEvents(ctx, cfg, 100*time.Millisecond)
	go rp.waitGateway(ctx)
	if rp.opt.RecoverEvery > 0 {
		go rp.recoverLoop(ctx, rp.opt.RecoverEvery)
	}
	go rp.healLoop(ctx)
	err := rp.host.Run(ctx, r)
	rp.host = nil // Run closed it
	return err
}

// checkPeersConfig compares, in the background, the genesis configuration of the
// chain every peer serves with this replica's, and logs (and shows in /status) any difference: replicas that
// formed different configurations cannot talk to each other.
func (rp *replica) checkPeersConfig(ctx context.Context, own []byte) {
	pending := map[uint64]bool{}
	for i := range rp.t.N {
		pending[i] = i != rp.opt.ID
	}
	for len(missingIDs(pending)) > 0 && sleepCtx(ctx, 200*time.Millisecond) == nil {
		for _, i := range missingIDs(pending) {
			raw, err := httpGet(ctx, rp.t.Replicas[i].Status, "/chain", 2*time.Second, maxChainBody)
			var c Chain
			if err != nil || spec.Decode(raw, &c, maxChainBody) != nil {
				continue
			}
			pending[i] = false
			if string(c.Genesis) != string(own) {
				err := fmt.Errorf("replica %d formed a different configuration: it cannot take part with this replica (restart every replica to form one cluster)", i)
				rp.log.Error(err.Error())
				rp.n.set(func(n *node) { n.err = err.Error() })
			}
		}
	}
}

// fail records a fatal error for /status.
func (rp *replica) fail(err error) {
	rp.log.Error("replica stopped", "err", err)
	rp.n.set(func(n *node) { n.err = err.Error() })
}

// close releases everything: the host (if Run did not), the compartment processes
// and the status server.
func (rp *replica) close() {
	rp.closing.Store(true) // the gateway killed below is not started again (waitGateway)
	if rp.host != nil {
		rp.host.Close()
	}
	rp.mu.Lock()
	procs, pending := rp.procs, rp.pending
	rp.mu.Unlock()
	CloseCompartments(procs)
	for _, p := range pending {
		if p != nil {
			p.proc.Close()
		}
	}
	rp.mu.Lock()
	gw := rp.gwCmd
	rp.mu.Unlock()
	if gw != nil && gw.Process != nil {
		gw.Process.Kill()
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := rp.srv.Shutdown(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		rp.log.Warn("status server shutdown", "err", err)
	}
	rp.log.Info("replica stopped; compartment processes closed")
}
