package confa

import (
	"errors"
	"fmt"
	"io"

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
	key    signingKey
	self   spec.EnrollmentBody // this enclave's enrollment; valid once inited

	configured bool
	cfg        *spec.Config // valid once configured; never changes afterwards
	cd         spec.Digest  // ConfigDigest(cfg)

	v      uint64      // current view
	active bool        // false between a suspicion and the NEW-VIEW that ends it
	cp     checkpoints // h, stable certificate, checkpoint store (§8.3)
	// slots[s] holds the view-v messages for s. Invariant: every key s has
	// cp.h < s ≤ cp.h + L; slots is empty while !active.
	slots map[uint64]*slot
	// pset[s] is the prepared certificate of the highest view formed for s, kept
	// across views. Invariant: every key s has cp.h < s ≤ cp.h + L.
	pset map[uint64]*spec.PreparedCert
	last uint64 // the highest Seq of any COMMIT this conf signed

	out []spec.Output // outputs of the Step in progress
}

// New returns an uninitialised Confirmation compartment whose only randomness is
// rand. Certificate signatures of a NEW-VIEW are verified with defaultWorkers
// goroutines per Step.
func New(rand io.Reader) *Conf {
	return &Conf{rand: rand, workers: defaultWorkers()}
}

// Init handles the InitRequest (SPEC.md §7.1): rules I1–I3, then it reads the 32-byte
// key seed and returns the encoded Enrollment with dev-insecure evidence. A failed
// Init changes nothing (so it may be retried).
func (c *Conf) Init(req []byte) ([]byte, error) {
	// SPEC-AMBIGUITY: §2.4 lists no cap for an InitRequest; we use the cap of "every
	// other kind" (48 MiB). §7.1 I3 says "Init has not been called before"; we count
	// only a successful Init as called, since a rejected input changes no state.
	var r spec.InitRequest
	if err := spec.Decode(req, &r, spec.MaxMessageBytes); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadInit, err)
	}
	if r.Role != spec.RoleConf {
		return nil, fmt.Errorf("%w: role %d is not conf", ErrBadInit, r.Role)
	}
	if c.inited {
		return nil, fmt.Errorf("%w: Init called twice", ErrBadInit)
	}
	key, err := generateKey(c.rand)
	if err != nil {
		return nil, fmt.Errorf("confa: read key seed: %w", err)
	}
	c.inited, c.key = true, key
	c.self = spec.EnrollmentBody{Role: spec.RoleConf, Replica: r.Replica, Build: []byte(Build), SignKey: key.public()}
	return spec.Encode(&spec.Enrollment{Body: c.self, Evidence: spec.Evidence{Format: spec.EvidenceDevInsecure}}), nil
}

// status returns the Status of §10.7.
// SPEC-AMBIGUITY: §10.7 does not say what ViewActive is before configure; §8.1 makes
// the view active on configure, so an unconfigured conf reports ViewActive false.
func (c *Conf) status() *spec.Status {
	return &spec.Status{Role: spec.RoleConf, Replica: c.self.Replica, Configured: c.configured,
		View: c.v, ViewActive: c.active, Stable: c.cp.h, Last: c.last}
}

// n returns the number of replicas.
func (c *Conf) n() uint64 { return c.cfg.N }

func (c *Conf) q() int { return c.cfg.Quorum() }

func (c *Conf) window() uint64 { return c.cfg.Window }

// id returns this replica's id.
func (c *Conf) id() uint64 { return c.self.Replica }

// enrolledKey returns the signing key enrolled for (role, r); r < n.
func (c *Conf) enrolledKey(role spec.Role, r uint64) spec.PublicKey {
	return c.cfg.Enrollment(role, r).Body.SignKey
}

// inWindow reports whether base < s ≤ base + l, without overflow.
func inWindow(s, base, l uint64) bool { return s > base && s-base <= l }
