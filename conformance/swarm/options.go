package swarm

import (
	"fmt"
	"math/rand/v2"

	"github.com/splitbft/splitbft/spec"
)

// Profile names an adversary profile: the mix of actions the union of brokers takes
// in the safety phase.
type Profile string

// The adversary profiles. The four fixed ones are run over every Byzantine placement;
// ProfileMixed draws its weights from the seed.
const (
	ProfileMixed      Profile = "mixed"      // everything, weights drawn from the seed
	ProfileLossy      Profile = "lossy"      // heavy loss, duplication and replay
	ProfilePartition  Profile = "partition"  // partitions and selective delivery per compartment
	ProfileTimers     Profile = "timers"     // early and withheld suspicions: view-change storms
	ProfileEquivocate Profile = "equivocate" // equivocation, mutation, Twins and restarts
)

// Profiles lists the four fixed adversary profiles of the placement runs.
var Profiles = []Profile{ProfileLossy, ProfilePartition, ProfileTimers, ProfileEquivocate}

// Behaviour is a bit set of Byzantine enclave behaviours.
type Behaviour uint8

// Byzantine behaviours.
const (
	BSilent     Behaviour = 1 << iota // drops every output
	BEquivocate                       // signs a conflicting variant of what it signs
	BMutate                           // signs small-scope mutations (view/seq ±1, digest, replica id)
	BStale                            // re-signs its old messages for older views and sequences
	BEager                            // signs for anything it saw, without a certificate
	BTwins                            // two instances of the identity, fed different inputs
)

func (b Behaviour) String() string {
	names := []string{"silent", "equivocate", "mutate", "stale", "eager", "twins"}
	s := ""
	for i, n := range names {
		if b&(1<<i) != 0 {
			if s != "" {
				s += "+"
			}
			s += n
		}
	}
	if s == "" {
		return "none"
	}
	return s
}

// Placement names the Byzantine enclaves: Byz[role] are the replica ids whose
// enclave of that role is Byzantine (at most f per role), Beh[role][k] the
// behaviours of Byz[role][k].
type Placement struct {
	Byz [3][]uint64
	Beh [3][]Behaviour
}

// String renders the placement as "p:1 c:- e:3".
func (p Placement) String() string {
	s := ""
	for role, ids := range p.Byz {
		if role > 0 {
			s += " "
		}
		s += spec.RoleName(spec.Role(role))[:1] + ":"
		if len(ids) == 0 {
			s += "-"
		}
		for k, id := range ids {
			if k > 0 {
				s += ","
			}
			s += fmt.Sprintf("%d(%s)", id, p.Beh[role][k])
		}
	}
	return s
}

// isByz reports whether enclave (role, replica) is Byzantine, and its behaviours.
func (p Placement) isByz(role spec.Role, r uint64) (Behaviour, bool) {
	for k, id := range p.Byz[role] {
		if id == r {
			return p.Beh[role][k], true
		}
	}
	return 0, false
}

// PlacementIndex returns placement number i (0 ≤ i < n^3) for f = 1: one Byzantine
// enclave per role, at replicas (i mod n, i/n mod n, i/n² mod n), with behaviours
// drawn from the profile and seed.
func PlacementIndex(i int, n uint64, profile Profile, seed uint64) Placement {
	rng := rand.New(rand.NewPCG(seed, uint64(i)^0x9e3779b97f4a7c15))
	var p Placement
	for role := range 3 {
		p.Byz[role] = []uint64{uint64(i) % n}
		p.Beh[role] = []Behaviour{drawBehaviour(rng, profile, spec.Role(role))}
		i /= int(n)
	}
	return p
}

// drawBehaviour picks a Byzantine enclave's behaviours for a profile.
func drawBehaviour(rng *rand.Rand, profile Profile, role spec.Role) Behaviour {
	if rng.IntN(8) == 0 {
		return BSilent
	}
	b := Behaviour(0)
	for _, c := range []Behaviour{BEquivocate, BMutate, BStale, BEager} {
		if rng.IntN(2) == 0 {
			b |= c
		}
	}
	if profile == ProfileEquivocate || (profile == ProfileMixed && rng.IntN(3) == 0) {
		b |= BEquivocate | BEager
		if rng.IntN(2) == 0 {
			b |= BTwins
		}
	}
	if b == 0 {
		b = BEquivocate
	}
	_ = role
	return b
}

// Params are the swarm parameters of one run, drawn from the seed (or given).
type Params struct {
	F        uint64
	K, L     uint64 // checkpoint interval and window
	MaxBatch uint64 // MaxBatchRequests
	MaxOps   uint64 // MaxRequestOps
	Clients  int

	Loss, Replay, Dup float64 // per delivery: drop, replay instead, deliver and keep
	Suspect           float64 // weight of a suspicion action
	Partitions        bool    // the adversary partitions the replicas at times
	Withhold          []Route // (input kind, role) pairs the adversary mostly drops, all run long
	Selective         float64 // chance that an episode withholds routes from some replicas
	Restarts          int     // enclave restarts allowed
	Builds            [][2]byte
	WholeRestarts     []int // safety-phase steps at which every enclave stops (SPEC §17.8); none in most runs
}

// Route is an input kind delivered to a role.
type Route struct {
	Kind uint64
	Role spec.Role
}

// drawParams draws the swarm parameters of a run from its seed and profile.
func drawParams(seed uint64, profile Profile, f uint64) Params {
	rng := rand.New(rand.NewPCG(seed, 0x5a4a2d))
	p := Params{F: f, Clients: 1 + rng.IntN(4), MaxOps: 1 + uint64(rng.IntN(3))}
	p.K = 1 + uint64(rng.IntN(4))
	p.L = p.K * (2 + uint64(rng.IntN(3)))
	p.MaxBatch = 1 + uint64(rng.IntN(4))
	n := 3*f + 1
	for range n {
		p.Builds = append(p.Builds, [2]byte{"ab"[rng.IntN(2)], "ab"[rng.IntN(2)]})
	}
	p.Loss = rng.Float64() * 0.10
	p.Replay = rng.Float64() * 0.15
	p.Dup = rng.Float64() * 0.05
	p.Suspect = 0.2 + rng.Float64()*0.6
	p.Selective = 0.2 + rng.Float64()*0.3
	switch profile {
	case ProfileLossy:
		p.Loss, p.Replay, p.Dup = 0.1+rng.Float64()*0.2, 0.2+rng.Float64()*0.3, 0.05+rng.Float64()*0.15
	case ProfilePartition:
		p.Partitions = true
		p.Selective = 0.6 + rng.Float64()*0.4
		if rng.IntN(4) == 0 {
			p.Withhold = drawWithhold(rng, 1)
		}
	case ProfileTimers:
		p.Suspect = 2 + rng.Float64()*3
		p.Replay = 0.1 + rng.Float64()*0.2
	case ProfileEquivocate:
		p.Restarts = rng.IntN(4)
	case ProfileMixed:
		p.Loss, p.Replay = rng.Float64()*0.3, rng.Float64()*0.5
		p.Partitions = rng.IntN(2) == 0
		p.Selective = rng.Float64()
		if rng.IntN(8) == 0 {
			p.Withhold = drawWithhold(rng, 1)
		}
		p.Suspect = 0.1 + rng.Float64()*1.4
		p.Restarts = rng.IntN(4)
		p.WholeRestarts = drawWholeRestarts(rng)
	}
	return p
}

// drawWholeRestarts places the whole-cluster restarts of a mixed run: in one run of
// four, one at a random safety step, sometimes a second one later.
func drawWholeRestarts(rng *rand.Rand) []int {
	if rng.IntN(4) != 0 {
		return nil
	}
	at := []int{150 + rng.IntN(1000)}
	if rng.IntN(4) == 0 {
		at = append(at, at[0]+100+rng.IntN(200))
	}
	return at
}

// drawWithhold picks k routes the adversary mostly drops (selective delivery).
func drawWithhold(rng *rand.Rand, k int) []Route {
	all := []Route{
		{spec.KindPrePrepare, spec.RoleConf}, {spec.KindPrepare, spec.RoleConf},
		{spec.KindCommit, spec.RoleExec}, {spec.KindBatch, spec.RoleExec},
		{spec.KindProposal, spec.RolePrep}, {spec.KindCheckpoint, spec.RoleExec},
		{spec.KindNewView, spec.RoleConf}, {spec.KindViewChange, spec.RolePrep},
	}
	var out []Route
	for range k {
		out = append(out, all[rng.IntN(len(all))])
	}
	return out
}

// drawPlacement draws a Byzantine placement: per role 0..f enclaves at distinct
// replicas, independently per role.
func drawPlacement(seed uint64, profile Profile, f uint64) Placement {
	rng := rand.New(rand.NewPCG(seed, 0xb12a))
	n := 3*f + 1
	var p Placement
	for role := range 3 {
		k := rng.IntN(int(f) + 1)
		if profile != ProfileMixed && k == 0 {
			k = 1
		}
		perm := rng.Perm(int(n))
		for _, id := range perm[:k] {
			p.Byz[role] = append(p.Byz[role], uint64(id))
			p.Beh[role] = append(p.Beh[role], drawBehaviour(rng, profile, spec.Role(role)))
		}
	}
	return p
}

// Mutant names a deliberately broken build deployed on every replica for one role.
type Mutant string

// The mutants: each breaks one rule of SPEC.md that safety depends on.
const (
	MutantNone             Mutant = ""
	MutantConfNoPrePrepare Mutant = "conf-commit-without-pre-prepare" // §10.3: commits on 2f PREPAREs alone
	MutantExecTwoF         Mutant = "exec-executes-on-2f-commits"     // §11.4: q replaced by 2f
	MutantPrepSecondDigest Mutant = "prep-prepares-second-digest"     // §9.4 P7: accepts a conflicting proposal
	MutantExecAdmitTwoF    Mutant = "exec-admits-on-2f-attestations"  // §17.2 AD3: q replaced by 2f
	MutantToolLowHead      Mutant = "tool-recovers-to-a-lower-head"   // §17.8: the members' tool replays to below the highest proven head
)

// Mutants lists the mutants.
var Mutants = []Mutant{MutantConfNoPrePrepare, MutantExecTwoF, MutantPrepSecondDigest, MutantExecAdmitTwoF, MutantToolLowHead}
