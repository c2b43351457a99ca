package confa

import (
	"errors"
	"fmt"
	"io"

	"github.com/splitbft/splitbft/internal/agreea"
	"github.com/splitbft/splitbft/spec"
)

// Build is this implementation's build name, as enrolled (SPEC.md §7.1).
const Build = "conf-a"

// ErrBadInit is returned by Init for an InitRequest that does not decode, names
// another role, or arrives after a successful Init (SPEC.md §7.1, code bad-init).
var ErrBadInit = errors.New("confa: bad-init")

// Conf is the Confirmation compartment (SPEC.md §10). It implements spec.Compartment.
// It is not safe for concurrent use: the host makes one call at a time.
type Conf struct {
	rand    io.Reader // read only by Init: exactly 32 bytes
	workers int       // goroutines verifying certificate signatures; ≤ 1 means sequential

	inited bool
	key    agreea.SigningKey   // valid once inited
	self   spec.EnrollmentBody // this enclave's enrollment; valid once inited

	configured bool
	cfg        *spec.Config // valid once configured; replaced only by an accepted epoch change (§17.4)
	retired    bool         // replaced in a later epoch: every input is rejected (§17.4)
	cd         spec.Digest  // ConfigDigest(cfg)

	v      uint64             // current view
	active bool               // false between a suspicion and the NEW-VIEW that ends it
	cp     agreea.Checkpoints // h, stable certificate, checkpoint store (§8.3)
	// slots[s] holds the view-v messages for s. Invariant: every key s has
	// cp.H() < s ≤ cp.H() + L; slots is empty while !active.
	slots map[uint64]*slot
	// pset[s] is the prepared certificate of the highest view formed for s, kept
	// across views. Invariant: every key s has cp.H() < s ≤ cp.H() + L.
	pset map[uint64]*spec.PreparedCert
	last uint64 // the highest Seq of any COMMIT this conf signed

	out agreea.Outbox // outputs of the Step in progress
}

// New returns an uninitialised Confirmation compartment whose only randomness is
// rand. Certificate signatures of a NEW-VIEW are verified with agreea.DefaultWorkers
// goroutines per Step.
func New(rand io.Reader) *Conf {
	return &Conf{rand: rand, workers: agreea.DefaultWorkers()}
}

// Init handles the InitRequest (SPEC.md §7.1): rules I1–I3, then it reads the 32-byte
// key seed and returns the encoded Enrollment with dev-insecure evidence. A failed
// Init changes nothing (so it may be retried).
func (c *Conf) Init(req []byte) ([]byte, error) {
	replica, err := agreea.CheckInit(req, spec.RoleConf, c.inited)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadInit, err)
	}
	key, self, enr, err := agreea.Enroll(c.rand, spec.RoleConf, replica, Build)
	if err != nil {
		return nil, fmt.Errorf("confa: read key seed: %w", err)
	}
	c.inited, c.key, c.self = true, key, self
	return enr, nil
}

// status returns the Status of §10.7.
// SPEC-AMBIGUITY: §10.7 does not say what ViewActive is before configure; §8.1 makes
// the view active on configure, so an unconfigured conf reports ViewActive false.
func (c *Conf) status() *spec.Status {
	return &spec.Status{Role: spec.RoleConf, Replica: c.self.Replica, Configured: c.configured,
		View: c.v, ViewActive: c.active, Stable: c.cp.H(), Last: c.last}
}

// n returns the number of replicas; window L.
func (c *Conf) n() uint64 { return c.cfg.N }

func (c *Conf) window() uint64 { return c.cfg.Window }

// id returns this replica's id.
func (c *Conf) id() uint64 { return c.self.Replica }
