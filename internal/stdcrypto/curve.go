package stdcrypto

import "math/big"

// This file is a deliberately plain model of edwards25519 in math/big: enough to
// decode a point and test its order for key admission (SPEC.md §3.3). It is slow and
// not constant time, which is fine: it only ever sees public keys.

var (
	// fieldP is p = 2^255 - 19.
	fieldP = new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 255), big.NewInt(19))
	// curveD is d = -121665 / 121666 mod p.
	curveD = fieldMul(big.NewInt(-121665), fieldInv(big.NewInt(121666)))
	// sqrtM1 is a square root of -1: 2^((p-1)/4) mod p.
	sqrtM1 = new(big.Int).Exp(big.NewInt(2), new(big.Int).Rsh(new(big.Int).Sub(fieldP, big.NewInt(1)), 2), fieldP)
	// sqrtExp is (p-5)/8, the exponent of RFC 8032 §5.1.3 step 2.
	sqrtExp = new(big.Int).Rsh(new(big.Int).Sub(fieldP, big.NewInt(5)), 3)
)

func fieldMod(a *big.Int) *big.Int    { return a.Mod(a, fieldP) }
func fieldMul(a, b *big.Int) *big.Int { return fieldMod(new(big.Int).Mul(a, b)) }
func fieldAdd(a, b *big.Int) *big.Int { return fieldMod(new(big.Int).Add(a, b)) }
func fieldSub(a, b *big.Int) *big.Int { return fieldMod(new(big.Int).Sub(a, b)) }
func fieldInv(a *big.Int) *big.Int {
	return new(big.Int).ModInverse(fieldMod(new(big.Int).Set(a)), fieldP)
}

// point is a point of edwards25519 (-x² + y² = 1 + d x² y²) in extended coordinates:
// x = X/Z, y = Y/Z, x·y = T/Z, Z ≠ 0. All coordinates are reduced mod p.
type point struct{ X, Y, Z, T *big.Int }

// identity returns the neutral element (0, 1).
func identity() point {
	return point{X: big.NewInt(0), Y: big.NewInt(1), Z: big.NewInt(1), T: big.NewInt(0)}
}

// affine returns the point (x, y) in extended coordinates.
func affine(x, y *big.Int) point {
	return point{X: new(big.Int).Set(x), Y: new(big.Int).Set(y), Z: big.NewInt(1), T: fieldMul(x, y)}
}

// leBytesToInt reads 32 little-endian bytes as an integer.
func leBytesToInt(b [32]byte) *big.Int {
	var be [32]byte
	for i := range b {
		be[31-i] = b[i]
	}
	return new(big.Int).SetBytes(be[:])
}

// decodeY splits an encoding into its 255-bit y value (not reduced) and sign bit.
func decodeY(enc [32]byte) (y *big.Int, sign uint) {
	sign = uint(enc[31] >> 7)
	enc[31] &= 0x7f
	return leBytesToInt(enc), sign
}

// recoverX solves the curve equation for x given y < p and the sign bit, by
// RFC 8032 §5.1.3 steps 2-4, except that it does not refuse x = 0 with the sign bit
// set ("negative zero"): it returns x = 0 then, and the caller decides. ok is false
// when no point has this y.
func recoverX(y *big.Int, sign uint) (x *big.Int, ok bool) {
	yy := fieldMul(y, y)
	u := fieldSub(yy, big.NewInt(1))
	v := fieldAdd(fieldMul(curveD, yy), big.NewInt(1))
	v3 := fieldMul(fieldMul(v, v), v)
	v7 := fieldMul(fieldMul(v3, v3), v)
	x = fieldMul(fieldMul(u, v3), new(big.Int).Exp(fieldMul(u, v7), sqrtExp, fieldP))
	vxx := fieldMul(v, fieldMul(x, x))
	switch {
	case vxx.Cmp(u) == 0:
	case vxx.Cmp(fieldSub(big.NewInt(0), u)) == 0:
		x = fieldMul(x, sqrtM1)
	default:
		return nil, false
	}
	if x.Bit(0) != sign {
		x = fieldSub(big.NewInt(0), x) // for x = 0 this stays 0
	}
	return x, true
}

// decoded is the result of decodePoint.
type decoded struct {
	p         point // valid only if ok
	ok        bool  // some point has this (reduced) y
	canonical bool  // y < p and not (x = 0 with the sign bit set)
}

// decodePoint decodes a 32-byte encoding the lenient way of crypto/ed25519.Verify
// (and filippo.io/edwards25519 SetBytes): a y ≥ p is reduced mod p, and x = 0 with
// the sign bit set decodes to x = 0. canonical reports whether neither happened,
// i.e. whether RFC 8032 §5.1.3 strict decoding would accept the encoding.
func decodePoint(enc [32]byte) decoded {
	y, sign := decodeY(enc)
	canonical := y.Cmp(fieldP) < 0
	fieldMod(y)
	x, ok := recoverX(y, sign)
	if !ok {
		return decoded{canonical: canonical}
	}
	canonical = canonical && !(x.Sign() == 0 && sign == 1)
	return decoded{p: affine(x, y), ok: true, canonical: canonical}
}

// encode returns the canonical encoding of p: y little-endian, the sign of x on top.
func (p point) encode() [32]byte {
	zi := fieldInv(p.Z)
	x, y := fieldMul(p.X, zi), fieldMul(p.Y, zi)
	var be [32]byte
	y.FillBytes(be[:])
	var out [32]byte
	for i := range be {
		out[i] = be[31-i]
	}
	out[31] |= byte(x.Bit(0)) << 7
	return out
}

// add returns p + q (add-2008-hwcd-3, a = -1; complete on edwards25519).
func (p point) add(q point) point {
	a := fieldMul(fieldSub(p.Y, p.X), fieldSub(q.Y, q.X))
	b := fieldMul(fieldAdd(p.Y, p.X), fieldAdd(q.Y, q.X))
	c := fieldMul(fieldMul(p.T, q.T), fieldAdd(curveD, curveD))
	d := fieldMul(fieldAdd(p.Z, p.Z), q.Z)
	e, f, g, h := fieldSub(b, a), fieldSub(d, c), fieldAdd(d, c), fieldAdd(b, a)
	return point{X: fieldMul(e, f), Y: fieldMul(g, h), Z: fieldMul(f, g), T: fieldMul(e, h)}
}

// double returns 2p (dbl-2008-hwcd, a = -1).
func (p point) double() point {
	a := fieldMul(p.X, p.X)
	b := fieldMul(p.Y, p.Y)
	zz := fieldMul(p.Z, p.Z)
	c := fieldAdd(zz, zz)
	d := fieldSub(big.NewInt(0), a)
	xy := fieldAdd(p.X, p.Y)
	e := fieldSub(fieldSub(fieldMul(xy, xy), a), b)
	g := fieldAdd(d, b)
	f := fieldSub(g, c)
	h := fieldSub(d, b)
	return point{X: fieldMul(e, f), Y: fieldMul(g, h), Z: fieldMul(f, g), T: fieldMul(e, h)}
}

// isIdentity reports whether p is (0, 1).
func (p point) isIdentity() bool {
	return p.X.Sign() == 0 && p.Y.Cmp(p.Z) == 0
}
