package exec

import (
	"testing"

	"filippo.io/edwards25519"

	"github.com/splitbft/splitbft/spec"
)

// TestAdmitKey checks the key admission rule of §3.3: canonical, not small order.
func TestAdmitKey(t *testing.T) {
	var gen spec.PublicKey
	copy(gen[:], edwards25519.NewGeneratorPoint().Bytes())
	if !admitKey(gen) {
		t.Fatal("generator not admitted")
	}
	identity := spec.PublicKey{1}
	if admitKey(identity) {
		t.Fatal("identity admitted")
	}
	// The point with y = 0 has order 4; (x = 0, sign bit set) is a non-canonical
	// identity; y = p + 1 is a non-canonical encoding of the identity.
	order4 := spec.PublicKey{}
	negZero := spec.PublicKey{1}
	negZero[31] = 0x80
	pPlus1 := spec.PublicKey{0xee}
	for i := 1; i < 31; i++ {
		pPlus1[i] = 0xff
	}
	pPlus1[31] = 0x7f
	for name, k := range map[string]spec.PublicKey{"order 4": order4, "x=0 sign 1": negZero, "y=p+1": pPlus1, "all ones": {0: 0xff, 31: 0xff}} {
		if admitKey(k) {
			t.Fatalf("%s admitted", name)
		}
	}
	// A non-canonical encoding (y + p for small y) of a large-order point is rejected
	// while its canonical encoding is admitted.
	found := false
	for y := byte(2); y < 19; y++ {
		canon := spec.PublicKey{y}
		p, err := new(edwards25519.Point).SetBytes(canon[:])
		if err != nil || new(edwards25519.Point).MultByCofactor(p).Equal(edwards25519.NewIdentityPoint()) == 1 {
			continue
		}
		nonCanon := canon
		nonCanon[0] = y - 19 // y + p, p = 2^255 − 19
		for i := 1; i < 31; i++ {
			nonCanon[i] = 0xff
		}
		nonCanon[31] = 0x7f
		if !admitKey(canon) || admitKey(nonCanon) {
			t.Fatalf("y=%d: canonical admitted %t, non-canonical admitted %t", y, admitKey(canon), admitKey(nonCanon))
		}
		found = true
	}
	if !found {
		t.Fatal("no small y with a large-order point found")
	}
}

// TestChunkArithmetic checks chunk counts and lengths of §11.7.
func TestChunkArithmetic(t *testing.T) {
	cases := []struct{ size, count, last uint64 }{
		{0, 1, 0}, {1, 1, 1}, {chunkSize, 1, chunkSize}, {chunkSize + 1, 2, 1}, {3 * chunkSize, 3, chunkSize}, {spec.MaxSnapshotBytes, 1024, chunkSize},
	}
	for _, tc := range cases {
		if n := chunkCount(tc.size); n != tc.count || chunkLen(n-1, n, tc.size) != tc.last {
			t.Fatalf("size %d: count %d last %d, want %d %d", tc.size, n, chunkLen(n-1, n, tc.size), tc.count, tc.last)
		}
	}
}
