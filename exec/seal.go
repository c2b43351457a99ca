package exec

import "github.com/splitbft/splitbft/spec"

// This file derives the keys and associated data of SPEC.md §11.2 and §12 from the
// primitives of crypto.go. Nothing here is client-side: exec opens requests and seals
// replies, group key shares and state chunks.

// labelAD returns label || 0x00 || cd || parts… (the AEAD data of §12.2–§12.4).
func labelAD(label string, cd spec.Digest, parts ...[]byte) []byte {
	ad := append([]byte(label), 0)
	ad = append(ad, cd[:]...)
	for _, p := range parts {
		ad = append(ad, p...)
	}
	return ad
}

// requestKey derives requestKey(c) = HKDF(X25519(g, client BoxKey), salt cd,
// info "splitbft/v1/request-key" || u64(c)) (§12.2); false for a low-order box key.
func requestKey(g *[keySize]byte, cd spec.Digest, c uint64, clientBox spec.PublicKey) ([]byte, bool) {
	shared, ok := x25519Shared(g, clientBox)
	if !ok {
		return nil, false
	}
	return hkdf32(shared, cd[:], []byte(spec.LabelRequestKey), spec.U64(c)), true
}

// requestAD is ad(c, t) of §12.2 for the operation with timestamp t.
func requestAD(cd spec.Digest, c, t uint64) []byte {
	return labelAD(spec.LabelRequestAD, cd, spec.U64(c), spec.U64(t))
}

// replyKey derives replyKey(c, r) = HKDF(X25519(exec r box private, client BoxKey),
// salt cd, info "splitbft/v1/reply-key" || u64(c) || u64(r)) (§12.3).
func replyKey(box *[keySize]byte, cd spec.Digest, c, r uint64, clientBox spec.PublicKey) ([]byte, bool) {
	shared, ok := x25519Shared(box, clientBox)
	if !ok {
		return nil, false
	}
	return hkdf32(shared, cd[:], []byte(spec.LabelReplyKey), spec.U64(c), spec.U64(r)), true
}

// replyAD is the reply AEAD data of §12.3.
func replyAD(cd spec.Digest, c, t, r, view uint64) []byte {
	return labelAD(spec.LabelReplyAD, cd, spec.U64(c), spec.U64(t), spec.U64(r), spec.U64(view))
}

// stateKey derives the state-chunk key HKDF(g, salt cd, info "splitbft/v1/state-key")
// (§12.4).
func stateKey(g *[keySize]byte, cd spec.Digest) []byte {
	return hkdf32(g[:], cd[:], []byte(spec.LabelStateKey))
}

// stateAD is the state-chunk AEAD data of §12.4.
func stateAD(cd spec.Digest, seq uint64, state spec.Digest, index, count, size uint64) []byte {
	return labelAD(spec.LabelStateAD, cd, spec.U64(seq), state[:], spec.U64(index), spec.U64(count), spec.U64(size))
}

// wrapKey derives the group key wrapping key of §11.2 from the X25519 shared secret of
// dealer and recipient: HKDF(shared, salt "", info label || dealer || recipient || G).
func wrapKey(shared []byte, dealer, recipient, group spec.PublicKey) []byte {
	return hkdf32(shared, nil, []byte(spec.LabelGroupWrap), dealer[:], recipient[:], group[:])
}

// wrapAD is the group key share AEAD data of §11.2: label || G (no zero byte, no cd).
func wrapAD(group spec.PublicKey) []byte {
	return append([]byte(spec.LabelGroupWrapAD), group[:]...)
}
