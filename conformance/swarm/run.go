package swarm

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"

	"github.com/splitbft/splitbft/spec"
)

// Options configures one run. Zero values take the defaults noted. A run is a pure
// function of its Options: the same Options give the same run, step for step.
type Options struct {
	Seed          uint64
	Profile       Profile    // default ProfileMixed
	F             uint64     // default 1 (n = 4)
	Placement     *Placement // Byzantine enclaves; nil: drawn from the seed
	Params        *Params    // swarm parameters; nil: drawn from the seed and profile
	SafetySteps   int        // adversary actions in the safety phase; default 1500
	LivenessSteps int        // bound on compartment steps in the liveness phase; default 4000
	Mutant        Mutant     // a broken build on every replica of one role
	SkipNVersion  bool       // do not record and replay traces on the other build
	SkipLiveness  bool       // stop after the safety phase
	WholeRestart  bool       // every run has a whole-cluster restart (drawn from the seed where Params has none)
	ScenarioDir   string     // on failure, write a replayable scenario file here
	Log           io.Writer  `json:"-"` // every event, as it happens (debugging)
}

func (o Options) withDefaults() Options {
	if o.Profile == "" {
		o.Profile = ProfileMixed
	}
	if o.F == 0 {
		o.F = 1
	}
	if o.SafetySteps == 0 {
		o.SafetySteps = 1500
	}
	if o.LivenessSteps == 0 {
		o.LivenessSteps = 4000
	}
	return o
}

// Stats counts what a run did.
type Stats struct {
	Steps         int // compartment Step calls
	Actions       [numActions]int
	Delivered     int
	Dropped       int
	Duplicated    int
	Replayed      int
	Suspects      int
	ClientBatches int
	ByzMessages   int
	Restarts      int
	Epochs        int // epoch changes certified (SPEC §17)
	Admitted      int // restarted or rejuvenated enclaves admitted and configured in a new epoch
	Rejuvenations int // fresh instances started next to a running correct enclave (proactive recovery)
	Retired       int // replaced instances that accepted the epoch change and then rejected as retired
	Partitions    int
	Transfers     int    // state transfers completed by correct execs
	Completed     int    // client requests completed
	MaxExecuted   uint64 // highest sequence number a correct exec executed
	MaxView       uint64 // highest view of a correct conf
	LivenessSteps int    // steps the liveness phase took
	InactiveConfs int    // correct replicas' confs inactive when the liveness phase's requests completed (returned to service after)
	TraceSteps    int    // StepInputs replayed on the other build
	MutantActs    int    // times a mutant did what a correct build would not
	Splits        int    // split-brain attacks on an equivocated slot
	HistoryOps    int    // completed requests checked for linearizability
	WholeRestarts int    // whole-cluster restarts (every enclave stopped, SPEC §17.8)
	Recoveries    int    // whole-cluster recoveries completed (a Recovery started the next epoch)
}

// Report is the outcome of one run.
type Report struct {
	Seed      uint64
	Profile   Profile
	Mutant    Mutant
	Params    Params
	Placement Placement
	Stats     Stats
	Failure   *Failure // nil: every oracle held
	Scenario  string   // the scenario file written for a failure, if any
	Notes     []string // observations that are not violations (e.g. a Byzantine enclave's compartment panicked)
}

func (r Report) String() string {
	res := "ok"
	if r.Failure != nil {
		res = "FAIL " + r.Failure.Error()
	}
	return fmt.Sprintf("seed=%d profile=%s mutant=%q placement=[%s] K=%d L=%d batch=%d clients=%d loss=%.2f replay=%.2f: steps=%d executed=%d view=%d completed=%d transfers=%d restarts=%d epochs=%d admitted=%d liveness=%d: %s",
		r.Seed, r.Profile, r.Mutant, r.Placement, r.Params.K, r.Params.L, r.Params.MaxBatch, r.Params.Clients,
		r.Params.Loss, r.Params.Replay, r.Stats.Steps, r.Stats.MaxExecuted, r.Stats.MaxView, r.Stats.Completed,
		r.Stats.Transfers, r.Stats.Restarts, r.Stats.Epochs, r.Stats.Admitted, r.Stats.LivenessSteps, res)
}

// sim is one run: the world (the cluster and the messages in flight), the adversary
// that moves it (a malicious broker of every replica and the Byzantine enclaves), and
// the oracles that check every step; plus what they share: the run's options, its
// one random stream and where the run is.
//
// The three parts are separate types that own their state (world.go, strategy.go,
// oracle.go); the run loop and the moves are methods of sim, which sees all three.
type sim struct {
	opt   Options
	p     Params
	place Placement
	rng   *rand.Rand // the run's one random stream: the adversary's moves and the clients' operations draw from it in turn

	step   int    // the adversary action (safety phase) or round (liveness phase) under way
	phase  string // safety, liveness or n-version
	events eventLog
	stats  Stats
	notes  []string

	live            *fairState // liveness phase: the fair broker's state
	storeFullNeeded int        // liveness phase: needed batches correct execs refused as store-full

	world
	adversary
	oracles
}

// note records an observation for the report (at most a few).
func (s *sim) note(format string, a ...any) {
	if len(s.notes) < 8 {
		s.notes = append(s.notes, fmt.Sprintf("step %d: ", s.step)+fmt.Sprintf(format, a...))
	}
}

// Run performs one seeded run: bootstrap, safety phase, liveness phase, N-version
// replay. On a failure with Options.ScenarioDir set it writes a scenario file that
// LoadScenario turns back into these Options.
func Run(opt Options) Report {
	_, rep := run(opt)
	return rep
}

// run is Run returning the simulator too (for tests that look inside).
func run(opt Options) (*sim, Report) {
	opt = opt.withDefaults()
	s := newSim(opt)
	rep := Report{Seed: opt.Seed, Profile: opt.Profile, Mutant: opt.Mutant, Params: s.p, Placement: s.place}
	if err := s.buildCluster(); err != nil {
		s.fail("bootstrap", "%v", err)
	}
	s.phase = "safety"
	for s.step = 0; s.step < opt.SafetySteps && s.failure == nil; s.step++ {
		s.adversaryStep()
	}
	if s.failure == nil && !opt.SkipLiveness {
		s.liveness()
	}
	if s.failure == nil {
		s.checkLinearizable(len(s.clients))
	}
	if s.failure == nil && !opt.SkipNVersion {
		s.phase = "n-version"
		s.checkNVersion(opt.ScenarioDir, opt.Seed)
	}
	s.finishStats()
	rep.Stats, rep.Failure, rep.Notes = s.stats, s.failure, s.notes
	if s.failure != nil && opt.ScenarioDir != "" {
		rep.Scenario = writeScenario(opt, s.p, s.place, s.failure)
	}
	return s, rep
}

// newSim draws the run's parameters and placement.
func newSim(opt Options) *sim {
	s := &sim{opt: opt, rng: rand.New(rand.NewPCG(opt.Seed, 0x5177a12)),
		world: newWorld(), adversary: newAdversary(), oracles: newOracles()}
	s.member = memberKey(opt.Seed)
	s.oracles.where = func() (int, string, []string) { return s.step, s.phase, s.events.lines() }
	s.oracles.stats = &s.stats
	s.oracles.seen = s
	s.events.w = opt.Log
	if opt.Params != nil {
		s.p = *opt.Params
	} else {
		s.p = drawParams(opt.Seed, opt.Profile, opt.F)
	}
	if opt.WholeRestart && len(s.p.WholeRestarts) == 0 {
		s.p.WholeRestarts = []int{150 + rand.New(rand.NewPCG(opt.Seed, 0x301e)).IntN(1000)}
	}
	if opt.Placement != nil {
		s.place = *opt.Placement
	} else {
		s.place = drawPlacement(opt.Seed, opt.Profile, opt.F)
	}
	s.setWeights(weightsFor(s.p, opt.Profile, s.place))
	for _, beh := range s.place.Beh[spec.RolePrep] {
		if beh&BEquivocate != 0 && (opt.Profile == ProfileEquivocate || s.rng.IntN(2) == 0) {
			s.steering = true
		}
	}
	return s
}

// finishStats records the highest view a correct conf reached.
func (s *sim) finishStats() {
	for r := range s.nodes {
		if nd := s.nodes[r][spec.RoleConf]; nd.correct() {
			s.stats.MaxView = max(s.stats.MaxView, nd.status.View)
		}
	}
}

// scenario is the content of a scenario file.
type scenario struct {
	Options Options
	Failure *Failure
}

// writeScenario writes the run's options (with the drawn parameters and placement
// made explicit) and its failure as JSON; it returns the path.
func writeScenario(opt Options, p Params, place Placement, f *Failure) string {
	opt.Params, opt.Placement = &p, &place
	data, err := json.MarshalIndent(scenario{opt, f}, "", "  ")
	if err != nil {
		return ""
	}
	name := fmt.Sprintf("swarm-%d-%s", opt.Seed, opt.Profile)
	if opt.Mutant != "" {
		name += "-" + string(opt.Mutant)
	}
	path := filepath.Join(opt.ScenarioDir, name+".json")
	if os.WriteFile(path, data, 0o644) != nil {
		return ""
	}
	return path
}

// LoadScenario reads a scenario file written for a failure and returns the Options
// that replay the run.
func LoadScenario(path string) (Options, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Options{}, err
	}
	var sc scenario
	if err := json.Unmarshal(data, &sc); err != nil {
		return Options{}, fmt.Errorf("swarm: scenario %s: %w", path, err)
	}
	return sc.Options, nil
}

// eventLog keeps the last events of a run for failure reports, and writes every
// event to w if set.
type eventLog struct {
	ring [48]string
	next int
	w    io.Writer
}

func (e *eventLog) add(line string) {
	e.ring[e.next%len(e.ring)] = line
	e.next++
	if e.w != nil {
		fmt.Fprintln(e.w, line)
	}
}

// lines returns the kept events, oldest first.
func (e *eventLog) lines() []string {
	var out []string
	for i := max(0, e.next-len(e.ring)); i < e.next; i++ {
		out = append(out, e.ring[i%len(e.ring)])
	}
	return out
}

// logf records an event.
func (s *sim) logf(format string, a ...any) { s.events.add(fmt.Sprintf(format, a...)) }

// logStep records a delivery and its reject codes.
func (s *sim) logStep(nd *node, inputs []spec.Input, codes []uint64) {
	var b strings.Builder
	fmt.Fprintf(&b, "%d %s <- %s", s.step, nd.id, describeInputs(inputs))
	if nd.byz != nil {
		b.WriteString(" [byzantine]")
	} else if nd.restarted {
		b.WriteString(" [restarted]")
	}
	for i, c := range codes {
		if c != 0 {
			fmt.Fprintf(&b, " #%d:%s", i, spec.CodeName(c))
		}
	}
	s.events.add(b.String())
}
