package crosscheck

import (
	"crypto/sha512"
	"math/big"
)

// This file is a third, deliberately naive reading of SPEC.md §3.3 in math/big
// arithmetic (extended twisted Edwards coordinates, complete addition), used to give
// the generated edge cases their expected verdicts independently of both stacks under
// test. It is slow and not constant-time; test use only.

var (
	fp     = new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 255), big.NewInt(19))
	orderL = mustInt("7237005577332262213973186563042994240857116359379907606001950938285454250989")
	curveD = mulMod(big.NewInt(-121665), invMod(big.NewInt(121666)))
	sqrtM1 = new(big.Int).Exp(big.NewInt(2), new(big.Int).Rsh(new(big.Int).Sub(fp, big.NewInt(1)), 2), fp)
)

func mustInt(s string) *big.Int {
	v, ok := new(big.Int).SetString(s, 10)
	if !ok {
		panic(s)
	}
	return v
}

func mod(a *big.Int) *big.Int       { return new(big.Int).Mod(a, fp) }
func mulMod(a, b *big.Int) *big.Int { return mod(new(big.Int).Mul(a, b)) }
func addMod(a, b *big.Int) *big.Int { return mod(new(big.Int).Add(a, b)) }
func subMod(a, b *big.Int) *big.Int { return mod(new(big.Int).Sub(a, b)) }
func invMod(a *big.Int) *big.Int    { return new(big.Int).ModInverse(mod(a), fp) }
func leInt(b []byte) *big.Int       { return new(big.Int).SetBytes(reversed(b)) }
func reversed(b []byte) []byte {
	r := make([]byte, len(b))
	for i := range b {
		r[i] = b[len(b)-1-i]
	}
	return r
}

// refPoint is a point in extended coordinates: x = X/Z, y = Y/Z, xy = T/Z.
type refPoint struct{ X, Y, Z, T *big.Int }

func refAffine(x, y *big.Int) refPoint {
	return refPoint{mod(x), mod(y), big.NewInt(1), mulMod(x, y)}
}

var refIdentity = refAffine(big.NewInt(0), big.NewInt(1))

// refBase is the RFC 8032 base point (y = 4/5, x even).
var refBase = func() refPoint {
	y := mulMod(big.NewInt(4), invMod(big.NewInt(5)))
	x, _ := recoverX(y, 0)
	return refAffine(x, y)
}()

// add is the complete addition for a = -1 (add-2008-hwcd-3); it also doubles.
func (p refPoint) add(q refPoint) refPoint {
	a := mulMod(subMod(p.Y, p.X), subMod(q.Y, q.X))
	b := mulMod(addMod(p.Y, p.X), addMod(q.Y, q.X))
	c := mulMod(mulMod(p.T, q.T), mulMod(big.NewInt(2), curveD))
	d := mulMod(big.NewInt(2), mulMod(p.Z, q.Z))
	e, f, g, h := subMod(b, a), subMod(d, c), addMod(d, c), addMod(b, a)
	return refPoint{mulMod(e, f), mulMod(g, h), mulMod(f, g), mulMod(e, h)}
}

func (p refPoint) neg() refPoint {
	return refPoint{mod(new(big.Int).Neg(p.X)), p.Y, p.Z, mod(new(big.Int).Neg(p.T))}
}

// mul returns [k]p by double-and-add (k ≥ 0, any size).
func (p refPoint) mul(k *big.Int) refPoint {
	r := refIdentity
	for i := k.BitLen() - 1; i >= 0; i-- {
		r = r.add(r)
		if k.Bit(i) == 1 {
			r = r.add(p)
		}
	}
	return r
}

func (p refPoint) encode() [32]byte {
	zi := invMod(p.Z)
	x, y := mulMod(p.X, zi), mulMod(p.Y, zi)
	var out [32]byte
	y.FillBytes(out[:])
	out = [32]byte(reversed(out[:]))
	out[31] |= byte(x.Bit(0)) << 7
	return out
}

func (p refPoint) isIdentity() bool { return p.encode() == refIdentity.encode() }

// recoverX returns the x with the given parity (lenient: x = 0 whatever the sign) on
// the curve at y, or false.
func recoverX(y *big.Int, sign uint) (*big.Int, bool) {
	y2 := mulMod(y, y)
	u, v := subMod(y2, big.NewInt(1)), addMod(mulMod(curveD, y2), big.NewInt(1))
	x2 := mulMod(u, invMod(v))
	x := new(big.Int).Exp(x2, new(big.Int).Rsh(new(big.Int).Add(fp, big.NewInt(3)), 3), fp)
	if mulMod(x, x).Cmp(x2) != 0 {
		x = mulMod(x, sqrtM1)
	}
	if mulMod(x, x).Cmp(x2) != 0 {
		return nil, false
	}
	if x.Sign() != 0 && x.Bit(0) != sign {
		x = mod(new(big.Int).Neg(x))
	}
	return x, true
}

// refDecode decodes an encoding by §3.3 rule 2 (y ≥ p reduced, x = 0 with sign 1
// accepted) and reports whether it is canonical.
func refDecode(enc [32]byte) (p refPoint, ok, canonical bool) {
	sign := uint(enc[31] >> 7)
	enc[31] &= 0x7f
	yRaw := leInt(enc[:])
	x, ok := recoverX(mod(yRaw), sign)
	if !ok {
		return refPoint{}, false, false
	}
	return refAffine(x, yRaw), true, yRaw.Cmp(fp) < 0 && !(x.Sign() == 0 && sign == 1)
}

// refVerify is the verification rule of SPEC.md §3.3, lines 1–5.
func refVerify(pub, msg, sig []byte) bool {
	if len(pub) != 32 || len(sig) != 64 {
		return false
	}
	a, ok, _ := refDecode([32]byte(pub))
	s := leInt(sig[32:])
	if !ok || s.Cmp(orderL) >= 0 {
		return false
	}
	h := sha512.Sum512(append(append(append([]byte{}, sig[:32]...), pub...), msg...))
	k := new(big.Int).Mod(leInt(h[:]), orderL)
	r := refBase.mul(s).add(a.neg().mul(k))
	return r.encode() == [32]byte(sig[:32])
}

// refAdmit is the key admission rule of SPEC.md §3.3.
func refAdmit(pub [32]byte) bool {
	a, ok, canonical := refDecode(pub)
	return ok && canonical && !a.mul(big.NewInt(8)).isIdentity()
}
