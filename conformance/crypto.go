package conformance

import (
	"crypto/ed25519"
	"crypto/sha256"
	"io"

	"golang.org/x/crypto/chacha20poly1305"
	"golang.org/x/crypto/curve25519"
	"golang.org/x/crypto/hkdf"

	"github.com/splitbft/splitbft/spec"
)

// This file is the fixture's own implementation of SPEC.md §3.4 and §12, written from
// the spec: a third, test-side reading of it.

func x25519Base(priv []byte) spec.PublicKey {
	pub, err := curve25519.X25519(priv, curve25519.Basepoint)
	if err != nil {
		panic(err)
	}
	var k spec.PublicKey
	copy(k[:], pub)
	return k
}

func x25519(priv []byte, pub spec.PublicKey) ([]byte, error) {
	return curve25519.X25519(priv, pub[:])
}

func hkdf32(secret, salt []byte, info ...[]byte) []byte {
	var in []byte
	for _, b := range info {
		in = append(in, b...)
	}
	key := make([]byte, 32)
	if _, err := io.ReadFull(hkdf.New(sha256.New, secret, salt, in), key); err != nil {
		panic(err)
	}
	return key
}

func seal(key []byte, nonce spec.Nonce, plain, ad []byte) []byte {
	aead, err := chacha20poly1305.NewX(key)
	if err != nil {
		panic(err)
	}
	return aead.Seal(nil, nonce[:], plain, ad)
}

func open(key []byte, nonce spec.Nonce, ct, ad []byte) ([]byte, error) {
	aead, err := chacha20poly1305.NewX(key)
	if err != nil {
		return nil, err
	}
	return aead.Open(nil, nonce[:], ct, ad)
}

func labelAD(label string, cd spec.Digest, parts ...[]byte) []byte {
	ad := append([]byte(label), 0)
	ad = append(ad, cd[:]...)
	for _, p := range parts {
		ad = append(ad, p...)
	}
	return ad
}

// Sign signs body as enclave (role, replica) under domain (SPEC.md §3.4).
func (fx *Fixture) Sign(role spec.Role, replica uint64, domain string, body any) spec.Signature {
	var sig spec.Signature
	copy(sig[:], ed25519.Sign(fx.sign[slot{role, replica}], spec.SignedBytes(domain, fx.CD, spec.Encode(body))))
	return sig
}

func (fx *Fixture) nonce() spec.Nonce {
	var n spec.Nonce
	copy(n[:], read(fx.nonces, 24))
	return n
}

// wrapGroupKey deals the group key to exec r as exec (r+1) mod n would (§11.2).
func (fx *Fixture) wrapGroupKey(r uint64) spec.GroupKeyShare {
	dealer := (r + 1) % fx.N
	dpub, rpub, g := x25519Base(fx.execBox[dealer]), x25519Base(fx.execBox[r]), x25519Base(fx.group)
	shared, err := x25519(fx.execBox[dealer], rpub)
	if err != nil {
		panic(err)
	}
	key := hkdf32(shared, nil, []byte(spec.LabelGroupWrap), dpub[:], rpub[:], g[:])
	n := fx.nonce()
	ad := append([]byte(spec.LabelGroupWrapAD), g[:]...)
	return spec.GroupKeyShare{Dealer: dpub, Recipient: rpub, GroupKey: g, Nonce: n, Sealed: seal(key, n, fx.group, ad)}
}

// requestKey derives the request key of client c (§12.2), from the group side.
func (fx *Fixture) requestKey(c Client) []byte {
	shared, err := x25519(fx.group, x25519Base(c.BoxPriv))
	if err != nil {
		panic(err)
	}
	return hkdf32(shared, fx.CD[:], []byte(spec.LabelRequestKey), spec.U64(c.ID))
}

// SealOp seals one operation of client c at timestamp ts (§12.2).
func (fx *Fixture) SealOp(c Client, ts uint64, plain []byte) spec.SealedOp {
	n := fx.nonce()
	ad := labelAD(spec.LabelRequestAD, fx.CD, spec.U64(c.ID), spec.U64(ts))
	return spec.SealedOp{Nonce: n, Ciphertext: seal(fx.requestKey(c), n, plain, ad)}
}

// OpenReply opens a reply for client c from exec replica r (§12.3): the results of
// the request's operations, in order.
func (fx *Fixture) OpenReply(c Client, rep *spec.Reply) ([]spec.Result, error) {
	shared, err := x25519(c.BoxPriv, x25519Base(fx.execBox[rep.Replica]))
	if err != nil {
		return nil, err
	}
	key := hkdf32(shared, fx.CD[:], []byte(spec.LabelReplyKey), spec.U64(c.ID), spec.U64(rep.Replica))
	ad := labelAD(spec.LabelReplyAD, fx.CD, spec.U64(rep.Client), spec.U64(rep.Timestamp), spec.U64(rep.Replica), spec.U64(rep.View))
	plain, err := open(key, rep.Nonce, rep.Ciphertext, ad)
	if err != nil {
		return nil, err
	}
	var res spec.ReplyResults
	return res.Results, spec.Decode(plain, &res, spec.MaxBodyBytes(spec.KindReply))
}

func signEd(k ed25519.PrivateKey, msg []byte) []byte { return ed25519.Sign(k, msg) }
