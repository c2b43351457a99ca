package stdcrypto

import (
	"crypto/sha512"
	"math/big"
)

// refVerify is a slow, independent model of the SPEC.md §3.3 verification rule built
// on this package's math/big curve: it is what Verify must agree with.
func refVerify(pub, msg, sig []byte) bool {
	if len(pub) != 32 || len(sig) != 64 {
		return false
	}
	var a32, r32, s32 [32]byte
	copy(a32[:], pub)
	copy(r32[:], sig[:32])
	copy(s32[:], sig[32:])
	d := decodePoint(a32) // rule 2: lenient decoding of A (see decodePoint)
	if !d.ok {
		return false
	}
	a := d.p
	s := leBytesToInt(s32)
	if s.Cmp(groupL) >= 0 { // rule 3
		return false
	}
	h := sha512.New() // rule 4: R and A exactly as received
	h.Write(sig[:32])
	h.Write(pub)
	h.Write(msg)
	k := leToInt(h.Sum(nil))
	k.Mod(k, groupL)
	negA := point{X: fieldSub(big.NewInt(0), a.X), Y: a.Y, Z: a.Z, T: fieldSub(big.NewInt(0), a.T)}
	rr := scalarMult(s, basePoint()).add(scalarMult(k, negA)) // rule 5
	return rr.encode() == r32
}

// groupL is the prime order of the base point, 2^252 + 27742317777372353535851937790883648493.
var groupL, _ = new(big.Int).SetString("7237005577332262213973186563042994240857116359379907606001950938285454250989", 10)

func leToInt(b []byte) *big.Int {
	be := make([]byte, len(b))
	for i := range b {
		be[len(b)-1-i] = b[i]
	}
	return new(big.Int).SetBytes(be)
}

// basePoint returns B: y = 4/5, x positive (even).
func basePoint() point {
	y := fieldMul(big.NewInt(4), fieldInv(big.NewInt(5)))
	x, ok := recoverX(y, 0)
	if !ok {
		panic("base point does not decode")
	}
	return affine(x, y)
}

// scalarMult returns [k]p by double-and-add, most significant bit first.
func scalarMult(k *big.Int, p point) point {
	acc := identity()
	for i := k.BitLen() - 1; i >= 0; i-- {
		acc = acc.double()
		if k.Bit(i) == 1 {
			acc = acc.add(p)
		}
	}
	return acc
}
