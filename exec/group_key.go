package exec

import (
	"io"

	"github.com/splitbft/splitbft/spec"
)

// This file is the execution group key (SPEC.md §11.2): dealing it (group-key-deal)
// and accepting one's own share of it (configure rules G1–G3).

// onGroupKeyDeal handles group-key-deal: it checks the listed exec enrollments, creates
// g on the first deal (32 bytes of randomness), and emits one share per entry in order,
// each with a fresh 24-byte nonce.
func (e *Exec) onGroupKeyDeal(d *spec.GroupKeyDeal) uint64 {
	if !e.validDeal(d.Execs) {
		return spec.CodeBadConfig
	}
	shared := make([][]byte, len(d.Execs))
	for i := range d.Execs {
		s, ok := x25519Shared(&e.boxPriv, d.Execs[i].BoxKey)
		if !ok {
			// SPEC.md (clarified after review): §11.2 does not say what to do with a listed box key of
			// low order (the X25519 result is all zeros, §12.1). Such a deal is
			// rejected with bad-config before any randomness is read.
			return spec.CodeBadConfig
		}
		shared[i] = s
	}
	if !e.dealt {
		if _, err := io.ReadFull(e.rand, e.group[:]); err != nil {
			panic("exec: randomness source failed")
		}
		e.dealt = true
		e.groupPub = x25519Public(&e.group)
	}
	var out spec.GroupKeyShares
	for i := range d.Execs {
		out.Shares = append(out.Shares, e.makeShare(d.Execs[i].BoxKey, shared[i]))
	}
	e.emit(spec.KindGroupKeyShares, spec.Destination{}, spec.Encode(&out))
	return 0
}

// makeShare wraps g for recipient, given X25519(own box private, recipient), with a
// fresh nonce (§11.2).
func (e *Exec) makeShare(recipient spec.PublicKey, shared []byte) spec.GroupKeyShare {
	key := wrapKey(shared, e.body.BoxKey, recipient, e.groupPub)
	n := e.readNonce()
	return spec.GroupKeyShare{Dealer: e.body.BoxKey, Recipient: recipient,
		GroupKey: e.groupPub, Nonce: n, Sealed: aeadSeal(key, n, e.group[:], wrapAD(e.groupPub))}
}

// validDeal reports whether every entry has Role exec and a non-zero BoxKey, the
// BoxKeys are distinct, and this exec's own enrollment body is among the entries.
//
// SPEC.md (clarified after review): §11.2 asks for "this exec's own enrollment body" among the entries;
// like F3 (§8.1), an entry is this exec's when Role, Replica, SignKey and BoxKey match,
// whatever its Build, so that a deal built from a configuration's enrollments works for
// any implementation's build name.
func (e *Exec) validDeal(execs []spec.EnrollmentBody) bool {
	seen := map[spec.PublicKey]bool{}
	own := false
	for i := range execs {
		b := &execs[i]
		if b.Role != spec.RoleExec || b.BoxKey == (spec.PublicKey{}) || seen[b.BoxKey] {
			return false
		}
		seen[b.BoxKey] = true
		own = own || e.isOwn(b)
	}
	return own
}

// openShare applies rules G1–G3 to the shares of a configure for cfg and returns the
// group private key g they carry.
func (e *Exec) openShare(cfg *spec.Config, shares []spec.GroupKeyShare) ([keySize]byte, bool) {
	var g [keySize]byte
	if len(shares) != 1 {
		return g, false
	}
	s := &shares[0]
	if s.Recipient != e.body.BoxKey || s.GroupKey != cfg.ExecGroupKey { // G1
		return g, false
	}
	if !isExecBoxKey(cfg, s.Dealer) { // G2
		return g, false
	}
	shared, ok := x25519Shared(&e.boxPriv, s.Dealer) // G3
	if !ok {
		return g, false
	}
	plain, ok := aeadOpen(wrapKey(shared, s.Dealer, s.Recipient, s.GroupKey), s.Nonce, s.Sealed, wrapAD(s.GroupKey))
	if !ok || len(plain) != keySize {
		return g, false
	}
	copy(g[:], plain)
	return g, x25519Public(&g) == s.GroupKey
}

// isExecBoxKey reports whether k is the BoxKey of some exec enrollment in cfg.
func isExecBoxKey(cfg *spec.Config, k spec.PublicKey) bool {
	for i := range cfg.Replicas {
		if cfg.Replicas[i].Exec.Body.BoxKey == k {
			return true
		}
	}
	return false
}
