package client

import (
	"crypto/ed25519"
	"errors"
	"fmt"

	"github.com/splitbft/splitbft/spec"
)

// Clients follow the configuration chain (SPEC.md §17.7): a session moves to a later
// epoch only along chain steps (epoch changes, EC1–EC4, and recoveries, RC1–RC5) that
// verify from the configuration it
// holds, so a replica serving a forged or different configuration cannot move it.

// ErrNotRegistered is returned by Follow when the configuration reached no longer
// registers the session's identity with its keys.
var ErrNotRegistered = errors.New("client: the identity is not registered in the new configuration")

// verifyEd is the standard library's Ed25519 as a spec.SigVerifier (SPEC.md §3.3).
func verifyEd(pub spec.PublicKey, msg []byte, sig spec.Signature) bool {
	return ed25519.Verify(pub[:], msg, sig[:])
}

// Follow verifies changes, the chain steps that follow the session's configuration
// in order (with key admission by admit), and moves the session to the configuration
// they reach: new digest, request and reply keys. An outstanding request is re-signed
// and re-sealed under the new digest with the same timestamps, and its votes start
// again (SPEC.md §17.4: it is executed once, in the epoch that orders it). It returns
// whether the configuration changed; on error nothing changes.
func (s *Session) Follow(changes []spec.Step, admit spec.KeyAdmitter) (bool, error) {
	if len(changes) == 0 {
		return false, nil
	}
	next, err := spec.VerifySteps(s.cfg, changes, verifyEd, admit)
	if err != nil {
		return false, fmt.Errorf("client: %w", err)
	}
	ns, err := NewSession(next, s.id, s.rand)
	if err != nil {
		return false, fmt.Errorf("%w: %v", ErrNotRegistered, err)
	}
	var out *outstanding
	if s.out != nil {
		req, err := ns.build(s.out.plain, s.out.ts)
		if err != nil {
			return false, err
		}
		out = &outstanding{req: req, ts: s.out.ts, plain: s.out.plain}
	}
	s.cfg, s.cd, s.reqKey, s.replyKeys, s.replyOK = next, ns.cd, ns.reqKey, ns.replyKeys, ns.replyOK
	s.viewHint, s.out = 0, out
	s.quorum = max(s.quorum, next.F+1)
	return true, nil
}

// Epoch returns the epoch of the session's configuration.
func (s *Session) Epoch() uint64 { return s.cfg.Epoch }
