package broker

import (
	"maps"
	"slices"

	"github.com/splitbft/splitbft/spec"
)

// Net is how a Replica reaches the outside. Both calls must not block: a host queues
// or drops. Send carries an encoded PeerMsg to replica to's broker; Reply carries an
// encoded spec.Reply to a client.
type Net interface {
	Send(to uint64, msg []byte)
	Reply(client uint64, reply []byte)
}

// Releaser is optionally implemented by a Net whose host holds back the writing of
// what Send, Reply and Epoch queue while its event loop handles a burst of events
// (tcpnet: one write per peer and connection instead of one per message). The
// broker calls Release just before each Step call, a compartment round trip during
// which the host's writers can run, so that nothing it queued waits for the next
// one; the host releases the rest when the burst ends.
type Releaser interface {
	Release()
}

// EpochNet is optionally implemented by a Net whose host serves clients: Epoch is
// called on the event loop, once per epoch change the broker adopts, after it has
// switched to it, with the change's canonical encoding exactly as adopted. The host
// pushes it to its connected clients (SPEC.md §13.2, kind 5 epoch; §17.7), so that
// they re-sign their requests in flight at once. It must not block or keep change
// beyond its bounded outbound queues.
type EpochNet interface {
	Net
	Epoch(change []byte)
}

// Options tunes a Replica. Times are in abstract ticks (calls of Tick); zero values
// take the defaults noted.
type Options struct {
	BatchSize             int // requests per client batch; default and cap cfg.MaxBatchRequests
	BatchTicks            int // a partial batch is cut when its oldest request waited this long; default 1
	PipelineDepth         int // a partial batch is cut at once while fewer batches are in flight (not executed, or with a Ledger not durable); default 2, negative: never
	RequestTimeoutTicks   int // request timer; default 100
	LoneViewTicks         int // a conf alone in a higher view this long, with progress, is fetched back; default 4 × RequestTimeoutTicks
	MaxBackoffShift       int // timeouts double per consecutive suspicion, at most 2^this; default 6
	RetransmitTicks       int // minimum ticks between retransmissions to one peer; default 20
	HintTicks             int // period of progress hints to peers; default 10
	FetchTicks            int // period of batch fetches while exec needs batches; default 5
	StateTicks            int // period of state requests while exec needs state; default 10
	QueueLimit            int // inputs waiting per compartment; default 4096
	BatchQueueLimit       int // requests waiting for a batch at the primary; default 8192
	PendingLimit          int // requests with a running timer; default 8192
	ClientQueueLimit      int // requests of one client waiting for a batch; a newer one withdraws its oldest; default 4
	ClientBurst           int // requests one client may send to this broker at once; default 16
	ClientTicksPerRequest int // … and one more every this many ticks; default 1
	PeerRelayBurst        int // relayed requests failing R5 one peer broker may send this (primary's) broker at once; default 64
	PeerRelayPerTick      int // … and this many more per tick; default 1
	PeerJunkBurst         int // protocol messages one peer broker may have a local compartment reject for a bad signature at once; default 256
	PeerJunkPerTick       int // … and this many more per tick; default 16
	BatchCache            int // batches kept by digest to answer fetches; default 2L
	RingLimit             int // recent outputs kept for retransmission; default 4L
	RingBytes             int // their total size; default 32 MiB
	MaxStepBytes          int // input bytes per Step call; default 32 MiB
	MaxFlushRounds        int // Step rounds per Flush before yielding; default 64
	GateTicks             int // a slot's inputs held for a quorum (gate.go) are queued after this many ticks at most; default 2, at most max(1, RetransmitTicks/4); negative: no gate
	HeldReplies           int // replies held until their batch is durable (Ledger set); default 65536
	HeldReplyBytes        int // … and their bytes (a reply holds all of a request's results); default 256 MiB

	// Ledger, if set, records what exec executed; a client reply is then released
	// only once its batch is durable (SPEC.md §13.5). Nil: replies go out at once.
	Ledger Ledger
}

func (o Options) withDefaults(cfg *spec.Config) Options {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&o.BatchSize, int(cfg.MaxBatchRequests))
	o.BatchSize = min(o.BatchSize, int(cfg.MaxBatchRequests))
	def(&o.BatchTicks, 1)
	if o.PipelineDepth == 0 {
		o.PipelineDepth = 2
	}
	def(&o.RequestTimeoutTicks, 100)
	def(&o.LoneViewTicks, 4*o.RequestTimeoutTicks)
	def(&o.MaxBackoffShift, 6)
	def(&o.RetransmitTicks, 20)
	def(&o.HintTicks, 10)
	def(&o.FetchTicks, 5)
	def(&o.StateTicks, 10)
	def(&o.QueueLimit, 4096)
	def(&o.BatchQueueLimit, 8192)
	def(&o.PendingLimit, 8192)
	def(&o.ClientQueueLimit, 4)
	def(&o.ClientBurst, 16)
	def(&o.ClientTicksPerRequest, 1)
	def(&o.PeerRelayBurst, 64)
	def(&o.PeerRelayPerTick, 1)
	def(&o.PeerJunkBurst, 256)
	def(&o.PeerJunkPerTick, 16)
	def(&o.BatchCache, int(2*cfg.Window))
	def(&o.RingLimit, int(4*cfg.Window))
	def(&o.RingBytes, 32<<20)
	def(&o.MaxStepBytes, 32<<20)
	def(&o.MaxFlushRounds, 64)
	if o.GateTicks == 0 {
		o.GateTicks = 2
	}
	o.GateTicks = min(o.GateTicks, max(o.RetransmitTicks/4, 1)) // well inside what watches for progress
	def(&o.HeldReplies, 65536)
	def(&o.HeldReplyBytes, 256<<20)
	o.QueueLimit = min(o.QueueLimit, spec.MaxStepInputs*16)
	return o
}

// Metrics are a replica broker's counters. All are monotonic.
type Metrics struct {
	Steps      [3]uint64         // Step calls per compartment (prep, conf, exec)
	Inputs     [3]uint64         // inputs delivered per compartment
	HostErrors [3]uint64         // Step calls that failed at the host level
	Rejections map[uint64]uint64 // rejections by reject code, all compartments

	ClientRequests uint64    // requests received from clients or forwarded by peers
	BadRequests    uint64    // requests dropped by the broker's R1–R5 filter (R5 on arrival or at timer expiry) or undecodable
	StaleRequests  uint64    // requests dropped at the edge: older than the client's last answered one
	BudgetDrops    uint64    // requests withdrawn because their client had ClientQueueLimit waiting for a batch
	RateDrops      uint64    // client requests dropped at the edge: the client used up its request budget
	RelayDrops     uint64    // relayed requests dropped unverified: their peer broker used up its budget of bad signatures
	JunkDrops      uint64    // peer protocol messages not delivered to a compartment: that peer used up its budget of bad signatures there
	Withheld       [3]uint64 // inputs not handed to a compartment (prep, conf, exec): stale, or to no effect, by its latest status (withheld)
	Gated          [3]uint64 // inputs held back to hand over a slot's messages together (gate.go): until its count, GateTicks, a full queue or a window move
	GateTimeouts   [3]uint64 // … of those, queued because they waited Options.GateTicks
	Forwarded      uint64    // requests forwarded to the primary's broker
	Batches        uint64    // client batches delivered to prep
	Requests       uint64    // requests in those batches
	Replies        uint64    // replies handed to Net.Reply
	Reads          uint64    // READs queued for the local exec (SPEC.md §16.6)
	ReadReplies    uint64    // READ-REPLYs handed to Net.Reply

	PeerIn, PeerOut uint64 // peer messages received and sent
	Garbage         uint64 // undecodable or unexpected messages and outputs dropped
	Unwanted        uint64 // well-formed batches or chunks nobody asked for, dropped
	QueueDrops      uint64 // items dropped from a full queue or store

	Suspects      uint64 // suspect inputs delivered to conf
	Expiries      uint64 // request timer expiries announced to the peers (each may or may not become a suspect)
	LoneJoins     uint64 // suspects delivered to move up to a conf alone in a higher view
	BatchFetches  uint64 // BatchFetch messages sent
	BatchesServed uint64 // batches sent in answer to fetches
	StateRequests uint64 // state-requests sent
	Retransmits   uint64 // messages re-sent to lagging peers
	FlushCutoffs  uint64 // Flush calls that stopped at MaxFlushRounds with work left

	Epochs          uint64 // epoch changes adopted (SPEC.md §17.4)
	BadEpochChanges uint64 // epoch changes dropped: they failed EC1–EC4 against the current configuration
	EpochForwards   uint64 // epoch changes forwarded to peers whose hints show an older epoch
	AdmitSubmits    uint64 // admission requests submitted (retries included)
	AdmitFailures   uint64 // admissions abandoned
	AdmitRenewals   uint64 // admissions overtaken by an epoch change and handed back to the host to start again (EpochHooks.Renew)
	Admitted        uint64 // fresh compartments installed
	ShareResends    uint64 // group key shares re-sent to peers whose hints show a fresh exec waiting for one
	AttestDrops     uint64 // attest requests of a peer broker beyond its attest budget, dropped before exec sees them
}

// Sizes reports how full the replica's bounded stores are, for tests and operators.
type Sizes struct {
	Inputs     [3]int // inputs waiting per compartment
	Gated      [3]int // inputs held back per compartment until their slot can be acted on (gate.go)
	GateSlots  [3]int // slots the gate tracks per compartment (at most 2L each)
	BatchQueue int    // requests waiting for a batch
	Pending    int    // requests with a running timer
	Clients    int    // clients with a remembered timestamp (≤ registered clients)
	BatchCache int    // batches cached for fetches
	Ring       int    // outputs kept for retransmission
	CertStates int    // checkpoint digests remembered for state transfer
	Held       int    // replies held until their batch is durable
}

// Replica is one replica's broker: an event-driven core with no goroutines and no
// clock. Call HandlePeer, HandleClient and Tick as events happen, then Flush to
// deliver what they queued. It is not safe for concurrent use.
type Replica struct {
	id  uint64
	cfg *spec.Config
	cd  spec.Digest
	enc [3]Enclave
	net Net
	opt Options
	now uint64 // ticks so far

	in      [3]*fifo[input] // inputs waiting per compartment
	stepSrc []uint64        // the sources of the inputs of the Step in progress (input.from)
	batchIn int             // client-batch inputs in in[prep]: proposals not yet reflected in prep's status
	status  [3]spec.Status  // the latest status of each compartment
	// instance counts the installs per role (install), so that the Status of a Step
	// in which the compartment was replaced is not taken for the fresh one's.
	instance [3]uint64
	// confDone maps the slots for which the local conf emitted a COMMIT to their view
	// (withhold.go).
	confDone map[uint64]uint64
	gates    [3]gate // slots held back from conf and exec until they can act on them (gate.go)
	dead     [3]bool // a host error marked the enclave dead
	down     [3]bool // not in service until an admission installs a fresh one (Down)
	m        Metrics

	// sigFailed holds the registered clients with a request that failed R5 here or in
	// prep: their requests are verified on arrival (acceptRequest).
	sigFailed map[uint64]bool

	held        *fifo[heldReply] // replies waiting for Ledger.Durable, in order
	heldBytes   int              // the bytes of their bodies (Options.HeldReplyBytes)
	execCD      spec.Digest      // the configuration exec checks COMMITs under, as the broker saw it accept it (Ledger.Accepted)
	stepReplies []heldReply      // replies of the exec Step in progress

	batch batcher
	budgets
	timers
	recovery

	chain     chain            // the configuration chain (epoch.go)
	hooks     EpochHooks       // the host's callbacks for epochs and admission
	adm       *admission       // the admission in progress (admission.go)
	cluster   *clusterRecovery // the recovery of the whole cluster in progress (cluster_recovery.go)
	snap      *ownSnapshot     // the snapshot being collected for the archive (archive.go)
	snapAsked uint64           // the highest stable seq whose snapshot was asked for
	keyAsked  bool             // seal-key was sent to the exec instance in service
	snapEpoch uint64           // the epoch in which snapAsked was asked
	attests   attestRelay      // who asked for which attestation
	dealt     []dealtShare     // by replica: the last share the local exec dealt for its exec (share_resend.go)
}

// NewReplica returns the broker of replica id, hosting the three configured enclaves
// (prep, conf, exec) of cluster cfg.
func NewReplica(id uint64, cfg *spec.Config, enclaves [3]Enclave, net Net, opt Options) *Replica {
	opt = opt.withDefaults(cfg)
	r := &Replica{id: id, cfg: cfg, cd: spec.ConfigDigest(cfg), enc: enclaves, net: net, opt: opt}
	r.execCD = r.cd // the enclaves are configured with cfg, or will be by a configure input
	for role := range r.in {
		r.in[role] = newFIFO[input](opt.QueueLimit)
		r.status[role] = spec.Status{Role: spec.Role(role), Replica: id, Configured: true, ViewActive: true}
	}
	r.m.Rejections = map[uint64]uint64{}
	r.sigFailed = map[uint64]bool{}
	r.held = newFIFO[heldReply](opt.HeldReplies)
	r.batch = newBatcher(batchHostOf{r}, &r.opt)
	r.budgets.init()
	r.timers.init()
	r.recovery.init(cfg, opt)
	r.chain = chain{genesis: spec.Encode(cfg), first: cfg.Epoch, fwdAt: make([]uint64, cfg.N)}
	r.attests = attestRelay{want: map[spec.Digest]uint64{}, order: newFIFO[spec.Digest](int(4 * cfg.N))}
	return r
}

// ID returns the replica id.
func (r *Replica) ID() uint64 { return r.id }

// Status returns the latest status reported by prep, conf and exec (before any Step,
// the configured state: view 0, active, nothing executed).
func (r *Replica) Status() [3]spec.Status {
	var out [3]spec.Status
	for i := range out {
		out[i] = r.status[i]
		out[i].NeedBatch = append([]spec.Digest(nil), r.status[i].NeedBatch...)
	}
	return out
}

// Metrics returns a copy of the counters.
func (r *Replica) Metrics() Metrics {
	m := r.m
	m.Rejections = maps.Clone(r.m.Rejections)
	return m
}

// Sizes returns the current sizes of the bounded stores.
func (r *Replica) Sizes() Sizes {
	return Sizes{
		Inputs:     [3]int{r.in[0].Len(), r.in[1].Len(), r.in[2].Len()},
		Gated:      [3]int{r.gates[0].held, r.gates[1].held, r.gates[2].held},
		GateSlots:  [3]int{len(r.gates[0].slots), len(r.gates[1].slots), len(r.gates[2].slots)},
		BatchQueue: r.batch.Len(), Pending: len(r.pending), Clients: len(r.lastDone),
		BatchCache: len(r.cache), Ring: r.ring.Len(), CertStates: len(r.certStates),
		Held: r.held.Len(),
	}
}

// primary returns the replica this broker believes is the primary: that of its prep's
// view (prep's view changes exactly when a NEW-VIEW is built or accepted).
// While prep is down (a rejoining replica), it is that of the highest view f+1 peers'
// hints report, one of them correct.
func (r *Replica) primary() uint64 {
	if !r.down[spec.RolePrep] {
		return r.cfg.Primary(r.status[spec.RolePrep].View)
	}
	views := make([]uint64, 0, r.cfg.N)
	for p := range r.cfg.N {
		if p != r.id {
			views = append(views, r.hints[p].View)
		}
	}
	slices.Sort(views)
	return r.cfg.Primary(views[len(views)-int(r.cfg.F)-1])
}

// enqueue queues one input of the broker's own for a local compartment.
func (r *Replica) enqueue(role spec.Role, kind uint64, body []byte) {
	r.push(role, input{Input: spec.Input{Kind: kind, Body: body}})
}

// input is a queued compartment input and where it came from.
type input struct {
	spec.Input
	from   uint64      // 1 + the peer replica whose broker sent it; 0: the broker or a local compartment
	view   uint64      // the View the message names (slotOf), for withheld and the gate
	seq    uint64      // the Seq the message names; 0: withheld and the gate do not look at it
	digest spec.Digest // the Digest it names, for the gate
	sender uint64      // the Replica it names, for the gate
}

// push queues in for a local compartment, or holds it in the compartment's gate.
func (r *Replica) push(role spec.Role, in input) {
	if r.dead[role] || r.down[role] {
		r.m.QueueDrops++
		return
	}
	if r.opt.GateTicks > 0 {
		if r.hold(role, in) {
			return
		}
		r.makeRoom(role)
	}
	r.queue(role, in)
}

// queue queues in for a local compartment, dropping the oldest when full.
func (r *Replica) queue(role spec.Role, in input) {
	if r.dead[role] || r.down[role] {
		r.m.QueueDrops++
		return
	}
	if in.Kind == spec.KindClientBatch {
		r.batchIn++
	}
	if old, dropped := r.in[role].Push(in); dropped {
		r.m.QueueDrops++
		if old.Kind == spec.KindClientBatch {
			r.batchIn--
			r.batch.requeue(old.Body)
		}
	}
}
