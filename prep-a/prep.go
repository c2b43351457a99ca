package prepa

import (
	"errors"
	"fmt"
	"io"

	"github.com/splitbft/splitbft/internal/agreea"
	"github.com/splitbft/splitbft/spec"
)

// Build is this implementation's build name, as enrolled (SPEC.md §7.1).
const Build = "prep-a"

// ErrBadInit is returned by Init for an InitRequest that does not decode, names
// another role, or arrives after a successful Init (SPEC.md §7.1, code bad-init).
var ErrBadInit = errors.New("prepa: bad-init")

// Prep is the Preparation compartment (SPEC.md §9). It implements spec.Compartment.
// It is not safe for concurrent use: the host makes one call at a time.
type Prep struct {
	rand    io.Reader // read only by Init: exactly 32 bytes
	workers int       // goroutines verifying signatures within one Step; ≤ 1 means sequential

	inited bool
	key    agreea.SigningKey   // valid once inited
	self   spec.EnrollmentBody // this enclave's enrollment; valid once inited

	configured bool
	cfg        *spec.Config // valid once configured; replaced only by an accepted epoch change (§17.4)
	retired    bool         // replaced in a later epoch: every input is rejected (§17.4)
	cd         spec.Digest  // ConfigDigest(cfg)

	v  uint64             // current view
	cp agreea.Checkpoints // h, stable certificate, checkpoint store (§8.3)
	// seqHigh is the highest sequence number signed (PRE-PREPARE or PREPARE) in view
	// v, as adjusted by checkpoints and view entry. Invariant: seqHigh ≥ cp.H().
	seqHigh uint64
	// accepted[s] is the digest proposed or prepared at (v, s). Invariant: every key
	// s has cp.H() < s ≤ cp.H() + L and s ≤ seqHigh.
	accepted map[uint64]spec.Digest
	// vcs[r] is the latest-view VIEW-CHANGE accepted from conf r. Invariant: every
	// entry has Body.Replica == r and Body.View > v; at most n entries.
	vcs map[uint64]*storedViewChange
	// lastNewView is the highest view this prep built a NEW-VIEW for (0: none). It
	// stands for the set nvSent of §9.2: a NEW-VIEW is built only when entering its
	// view, so every view in nvSent is ≤ lastNewView ≤ v.
	lastNewView uint64

	out agreea.Outbox // outputs of the Step in progress
}

// storedViewChange is an accepted VIEW-CHANGE and its exact received bytes.
type storedViewChange struct {
	vc  spec.ViewChange
	raw []byte // == spec.Encode(&vc)
}

// New returns an uninitialised Preparation compartment whose only randomness is rand.
// Signature verification of client batches and certificates uses
// agreea.DefaultWorkers goroutines per Step.
func New(rand io.Reader) *Prep {
	return &Prep{rand: rand, workers: agreea.DefaultWorkers()}
}

// Init handles the InitRequest (SPEC.md §7.1): rules I1–I3, then it reads the 32-byte
// key seed and returns the encoded Enrollment with dev-insecure evidence. A failed
// Init changes nothing (so it may be retried).
func (p *Prep) Init(req []byte) ([]byte, error) {
	replica, err := agreea.CheckInit(req, spec.RolePrep, p.inited)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadInit, err)
	}
	key, self, enr, err := agreea.Enroll(p.rand, spec.RolePrep, replica, Build)
	if err != nil {
		return nil, fmt.Errorf("prepa: read key seed: %w", err)
	}
	p.inited, p.key, p.self = true, key, self
	return enr, nil
}

// status returns the Status of §9.8.
func (p *Prep) status() *spec.Status {
	return &spec.Status{Role: spec.RolePrep, Replica: p.self.Replica, Configured: p.configured,
		View: p.v, ViewActive: true, Stable: p.cp.H(), Last: p.seqHigh}
}

// n returns the number of replicas; q the quorum; window L.
func (p *Prep) n() uint64 { return p.cfg.N }

func (p *Prep) q() int { return p.cfg.Quorum() }

func (p *Prep) window() uint64 { return p.cfg.Window }

// id returns this replica's id.
func (p *Prep) id() uint64 { return p.self.Replica }

// isPrimary reports whether this prep is primary(view).
func (p *Prep) isPrimary(view uint64) bool { return p.cfg.Primary(view) == p.id() }
