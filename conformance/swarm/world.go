package swarm

import (
	"crypto/ed25519"

	"github.com/splitbft/splitbft/spec"
)

// world is the simulated cluster as it stands: the configuration, every compartment
// slot, the clients, and the messages in flight (the pool every broker message ever
// emitted goes to, the deliveries the adversary may make, the client requests and
// replies it holds). The adversary changes it by its moves; the oracles read it.
type world struct {
	cfg    *spec.Config // the latest configuration of the chain
	cd     spec.Digest  // its digest
	epochs []epochInfo  // the chain, by epoch number: every configuration certified so far
	null   spec.Digest  // the null batch's digest
	nodes  [][3]*node   // by replica and role

	clients    []*swarmClient
	admin      *swarmClient               // the brokers' client: submits config operations (SPEC §17.5 step 3)
	admissions map[spec.Digest]*admission // enrollments on their way in, by enrollment digest
	bogusCount uint64                     // admissions the adversary vouched for
	pool       []msg                      // every message emitted, by id
	byKind     map[uint64][]int           // pool ids by kind
	pending    []delivery                 // deliveries the adversary may make
	replies    []replyDelivery            // replies on their way to clients
	requests   []request                  // client requests in the adversary's hands

	batches   map[spec.Digest]*batchInfo        // every batch seen anywhere
	batchList []spec.Digest                     // the keys of batches, in the order seen
	ckSigners map[uint64]map[spec.Digest]uint64 // seq → state digest → bit set of the execs whose CHECKPOINT for it verified

	member ed25519.PrivateKey // the governance member's key (members.go)
	disks  []*disk            // what each replica's broker persists, by replica (disk.go)
}

func newWorld() world {
	return world{byKind: map[uint64][]int{}, batches: map[spec.Digest]*batchInfo{},
		ckSigners: map[uint64]map[spec.Digest]uint64{}, admissions: map[spec.Digest]*admission{}}
}

// batch returns the batch seen with digest d, or nil.
func (w *world) batch(d spec.Digest) *batchInfo { return w.batches[d] }

// quorum returns 2f+1.
func (w *world) quorum() int { return w.cfg.Quorum() }

// nullDigest returns the null batch's digest.
func (w *world) nullDigest() spec.Digest { return w.null }

// message returns pool message id.
func (w *world) message(id int) *msg { return &w.pool[id] }

// epochCfg returns the configuration of epoch e.
func (w *world) epochCfg(e uint64) *spec.Config { return w.epochs[e].cfg }

// node returns the slot id.
func (w *world) node(id enclaveID) *node { return w.nodes[id.Replica][id.Role] }
