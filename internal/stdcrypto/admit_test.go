package stdcrypto

import (
	"encoding/hex"
	"math/big"
	"math/rand/v2"
	"testing"
)

// smallOrder lists the canonical encodings of the 8 points of order dividing 8 (the
// torsion subgroup), as published with the CCTV and speccheck vectors.
var smallOrder = []string{
	"0100000000000000000000000000000000000000000000000000000000000000", // identity
	"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // order 2
	"0000000000000000000000000000000000000000000000000000000000000000", // order 4
	"0000000000000000000000000000000000000000000000000000000000000080", // order 4
	"26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05", // order 8
	"26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85", // order 8
	"c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a", // order 8
	"c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa", // order 8
}

func key32(t *testing.T, s string) (k [32]byte) {
	t.Helper()
	copy(k[:], unhex(t, s))
	return k
}

// TestSmallOrderPointsRefused: each torsion point decodes canonically, has order
// dividing 8 by the math/big arithmetic, and is refused.
func TestSmallOrderPointsRefused(t *testing.T) {
	for _, s := range smallOrder {
		k := key32(t, s)
		d := decodePoint(k)
		if !d.ok || !d.canonical {
			t.Fatalf("%s: does not decode canonically", s)
		}
		if !d.p.double().double().double().isIdentity() {
			t.Errorf("%s: [8]P is not the identity", s)
		}
		if d.p.encode() != k {
			t.Errorf("%s: re-encodes differently", s)
		}
		if AdmitKey(k) {
			t.Errorf("%s: small-order key admitted", s)
		}
	}
}

// TestAdmitTable covers each clause of the admission rule with a constructed key.
func TestAdmitTable(t *testing.T) {
	b := basePoint().encode()
	t8 := decodePoint(key32(t, smallOrder[4])).p
	mixed := basePoint().add(t8).encode() // B + T8: not small order, not in the prime subgroup
	negZero := key32(t, "0100000000000000000000000000000000000000000000000000000000000080")
	yIsP1 := key32(t, "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f") // y = p+1 ≡ 1
	small := smallDecodableY(t)
	tests := []struct {
		name string
		key  [32]byte
		want bool
	}{
		{"base point", b, true},
		{"mixed order B+T8", mixed, true},
		{"signer key", mustSigner(t).Public(), true},
		{"identity", key32(t, smallOrder[0]), false},
		{"negative zero identity", negZero, false},
		{"y = p+1 (non-canonical identity)", yIsP1, false},
		{"y = p, sign 0", key32(t, "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"), false},
		{"all ones (y = 2^255-1)", key32(t, "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"), false},
		{"not on curve (y = 2)", key32(t, "0200000000000000000000000000000000000000000000000000000000000000"), false},
		{"small y, canonical", small, true},
		{"same point with y+p", nonCanonical(t, small), false},
	}
	for _, tc := range tests {
		if got := AdmitKey(tc.key); got != tc.want {
			t.Errorf("%s (%x): AdmitKey = %v, want %v", tc.name, tc.key, got, tc.want)
		}
	}
	if decodePoint(key32(t, "0200000000000000000000000000000000000000000000000000000000000000")).ok {
		t.Fatal("y = 2 should not be on the curve; pick another off-curve y")
	}
}

// smallDecodableY returns the canonical encoding of a non-torsion point whose y is
// below 19, so that y + p still fits in 255 bits.
func smallDecodableY(t *testing.T) [32]byte {
	t.Helper()
	for y := 2; y < 19; y++ {
		var k [32]byte
		k[0] = byte(y)
		if d := decodePoint(k); d.ok && !d.p.double().double().double().isIdentity() {
			return k
		}
	}
	t.Fatal("no decodable y below 19")
	return [32]byte{}
}

// nonCanonical returns the encoding of the same point with y + p (y < 19).
func nonCanonical(t *testing.T, enc [32]byte) [32]byte {
	t.Helper()
	y, sign := decodeY(enc)
	y.Add(y, fieldP)
	var be [32]byte
	y.FillBytes(be[:])
	var out [32]byte
	for i := range be {
		out[i] = be[31-i]
	}
	out[31] |= byte(sign) << 7
	if d := decodePoint(out); !d.ok || d.canonical || d.p.encode() != enc {
		t.Fatalf("%x is not a non-canonical encoding of %x", out, enc)
	}
	return out
}

func mustSigner(t *testing.T) *Signer {
	t.Helper()
	s, err := NewSigner(make([]byte, SeedSize))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestAdmitMatchesTorsionList checks the [8]P computation against the list of the 8
// torsion points on random points P + T for every torsion point T: P + T is refused
// exactly when P is the identity, and every y below 2000 (both signs) is refused
// exactly when it does not decode or names a torsion point.
func TestAdmitMatchesTorsionList(t *testing.T) {
	seed := uint64(20240601)
	rng := rand.New(rand.NewPCG(seed, 1))
	torsion := map[[32]byte]bool{}
	for _, s := range smallOrder {
		torsion[key32(t, s)] = true
	}
	for i := 0; i < 2000; i++ {
		for sign := 0; sign < 2; sign++ {
			var k [32]byte
			k[0], k[1], k[31] = byte(i), byte(i>>8), byte(sign<<7)
			d := decodePoint(k)
			want := d.ok && d.canonical && !torsion[k]
			if got := AdmitKey(k); got != want {
				t.Fatalf("y=%d sign=%d: AdmitKey = %v, want %v", i, sign, got, want)
			}
		}
	}
	for i := 0; i < 8; i++ {
		p := scalarMult(new(big.Int).SetUint64(rng.Uint64()|1), basePoint())
		for _, s := range smallOrder {
			q := p.add(decodePoint(key32(t, s)).p).encode()
			if !AdmitKey(q) {
				t.Fatalf("seed %d: P+T refused for T=%s, P=%s", seed, s, hex.EncodeToString(encSlice(p)))
			}
		}
	}
}

func encSlice(p point) []byte { e := p.encode(); return e[:] }
