package edcrypto

import (
	"bytes"
	"encoding/hex"
	"math/rand"
	"testing"
)

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	if b, err := hex.DecodeString(s); err == nil {
		return b
	}
	t.Fatalf("vector is not hex: %q", s)
	return nil
}

// TestRFC8032Sign checks key derivation and signing against RFC 8032 §7.1 TEST 1..3.
func TestRFC8032Sign(t *testing.T) {
	cases := []struct{ name, seed, pub, msg, sig string }{
		{"test1", "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
			"d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
			"e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"},
		{"test2", "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
			"3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
			"92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"},
		{"test3", "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
			"fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
			"6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			k, err := NewKey(unhex(t, c.seed))
			if err != nil {
				t.Fatal(err)
			}
			pub := k.Public()
			if !bytes.Equal(pub[:], unhex(t, c.pub)) {
				t.Fatalf("public key %x, want %s", pub, c.pub)
			}
			msg := unhex(t, c.msg)
			sig := k.Sign(msg)
			if !bytes.Equal(sig[:], unhex(t, c.sig)) {
				t.Fatalf("signature %x, want %s", sig, c.sig)
			}
			if !Verify(pub[:], msg, sig[:]) {
				t.Fatal("own signature does not verify")
			}
			if !Admissible(pub) {
				t.Fatal("RFC key not admissible")
			}
		})
	}
}

func TestNewKeyLength(t *testing.T) {
	for _, n := range []int{0, 31, 33, 64} {
		if _, err := NewKey(make([]byte, n)); err == nil {
			t.Errorf("NewKey accepted a %d-byte seed", n)
		}
	}
}

// TestVerifyLengths checks that wrong lengths are rejected, never panic.
func TestVerifyLengths(t *testing.T) {
	k, _ := NewKey(bytes.Repeat([]byte{7}, 32))
	pub := k.Public()
	sig := k.Sign([]byte("m"))
	cases := []struct {
		name     string
		pub, sig []byte
	}{
		{"nil both", nil, nil},
		{"short pub", pub[:31], sig[:]},
		{"long pub", append(pub[:], 0), sig[:]},
		{"short sig", pub[:], sig[:63]},
		{"long sig", pub[:], append(sig[:], 0)},
	}
	for _, c := range cases {
		if Verify(c.pub, []byte("m"), c.sig) {
			t.Errorf("%s: verified", c.name)
		}
	}
	if !Verify(pub[:], []byte("m"), sig[:]) {
		t.Fatal("valid signature rejected")
	}
}

// TestSignVerifyRandom signs random messages under random seeds and checks that
// every signature verifies and every single-bit change of it does not.
func TestSignVerifyRandom(t *testing.T) {
	seed := int64(20240611)
	rng := rand.New(rand.NewSource(seed))
	for i := 0; i < 40; i++ {
		s := make([]byte, 32)
		rng.Read(s)
		msg := make([]byte, rng.Intn(300))
		rng.Read(msg)
		k, _ := NewKey(s)
		pub := k.Public()
		sig := k.Sign(msg)
		if !Verify(pub[:], msg, sig[:]) {
			t.Fatalf("seed %d iter %d: valid signature rejected", seed, i)
		}
		if !Admissible(pub) {
			t.Fatalf("seed %d iter %d: generated key not admissible", seed, i)
		}
		bit := rng.Intn(64 * 8)
		bad := sig
		bad[bit/8] ^= 1 << (bit % 8)
		if Verify(pub[:], msg, bad[:]) {
			t.Fatalf("seed %d iter %d: signature with bit %d flipped verified", seed, i, bit)
		}
		if len(msg) > 0 {
			m2 := append([]byte(nil), msg...)
			m2[0] ^= 1
			if Verify(pub[:], m2, sig[:]) {
				t.Fatalf("seed %d iter %d: changed message verified", seed, i)
			}
		}
	}
}

// TestAdmissible checks the key admission rule on hand-made encodings.
func TestAdmissible(t *testing.T) {
	identity := make([]byte, 32)
	identity[0] = 1
	negZero := append([]byte(nil), identity...)
	negZero[31] |= 0x80 // x = 0 with the sign bit set: a non-canonical identity
	// y = p + 1 ≡ 1: a non-canonical identity with an unreduced coordinate.
	pPlus1 := unhex(t, "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f")
	order2 := unhex(t, "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f") // y = −1
	notOnCurve := unhex(t, "0200000000000000000000000000000000000000000000000000000000000000")
	k, _ := NewKey(bytes.Repeat([]byte{1}, 32))
	good := k.Public()
	cases := []struct {
		name string
		key  []byte
		want bool
	}{
		{"generated key", good[:], true},
		{"identity (small order)", identity, false},
		{"order-2 point", order2, false},
		{"negative zero encoding", negZero, false},
		{"unreduced y", pPlus1, false},
		{"not on curve", notOnCurve, false},
	}
	for _, c := range cases {
		var pk [32]byte
		copy(pk[:], c.key)
		if got := Admissible(pk); got != c.want {
			t.Errorf("%s: Admissible = %v, want %v", c.name, got, c.want)
		}
	}
}

// TestVerifyNegativeZeroKey pins the decoding of the "x = 0, sign bit 1" encoding of
// the identity as a public key: Point.SetBytes accepts it (see the SPEC-AMBIGUITY note
// in Verify), so [S]B − [k]A = [S]B and the signature B || 1 verifies.
func TestVerifyNegativeZeroKey(t *testing.T) {
	negZero := make([]byte, 32)
	negZero[0], negZero[31] = 1, 0x80
	base := unhex(t, "5866666666666666666666666666666666666666666666666666666666666666")
	one := make([]byte, 32)
	one[0] = 1
	sig := append(append([]byte(nil), base...), one...)
	if !Verify(negZero, []byte("any"), sig) {
		t.Fatal("negative-zero key rejected; SetBytes accepts it")
	}
	two := make([]byte, 32)
	two[0] = 2
	if Verify(negZero, []byte("any"), append(append([]byte(nil), base...), two...)) {
		t.Fatal("[2]B accepted as B")
	}
}

// FuzzVerify checks that Verify and Admissible never panic on arbitrary bytes and
// that Verify agrees with itself on a round trip through a fresh signature.
func FuzzVerify(f *testing.F) {
	f.Add(make([]byte, 32), []byte("m"), make([]byte, 64))
	f.Add([]byte{1}, []byte{}, []byte{2})
	f.Fuzz(func(t *testing.T, pub, msg, sig []byte) {
		Verify(pub, msg, sig)
		var pk [32]byte
		copy(pk[:], pub)
		Admissible(pk)
		if len(pub) == 32 {
			k, err := NewKey(pub) // use the bytes as a seed too
			if err != nil {
				t.Fatal(err)
			}
			pub2 := k.Public()
			s := k.Sign(msg)
			if !Verify(pub2[:], msg, s[:]) {
				t.Fatalf("fresh signature under seed %x does not verify", pub)
			}
		}
	})
}
