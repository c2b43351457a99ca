package conformance

import (
	"crypto/sha256"
	"encoding/binary"
	"math/rand/v2"

	"github.com/splitbft/splitbft/spec"
)

// This file is the differential generator's model of one episode: what the
// compartment under test has probably accepted (view, stable checkpoint, proposals),
// so that most generated inputs are relevant, and the menu of inputs per role. The
// model is approximate by design (it guesses acceptance without seeing outputs): a
// wrong guess only makes later inputs borderline, which is also wanted.

// diffGen produces the differential steps of one role and seed, episode by episode.
type diffGen struct {
	role    spec.Role
	seed    uint64
	episode int // index of the current episode, -1 before the first
	left    int // steps left in the current episode
	w       *world
}

// diffStep is one generated step.
type diffStep struct {
	episode *diffEpisode // non-nil on the first step of an episode: start a fresh compartment
	input   []byte       // the StepInput bytes
}

func newDiffGen(role spec.Role, seed uint64) *diffGen {
	return &diffGen{role: role, seed: seed, episode: -1}
}

func (g *diffGen) next() diffStep {
	var st diffStep
	if g.left == 0 {
		g.episode++
		g.left = DiffEpisodeSteps
		g.w = newWorld(g.role, g.seed, g.episode)
		st.episode = &diffEpisode{seed: g.w.fx.Seed, role: g.role, replica: g.w.id}
	}
	g.left--
	st.input = g.w.step()
	return st
}

// proposed is a (view, seq, digest) the world believes the compartment accepted.
type proposed struct {
	view, seq uint64
	digest    spec.Digest
}

// world is the generator's state for one episode.
type world struct {
	fx         *Fixture
	rng        *rand.Rand
	role       spec.Role
	id, n, q   uint64
	configured bool
	pre        int    // inputs sent before configure
	v          uint64 // believed view of the compartment
	active     bool   // conf: believed not view-changing
	h          uint64 // believed stable checkpoint
	stable     spec.CheckpointCert
	next       uint64              // next sequence number a primary proposes
	history    []proposed          // believed accepted proposals, oldest first
	cps        map[uint64][]uint64 // seq -> senders of true checkpoints for seq > h
	far        map[uint64]uint64   // sender -> its far checkpoint's seq (beyond h + L)
	vcView     uint64              // the view VIEW-CHANGEs are mostly generated for
	latest     []*spec.ViewChange  // prep: per sender, its highest-view valid VIEW-CHANGE above v
	nvSent     map[uint64]bool     // prep: the views it built a NEW-VIEW for
	recent     []spec.Input        // the last inputs, for exact duplicates
	ts         []uint64            // last timestamp used, per fixture client
}

// episodeParams varies the cluster shape across episodes: mostly the default, every
// third a tiny window (K = 2, L = 4) so that window edges are hit often, every fifth
// f = 2 (n = 7).
func episodeParams(k int) Params {
	p := DefaultParams()
	switch {
	case k%5 == 4:
		p.F = 2
	case k%3 == 2:
		p = Params{F: 1, K: 2, L: 4, MaxBatch: 4, MaxOps: 2, MaxOpBytes: 64, Clients: 2}
	}
	return p
}

// newWorld starts episode k of the run (role, seed): its own enclave seed, cluster
// shape and replica id (k mod n).
func newWorld(role spec.Role, seed uint64, k int) *world {
	h := sha256.Sum256(binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(
		[]byte("splitbft/v1/differential\x00"), seed), uint64(k)))
	epSeed := binary.BigEndian.Uint64(h[:8]) >> 16
	p := episodeParams(k)
	n := 3*p.F + 1
	id := uint64(k) % n
	fx, err := NewFixture(epSeed, p, role, id, DerivedEnrollment(epSeed, role, id))
	if err != nil {
		panic("conformance: differential fixture: " + err.Error()) // a generator bug
	}
	return &world{fx: fx, rng: rand.New(rand.NewPCG(seed, uint64(k))), role: role, id: id, n: n,
		q: 2*p.F + 1, active: true, stable: fx.CheckpointCert(0, spec.Digest{}), next: 1,
		cps: map[uint64][]uint64{}, far: map[uint64]uint64{}, vcView: 1,
		latest: make([]*spec.ViewChange, n), nvSent: map[uint64]bool{}, ts: make([]uint64, p.Clients)}
}

// chance returns true with probability pct percent.
func (w *world) chance(pct int) bool { return w.rng.IntN(100) < pct }

// pick returns an index chosen with the given weights.
func (w *world) pick(weights ...int) int {
	total := 0
	for _, x := range weights {
		total += x
	}
	r := w.rng.IntN(total)
	for i, x := range weights {
		if r < x {
			return i
		}
		r -= x
	}
	return len(weights) - 1
}

// step returns the next StepInput bytes.
func (w *world) step() []byte {
	if !w.configured {
		if w.pre < 2 && w.chance(30) {
			w.pre++
			return spec.Encode(&spec.StepInput{Inputs: []spec.Input{w.preConfigure()}})
		}
		w.configured = true
		return spec.Encode(&spec.StepInput{Inputs: []spec.Input{w.fx.Configure()}})
	}
	if w.chance(4) {
		return w.rawGarbage()
	}
	count := 1
	if w.chance(20) {
		count = 2 + w.rng.IntN(2)
	}
	var in spec.StepInput
	for range count {
		in.Inputs = append(in.Inputs, w.input())
	}
	return spec.Encode(&in)
}

// input returns one input from the role's menu and remembers it.
func (w *world) input() spec.Input {
	var in spec.Input
	switch {
	case len(w.recent) > 0 && w.chance(7):
		in = w.recent[w.rng.IntN(len(w.recent))] // an exact duplicate
	case w.chance(5):
		in = w.garbage()
	case w.role == spec.RolePrep:
		in = w.prepInput()
	default:
		in = w.confInput()
	}
	w.recent = append(w.recent, in)
	if len(w.recent) > 24 {
		w.recent = w.recent[1:]
	}
	return in
}

func (w *world) prepInput() spec.Input {
	primary := w.fx.Primary(w.v) == w.id
	switch w.pick(30, 16, 16, 8, 3, 2) {
	case 0:
		if primary != w.chance(10) {
			return w.clientBatch()
		}
		return w.proposal()
	case 1:
		return w.checkpoint()
	case 2:
		return w.viewChange()
	case 3:
		return w.newView()
	case 5:
		return w.epochChange()
	}
	return w.configureAgain()
}

func (w *world) confInput() spec.Input {
	nv := 9
	if !w.active {
		nv = 30 // end view changes soon, so that most prepares meet an active conf
	}
	switch w.pick(14, 34, 14, 4, nv, 3, 2) {
	case 0:
		return w.prePrepare()
	case 1:
		return w.prepare()
	case 2:
		return w.checkpoint()
	case 3:
		return w.suspect()
	case 4:
		return w.newView()
	case 6:
		return w.epochChange()
	}
	return w.configureAgain()
}

// current returns a believed-accepted proposal of the current view, preferring recent
// ones, or false if there is none.
func (w *world) current() (proposed, bool) {
	for i := 0; i < 4 && len(w.history) > 0; i++ {
		p := w.history[len(w.history)-1-w.rng.IntN(min(len(w.history), 6))]
		if p.view == w.v && p.seq > w.h {
			return p, true
		}
	}
	return proposed{}, false
}

// accept records a proposal the compartment probably accepted.
func (w *world) accept(p proposed) {
	w.history = append(w.history, p)
	if len(w.history) > 64 {
		w.history = w.history[1:]
	}
	w.next = max(w.next, p.seq+1)
}

// enterView moves the model to view v after a NEW-VIEW with stable cert st and the
// given O entries.
func (w *world) enterView(v uint64, st spec.CheckpointCert, o []spec.Slot) {
	w.v, w.active, w.vcView = v, true, v+1
	for r, vc := range w.latest {
		if vc != nil && vc.Body.View <= v {
			w.latest[r] = nil
		}
	}
	w.setStable(st)
	w.next = w.h + 1 // a new view restarts at max(h, maxS) + 1 (§9.6)
	for _, s := range o {
		w.accept(proposed{view: v, seq: s.Seq, digest: s.Digest})
	}
}

// setStable adopts a higher stable checkpoint certificate.
func (w *world) setStable(st spec.CheckpointCert) {
	if st.Seq <= w.h {
		return
	}
	w.h, w.stable = st.Seq, st
	for s := range w.cps {
		if s <= w.h {
			delete(w.cps, s)
		}
	}
	for r, s := range w.far {
		if s <= w.h+w.fx.Params.L {
			delete(w.far, r)
		}
	}
	w.next = max(w.next, w.h+1)
}
