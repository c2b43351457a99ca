package operator

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"sync"
	"time"

	"github.com/splitbft/splitbft/attest"
	"github.com/splitbft/splitbft/broker"
	"github.com/splitbft/splitbft/broker/ledger"
	"github.com/splitbft/splitbft/broker/tcpnet"
	"github.com/splitbft/splitbft/spec"
)

// node is a replica's state as its status server shows it. Formation and the broker
// fill it in; HTTP handlers read it.
type node struct {
	id      uint64
	t       *Template
	watched [3]*Watched

	mu        sync.Mutex
	phase     string
	err       string // a fatal error, shown until the process exits
	enr       []byte // encoded ReplicaEnrollments, once Init succeeded
	deal      []byte // encoded GroupKeyShares, on the dealer once dealt
	gwEnr     []byte // encoded spec.GatewayAttestation of the replica's gateway, once it enrolled
	cfgRaw    []byte // encoded Config, once configured
	cfg       *spec.Config
	states    [3]string    // attestation state of own compartments, once formed
	host      *tcpnet.Host // set once the broker runs
	events    EventCounts  // what the event watch counted (events.go)
	admitted  int          // fresh compartments admitted since start (SPEC §17.5)
	epochAt   time.Time    // when the configuration served last changed
	recover   http.HandlerFunc
	ledger    *ledger.Ledger // the durable ledger, once open (nil: off)
	ledgerDir string         // its directory relative to the cluster's (named by the configuration it started with)
	// recovering is set while the replica waits for or runs a recovery of the whole
	// cluster: it serves no chain then (its peers must not rejoin through it).
	recovering bool
	recovery   http.Handler // the recovery endpoints (cluster_recovery.go), nil before
}

// epochSince returns when the configuration served last changed.
func (n *node) epochSince() time.Time {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.epochAt
}

// snapshot is what /status and /metrics show, taken at one moment.
type snapshot struct {
	phase, err string
	cfg        *spec.Config
	states     [3]string
	running    bool
	status     [3]spec.Status
	metrics    broker.Metrics
	net        tcpnet.Stats
	events     EventCounts
	gateway    GatewayStats // nil without a gateway
	gatewayErr string
	admitted   int
	watched    [3]*Watched   // the compartments in service (a recovery replaces one)
	ledger     *LedgerStatus // nil: no ledger
}

func (n *node) set(f func(n *node)) {
	n.mu.Lock()
	defer n.mu.Unlock()
	f(n)
}

// formed records the configuration and the attestation states of own compartments.
func (n *node) formed(cfg *spec.Config, results []attest.Result) {
	n.set(func(n *node) {
		n.cfg, n.cfgRaw = cfg, spec.Encode(cfg)
		for _, r := range results {
			if r.Replica == n.id {
				n.states[r.Role] = r.State()
			}
		}
	})
}

// setConfig records the configuration the replica serves now (after forming, a
// rejoin's chain, or an epoch change), for /config and /status.
func (n *node) setConfig(cfg *spec.Config) {
	n.set(func(n *node) { n.cfg, n.cfgRaw, n.epochAt = cfg, spec.Encode(cfg), time.Now() })
}

// serveChain answers GET /chain from the broker's chain (SPEC §17.7).
func (n *node) serveChain(w http.ResponseWriter, r *http.Request) {
	n.mu.Lock()
	host := n.host
	n.mu.Unlock()
	if n.isRecovering() {
		w.Header().Set(PhaseHeader, PhaseRecovering)
		http.Error(w, "recovering the whole cluster", http.StatusServiceUnavailable)
		return
	}
	if host == nil {
		if n.phaseNow() == PhaseRejoining {
			w.Header().Set(PhaseHeader, PhaseRejoining) // it restarted too, and serves no chain before it rejoins
		}
		http.Error(w, "not ready", http.StatusServiceUnavailable)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	ch := make(chan []byte, 1)
	err := host.Query(ctx, func(r *broker.Replica) {
		g, changes := r.Chain()
		ch <- spec.Encode(&Chain{Genesis: g, Changes: changes})
	})
	if err != nil {
		http.Error(w, "the broker's event loop did not answer", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "application/cbor")
	w.Write(<-ch)
}

func (n *node) isRecovering() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.recovering
}

// phaseNow returns the replica's phase.
func (n *node) phaseNow() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.phase
}

// serveRecovery hands the recovery endpoints to the replica's handler (SPEC §17.8).
func (n *node) serveRecovery(w http.ResponseWriter, r *http.Request) {
	n.mu.Lock()
	h := n.recovery
	n.mu.Unlock()
	if h == nil {
		http.Error(w, "this replica is not recovering", http.StatusNotFound)
		return
	}
	h.ServeHTTP(w, r)
}

// take returns a snapshot; the broker's part is read on its event loop.
func (n *node) take(ctx context.Context) snapshot {
	n.mu.Lock()
	s := snapshot{phase: n.phase, err: n.err, cfg: n.cfg, states: n.states, events: n.events, admitted: n.admitted, watched: n.watched}
	if n.cfg != nil {
		s.ledger = ledgerStatus(n.ledger, n.ledgerDir)
	}
	host, gwEnr, recovering := n.host, n.gwEnr, n.recovering
	n.mu.Unlock()
	for r := range s.status {
		s.status[r] = spec.Status{Role: spec.Role(r), Replica: n.id}
	}
	s.gateway, s.gatewayErr = n.gatewayStats(ctx, s.cfg, gwEnr, recovering)
	if host == nil {
		return s
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	// f may still run after a timeout: it hands its result over a buffered channel
	// rather than writing into s.
	type view struct {
		status  [3]spec.Status
		metrics broker.Metrics
	}
	ch := make(chan view, 1)
	err := host.Query(ctx, func(r *broker.Replica) { ch <- view{r.Status(), r.Metrics()} })
	if s.running = err == nil; s.running {
		v := <-ch
		s.status, s.metrics = v.status, v.metrics
	}
	s.net = host.Stats()
	return s
}

// handler serves the formation documents, /status and /metrics.
func (n *node) handler() http.Handler {
	mux := http.NewServeMux()
	serveDoc := func(path string, get func(n *node) []byte) {
		mux.HandleFunc("GET "+path, func(w http.ResponseWriter, _ *http.Request) {
			n.mu.Lock()
			body := get(n)
			n.mu.Unlock()
			if body == nil {
				http.Error(w, "not ready", http.StatusServiceUnavailable)
				return
			}
			w.Header().Set("Content-Type", "application/cbor")
			w.Write(body)
		})
	}
	serveDoc("/enrollments", func(n *node) []byte { return n.enr })
	serveDoc("/group-key", func(n *node) []byte { return n.deal })
	// A replica recovering the whole cluster has no configuration to serve (SPEC
	// §17.8): its /chain answers 503, and so does /config, or a client falling back
	// to it would take the epoch being recovered for a genesis copy and fail.
	serveDoc("/config", func(n *node) []byte {
		if n.recovering {
			return nil
		}
		return n.cfgRaw
	})
	serveDoc("/gateway-enrollment", func(n *node) []byte { return n.gwEnr })
	mux.HandleFunc("GET /chain", n.serveChain)
	mux.HandleFunc(RecoveryPath, n.serveRecovery)
	mux.HandleFunc(RecoveryPath+"/", n.serveRecovery)
	mux.HandleFunc("POST "+RecoverPath, func(w http.ResponseWriter, r *http.Request) {
		n.mu.Lock()
		h := n.recover
		n.mu.Unlock()
		if h == nil {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		h(w, r)
	})
	mux.HandleFunc("GET /status", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.Encode(n.statusDoc(n.take(r.Context())))
	})
	mux.Handle("GET /metrics", n.metricsHandler())
	return mux
}

// statusDoc renders a snapshot as the /status document.
func (n *node) statusDoc(s snapshot) *ReplicaStatus {
	st := &ReplicaStatus{Replica: n.id, Cluster: n.t.Name, Phase: s.phase, Error: s.err, Admitted: s.admitted}
	if s.phase == PhaseRunning && !s.running && st.Error == "" {
		st.Error = "the broker's event loop did not answer within 2s"
	}
	if s.cfg != nil {
		d := spec.ConfigDigest(s.cfg)
		st.ConfigDigest = hex.EncodeToString(d[:])
		st.Epoch, st.EpochStart = s.cfg.Epoch, s.cfg.StartSeq
		st.DevInsecure = attest.InsecureWarning(s.cfg) != ""
		st.Primary = s.cfg.Primary(s.status[spec.RolePrep].View)
	}
	for r, w := range s.watched {
		c := CompartmentStatus{Role: spec.RoleName(spec.Role(r)), Build: n.t.Replicas[n.id].Build(spec.Role(r)),
			Alive: true, Attestation: s.states[r]}
		if w != nil {
			c.Build, c.Pid = w.Build, w.Pid
		}
		if w != nil && w.Dead() != nil {
			c.Alive, c.Error = false, w.Dead().Error()
		}
		cs := s.status[r]
		c.Configured, c.View, c.ViewActive, c.Last, c.Stable, c.NeedState = cs.Configured, cs.View, cs.ViewActive, cs.Last, cs.Stable, cs.NeedState
		st.Compartments = append(st.Compartments, c)
	}
	n.addCheckpoints(st, s.status[spec.RoleExec].Stable, s.watched[spec.RoleExec])
	st.Gateway, st.GatewayError = s.gateway, s.gatewayErr
	st.Ledger = s.ledger
	return st
}

// addCheckpoints fills in the exec's recent checkpoints and the stable one's digest.
func (n *node) addCheckpoints(st *ReplicaStatus, stable uint64, exec *Watched) {
	st.Stable.Seq = stable
	st.Checkpoints = []CheckpointStatus{}
	if exec == nil {
		return
	}
	for _, cp := range exec.Checkpoints() {
		c := CheckpointStatus{Seq: cp.Seq, State: hex.EncodeToString(cp.State[:])}
		st.Checkpoints = append(st.Checkpoints, c)
		if cp.Seq == stable {
			st.Stable = c
		}
	}
}
