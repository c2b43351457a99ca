package edcrypto

import (
	"bytes"
	"crypto/sha512"
	"encoding/hex"
	"math/big"
	mrand "math/rand/v2"
	"testing"

	"filippo.io/edwards25519"
)

// preparedVerify is Verify through a freshly prepared key.
func preparedVerify(pub, msg, sig []byte) bool {
	v, err := NewVerifyKey(pub)
	return err == nil && v.Verify(msg, sig)
}

// verifiers are the two paths that must give the same verdict on every input.
var verifiers = []struct {
	name string
	fn   func(pub, msg, sig []byte) bool
}{{"Verify", Verify}, {"VerifyKey", preparedVerify}}

// smallOrder are the encodings of the eight points of small order (canonical ones and
// the non-canonical y ≥ p and x = 0 / sign bit 1 forms), as in "Taming the many EdDSAs".
var smallOrder = []string{
	"0100000000000000000000000000000000000000000000000000000000000000",
	"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	"0000000000000000000000000000000000000000000000000000000000000080",
	"0000000000000000000000000000000000000000000000000000000000000000",
	"c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
	"c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
	"26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
	"26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
	"0100000000000000000000000000000000000000000000000000000000000080",
	"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
}

// signWith returns R || S with R = [r]B and S = r + k·s for the key bytes pub, whose
// point need not be [s]B: for pub = [s]B + T with T of small order the signature
// verifies under the cofactorless rule exactly when [k]T is the identity.
func signWith(rng *mrand.Rand, s *edwards25519.Scalar, pub, msg []byte) []byte {
	var wide [64]byte
	for i := range wide {
		wide[i] = byte(rng.Uint32())
	}
	r, _ := new(edwards25519.Scalar).SetUniformBytes(wide[:])
	R := new(edwards25519.Point).ScalarBaseMult(r).Bytes()
	h := sha512.New()
	h.Write(R)
	h.Write(pub)
	h.Write(msg)
	k, _ := new(edwards25519.Scalar).SetUniformBytes(h.Sum(nil))
	S := new(edwards25519.Scalar).MultiplyAdd(k, s, r)
	return append(R, S.Bytes()...)
}

// TestVerifyKeyMatchesVerify compares the prepared path with Verify on valid
// signatures, every single-bit change of them, signatures under keys with a
// small-order component (of which about one in eight verifies), S + L, random bytes,
// keys of small order and random 32-byte strings.
func TestVerifyKeyMatchesVerify(t *testing.T) {
	seed := uint64(20261207)
	rng := mrand.New(mrand.NewPCG(seed, 1))
	t.Logf("seed %d", seed)
	L := new(big.Int).Add(new(big.Int).Lsh(big.NewInt(1), 252), mustBig("27742317777372353535851937790883648493"))
	var accepted, rejected int
	check := func(what string, pub, msg, sig []byte) {
		t.Helper()
		want := Verify(pub, msg, sig)
		if got := preparedVerify(pub, msg, sig); got != want {
			t.Fatalf("seed %d, %s: VerifyKey %v, Verify %v (pub %x sig %x msg %x)", seed, what, got, want, pub, sig, msg)
		}
		if want {
			accepted++
		} else {
			rejected++
		}
	}
	randBytes := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}
	for i := 0; i < 40; i++ {
		k, _ := NewKey(randBytes(32))
		pub := k.Public()
		msg := randBytes(rng.IntN(200))
		sig := k.Sign(msg)
		check("valid", pub[:], msg, sig[:])
		v, err := NewVerifyKey(pub[:])
		if err != nil {
			t.Fatal(err)
		}
		for bit := 0; bit < 512; bit += 1 + rng.IntN(8) {
			bad := bytes.Clone(sig[:])
			bad[bit/8] ^= 1 << (bit % 8)
			if want, got := Verify(pub[:], msg, bad), v.Verify(msg, bad); got != want {
				t.Fatalf("seed %d, bit %d flipped: VerifyKey %v, Verify %v", seed, bit, got, want)
			}
		}
		if len(msg) > 0 {
			check("changed message", pub[:], append(bytes.Clone(msg[1:]), msg[0]+1), sig[:])
		}
		// S + L: the same group element, not canonical.
		S := new(big.Int).SetBytes(reverse(sig[32:]))
		S.Add(S, L)
		big := reverse(S.FillBytes(make([]byte, 32)))
		check("S+L", pub[:], msg, append(bytes.Clone(sig[:32]), big...))
		check("random signature", pub[:], msg, randBytes(64))
		check("short signature", pub[:], msg, sig[:63])
		// A key with a small-order component: pub' = [s]B + T.
		T, err := new(edwards25519.Point).SetBytes(unhex(t, smallOrder[4+rng.IntN(4)]))
		if err != nil {
			t.Fatal(err)
		}
		s, _ := new(edwards25519.Scalar).SetUniformBytes(randBytes(64))
		mixed := new(edwards25519.Point).Add(new(edwards25519.Point).ScalarBaseMult(s), T).Bytes()
		for j := 0; j < 16; j++ {
			check("mixed-order key", mixed, msg, signWith(rng, s, mixed, msg))
		}
	}
	for _, h := range smallOrder {
		pub := unhex(t, h)
		for j := 0; j < 8; j++ {
			msg := randBytes(8)
			var zero edwards25519.Scalar
			check("small-order key", pub, msg, signWith(rng, &zero, pub, msg))
			check("small-order key, random signature", pub, msg, randBytes(64))
		}
	}
	for i := 0; i < 200; i++ {
		check("random key", randBytes(32), randBytes(16), randBytes(64))
	}
	check("short key", randBytes(31), nil, randBytes(64))
	t.Logf("%d accepted, %d rejected", accepted, rejected)
	if accepted < 50 || rejected < 50 {
		t.Fatalf("seed %d: degenerate run, %d accepted and %d rejected", seed, accepted, rejected)
	}
}

func mustBig(s string) *big.Int {
	n, ok := new(big.Int).SetString(s, 10)
	if !ok {
		panic(s)
	}
	return n
}

func reverse(b []byte) []byte {
	out := make([]byte, len(b))
	for i := range b {
		out[len(b)-1-i] = b[i]
	}
	return out
}

// TestRadix16 checks the digits: in range, and Σ e_i·16^i = s.
func TestRadix16(t *testing.T) {
	seed := uint64(7)
	rng := mrand.New(mrand.NewPCG(seed, 2))
	cases := [][32]byte{{}, {1}}
	var top [32]byte // 2^255 − 1, the largest value allowed
	for i := range top {
		top[i] = 0xff
	}
	top[31] = 0x7f
	cases = append(cases, top)
	for i := 0; i < 1000; i++ {
		var s [32]byte
		for j := range s {
			s[j] = byte(rng.Uint32())
		}
		s[31] &= 0x7f
		cases = append(cases, s)
	}
	for _, s := range cases {
		e := radix16(&s)
		sum := new(big.Int)
		for i := 63; i >= 0; i-- {
			if e[i] < -8 || e[i] > 8 || (i < 63 && e[i] == 8) {
				t.Fatalf("seed %d, %x: digit %d is %d", seed, s, i, e[i])
			}
			sum.Lsh(sum, 4)
			sum.Add(sum, big.NewInt(int64(e[i])))
		}
		if want := new(big.Int).SetBytes(reverse(s[:])); sum.Cmp(want) != 0 {
			t.Fatalf("seed %d, %x: digits sum to %x", seed, s, sum)
		}
	}
}

// TestKeysFollowTheKey: a slot prepared for one key and then asked with another
// verifies under the new one; a slot out of range and a nil Keys verify directly.
func TestKeysFollowTheKey(t *testing.T) {
	a, _ := NewKey(bytes.Repeat([]byte{1}, 32))
	b, _ := NewKey(bytes.Repeat([]byte{2}, 32))
	pa, pb := a.Public(), b.Public()
	msg := []byte("commit")
	sa, sb := a.Sign(msg), b.Sign(msg)
	ks := NewKeys(2)
	steps := []struct {
		keys *Keys
		slot int
		pub  []byte
		sig  []byte
		want bool
	}{
		{ks, 0, pa[:], sa[:], true},
		{ks, 0, pa[:], sb[:], false},
		{ks, 0, pb[:], sa[:], false}, // the slot now holds b
		{ks, 0, pb[:], sb[:], true},
		{ks, 1, pa[:], sa[:], true},
		{ks, 2, pa[:], sa[:], true}, // out of range
		{ks, -1, pb[:], sa[:], false},
		{nil, 0, pb[:], sb[:], true},
		{ks, 1, make([]byte, 31), sa[:], false},
		{ks, 1, pa[:], sa[:], true},
	}
	for i, s := range steps {
		if got := s.keys.Verify(s.slot, s.pub, msg, s.sig); got != s.want {
			t.Fatalf("step %d: %v, want %v", i, got, s.want)
		}
	}
	if v := ks.slots[0].Load(); v == nil || v.Public() != pb {
		t.Fatal("slot 0 does not hold b's prepared key")
	}
	var zero VerifyKey
	var none *VerifyKey
	if zero.Verify(msg, sa[:]) || none.Verify(msg, sa[:]) {
		t.Fatal("a zero or nil VerifyKey accepted a signature")
	}
}

// FuzzVerifyKey: on any key, message and signature, the prepared path gives Verify's
// verdict.
func FuzzVerifyKey(f *testing.F) {
	k, _ := NewKey(make([]byte, 32))
	pub := k.Public()
	sig := k.Sign([]byte("m"))
	f.Add(pub[:], []byte("m"), sig[:])
	for _, h := range smallOrder {
		p, _ := hex.DecodeString(h)
		f.Add(p, []byte("m"), sig[:])
	}
	f.Fuzz(func(t *testing.T, pub, msg, sig []byte) {
		if got, want := preparedVerify(pub, msg, sig), Verify(pub, msg, sig); got != want {
			t.Fatalf("VerifyKey %v, Verify %v", got, want)
		}
	})
}

// FuzzCombine compares the prepared path's group computation with the library's, on
// keys [a]B + T (T one of the small-order encodings, or none) and arbitrary scalars:
// unlike a fuzzed verdict, which is almost always "reject" on both sides, it compares
// points. Keys that are any 32 bytes are tried too.
func FuzzCombine(f *testing.F) {
	f.Add([]byte{1}, byte(0), make([]byte, 64), make([]byte, 64))
	f.Add(bytes.Repeat([]byte{0xff}, 64), byte(5), bytes.Repeat([]byte{0xff}, 64), bytes.Repeat([]byte{0x88}, 64))
	f.Add(bytes.Repeat([]byte{7}, 32), byte(200), bytes.Repeat([]byte{0x80}, 64), bytes.Repeat([]byte{0x08}, 64))
	f.Fuzz(func(t *testing.T, key []byte, torsion byte, sWide, kWide []byte) {
		if len(sWide) != 64 || len(kWide) != 64 {
			return
		}
		var pub []byte
		if len(key) == 32 && torsion >= 128 {
			pub = key // any 32 bytes: used if they decode
		} else {
			a, _ := new(edwards25519.Scalar).SetUniformBytes(append(bytes.Clone(key), make([]byte, 64)...)[:64])
			A := new(edwards25519.Point).ScalarBaseMult(a)
			if i := int(torsion) % (len(smallOrder) + 1); i < len(smallOrder) {
				T, err := new(edwards25519.Point).SetBytes(unhex(t, smallOrder[i]))
				if err != nil {
					t.Fatal(err)
				}
				A.Add(A, T)
			}
			pub = A.Bytes()
		}
		v, err := NewVerifyKey(pub)
		if err != nil {
			return
		}
		A, _ := new(edwards25519.Point).SetBytes(pub)
		S, _ := new(edwards25519.Scalar).SetUniformBytes(sWide)
		k, _ := new(edwards25519.Scalar).SetUniformBytes(kWide)
		want := new(edwards25519.Point).VarTimeDoubleScalarBaseMult(k, new(edwards25519.Point).Negate(A), S).Bytes()
		got, ok := v.combine(S, k)
		if !ok || !bytes.Equal(got[:], want) {
			t.Fatalf("key %x, S %x, k %x: prepared %x (ok %v), library %x", pub, S.Bytes(), k.Bytes(), got, ok, want)
		}
	})
}

// BenchmarkVerifyKey compares the prepared path with Verify, and the cost of
// preparing a key.
func BenchmarkVerifyKey(b *testing.B) {
	k, _ := NewKey(make([]byte, 32))
	pub := k.Public()
	msg := bytes.Repeat([]byte("m"), 120) // about a COMMIT's signed bytes
	sig := k.Sign(msg)
	v, _ := NewVerifyKey(pub[:])
	b.Run("prepared", func(b *testing.B) {
		for range b.N {
			if !v.Verify(msg, sig[:]) {
				b.Fatal("rejected")
			}
		}
	})
	b.Run("Verify", func(b *testing.B) {
		for range b.N {
			if !Verify(pub[:], msg, sig[:]) {
				b.Fatal("rejected")
			}
		}
	})
	b.Run("prepare", func(b *testing.B) {
		for range b.N {
			if _, err := NewVerifyKey(pub[:]); err != nil {
				b.Fatal(err)
			}
		}
	})
}
