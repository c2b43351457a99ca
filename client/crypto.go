package client

import (
	"crypto/cipher"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"

	"github.com/splitbft/splitbft/spec"
	"golang.org/x/crypto/chacha20poly1305"
	"golang.org/x/crypto/curve25519"
	"golang.org/x/crypto/hkdf"
)

// This file holds the client's share of SPEC.md §12: X25519 key agreement, the
// HKDF-SHA256 derivations of the request and reply keys, and XChaCha20-Poly1305
// sealing. Every function is pure given its inputs.

// errLowOrder reports an X25519 result of all zeros (a low-order peer key, §12.1).
var errLowOrder = errors.New("client: X25519 result is all zeros (low-order key)")

// x25519 returns X25519(priv, pub), rejecting the all-zero result.
func x25519(priv [32]byte, pub spec.PublicKey) ([32]byte, error) {
	var out [32]byte
	s, err := curve25519.X25519(priv[:], pub[:])
	if err != nil {
		return out, errLowOrder
	}
	copy(out[:], s)
	return out, nil
}

// x25519Base returns the X25519 public key of priv.
func x25519Base(priv [32]byte) spec.PublicKey {
	var out spec.PublicKey
	s, err := curve25519.X25519(priv[:], curve25519.Basepoint)
	if err != nil {
		panic("client: X25519 with the base point cannot fail: " + err.Error())
	}
	copy(out[:], s)
	return out
}

// deriveKey is HKDF-SHA256(secret, salt, info) with a 32-byte output (§12.1).
func deriveKey(secret []byte, salt []byte, info []byte) [32]byte {
	var k [32]byte
	if _, err := io.ReadFull(hkdf.New(sha256.New, secret, salt, info), k[:]); err != nil {
		panic("client: HKDF cannot fail for 32 bytes: " + err.Error())
	}
	return k
}

// requestKey derives requestKey(c) = HKDF(X25519(client box private, G), cd,
// "splitbft/v1/request-key" || u64(c)) (§12.2).
func requestKey(boxPriv [32]byte, group spec.PublicKey, cd spec.Digest, c uint64) ([32]byte, error) {
	shared, err := x25519(boxPriv, group)
	if err != nil {
		return [32]byte{}, fmt.Errorf("request key: %w", err)
	}
	info := append([]byte(spec.LabelRequestKey), spec.U64(c)...)
	return deriveKey(shared[:], cd[:], info), nil
}

// replyKey derives replyKey(c, r) = HKDF(X25519(client box private, exec r BoxKey),
// cd, "splitbft/v1/reply-key" || u64(c) || u64(r)) (§12.3).
func replyKey(boxPriv [32]byte, execBox spec.PublicKey, cd spec.Digest, c, r uint64) ([32]byte, error) {
	shared, err := x25519(boxPriv, execBox)
	if err != nil {
		return [32]byte{}, fmt.Errorf("reply key for replica %d: %w", r, err)
	}
	info := append([]byte(spec.LabelReplyKey), spec.U64(c)...)
	info = append(info, spec.U64(r)...)
	return deriveKey(shared[:], cd[:], info), nil
}

// requestAD is "splitbft/v1/request-op" || 0x00 || cd || u64(c) || u64(t) (§12.2).
func requestAD(cd spec.Digest, c, t uint64) []byte {
	ad := append([]byte(spec.LabelRequestAD), 0)
	ad = append(ad, cd[:]...)
	ad = append(ad, spec.U64(c)...)
	return append(ad, spec.U64(t)...)
}

// replyAD is "splitbft/v1/reply-results" || 0x00 || cd || u64(c) || u64(t) || u64(r) ||
// u64(view) (§12.3).
func replyAD(cd spec.Digest, c, t, r, view uint64) []byte {
	ad := append([]byte(spec.LabelReplyAD), 0)
	ad = append(ad, cd[:]...)
	ad = append(ad, spec.U64(c)...)
	ad = append(ad, spec.U64(t)...)
	ad = append(ad, spec.U64(r)...)
	return append(ad, spec.U64(view)...)
}

// seal is XChaCha20-Poly1305(key, nonce, plaintext, ad).
func seal(key [32]byte, nonce spec.Nonce, plaintext, ad []byte) []byte {
	aead, err := chacha20poly1305.NewX(key[:])
	if err != nil {
		panic("client: XChaCha20-Poly1305 with a 32-byte key cannot fail: " + err.Error())
	}
	return aead.Seal(nil, nonce[:], plaintext, ad)
}

// open reverses seal; it fails on any tampering or a wrong key, nonce or ad.
func open(key [32]byte, nonce spec.Nonce, ciphertext, ad []byte) ([]byte, error) {
	aead, err := chacha20poly1305.NewX(key[:])
	if err != nil {
		panic("client: XChaCha20-Poly1305 with a 32-byte key cannot fail: " + err.Error())
	}
	if len(ciphertext) < aead.Overhead() {
		return nil, errors.New("client: ciphertext shorter than the AEAD tag")
	}
	return aead.Open(nil, nonce[:], ciphertext, ad)
}

// keyedAEAD caches the XChaCha20-Poly1305 cipher of one key, so that a session sets it
// up once per key rather than per operation, and sets it up again when the key
// changes (a new epoch's keys).
type keyedAEAD struct {
	key [32]byte
	c   cipher.AEAD
}

// get returns the cipher of key.
func (k *keyedAEAD) get(key [32]byte) cipher.AEAD {
	if k.c == nil || k.key != key {
		c, err := chacha20poly1305.NewX(key[:])
		if err != nil {
			panic("client: XChaCha20-Poly1305 with a 32-byte key cannot fail: " + err.Error())
		}
		k.key, k.c = key, c
	}
	return k.c
}

// replyCipher returns the cipher of replica r's reply key (r < cfg.N).
func (s *Session) replyCipher(r uint64) cipher.AEAD {
	if len(s.replyAEAD) != len(s.replyKeys) {
		s.replyAEAD = make([]keyedAEAD, len(s.replyKeys))
	}
	return s.replyAEAD[r].get(s.replyKeys[r])
}

// openWith is open with a cipher from keyedAEAD.
func openWith(aead cipher.AEAD, nonce *spec.Nonce, ciphertext, ad []byte) ([]byte, error) {
	if len(ciphertext) < aead.Overhead() {
		return nil, errors.New("client: ciphertext shorter than the AEAD tag")
	}
	return aead.Open(nil, nonce[:], ciphertext, ad)
}

// readNonce reads a fresh 24-byte nonce from rand.
func readNonce(rand io.Reader) (spec.Nonce, error) {
	var n spec.Nonce
	if _, err := io.ReadFull(rand, n[:]); err != nil {
		return n, fmt.Errorf("client: reading nonce: %w", err)
	}
	return n, nil
}

// SealOp seals one operation plaintext for the execution group as SPEC.md §12.2
// requires, for client c and operation timestamp t, under the configuration digest
// cd. It is exported for tools and tests that play a client; a Session does this
// itself.
func SealOp(id Identity, group spec.PublicKey, cd spec.Digest, t uint64, nonce spec.Nonce, plaintext []byte) (spec.SealedOp, error) {
	k, err := requestKey(id.BoxPrivate, group, cd, id.ID)
	if err != nil {
		return spec.SealedOp{}, err
	}
	return spec.SealedOp{Nonce: nonce, Ciphertext: seal(k, nonce, plaintext, requestAD(cd, id.ID, t))}, nil
}
