package edcrypto

import (
	"bytes"
	"errors"
	"sync"
	"sync/atomic"

	"filippo.io/edwards25519"
	"filippo.io/edwards25519/field"
)

// Prepared-key verification. A replica verifies nearly every protocol message under
// one of the 2n to 3n enclave keys of its configuration, the same few keys over and
// over. Verify spends most of its time on the doublings of a variable-base scalar
// multiplication; with tables of multiples of a key computed once, [S]B − [k]A
// needs no doubling at all: 64 additions from a table of the base point and 64
// from a table of −A (signed radix-16 digits), about 2.4 times faster.
//
// The verdict is exactly Verify's (SPEC.md §3.3): the same decoding of A and S, k
// hashed over the received R and A bytes, and the same group element [S]B − [k]A
// encoded and compared with R. The tables hold exact multiples of −A in the full
// group, small-order component included, so nothing about the cofactor changes.
// Verification handles public data only and is not constant-time, like Verify.

// cachedAffine is a point in the form (y + x, y − x, 2d·x·y) that a mixed addition
// takes.
type cachedAffine struct{ ypx, ymx, t2d field.Element }

// comb is a table of (j+1)·16^i·P for i < 64 and j < 8: 512 points, 61,440 bytes.
type comb [64][8]cachedAffine

// extended is a point in extended coordinates (X:Y:Z:T), x = X/Z, y = Y/Z, xy = T/Z.
type extended struct{ X, Y, Z, T field.Element }

// d2 is 2d, d = −121665/121666 the curve constant.
var d2 = func() *field.Element {
	var n, m, d field.Element
	n.SetBytes(littleEndian(121665))
	m.SetBytes(littleEndian(121666))
	d.Multiply(&n, m.Invert(&m))
	d.Negate(&d)
	return d.Add(&d, &d)
}()

// littleEndian returns x as a 32-byte little-endian field element encoding.
func littleEndian(x uint32) []byte {
	b := make([]byte, 32)
	b[0], b[1], b[2], b[3] = byte(x), byte(x>>8), byte(x>>16), byte(x>>24)
	return b
}

// newComb computes the table of P with the group operations of edwards25519 and
// brings every entry to affine form with one field inversion (Montgomery's trick).
// It fails only if some Z coordinate were zero, which the formulas never produce (a
// failure would otherwise silently zero the table).
func newComb(P *edwards25519.Point) (*comb, bool) {
	const n = 64 * 8
	pts := make([]edwards25519.Point, n)
	row := new(edwards25519.Point).Set(P) // 16^i·P
	for i := 0; i < 64; i++ {
		pts[i*8].Set(row)
		for j := 1; j < 8; j++ {
			pts[i*8+j].Add(&pts[i*8+j-1], row)
		}
		row.Add(&pts[i*8+7], &pts[i*8+7]) // 2·8·16^i·P
	}
	coords := make([][4]field.Element, n) // X, Y, Z, T
	prefix := make([]field.Element, n)    // Z_0·…·Z_{k−1}
	var acc field.Element
	acc.One()
	for k := range pts {
		X, Y, Z, T := pts[k].ExtendedCoordinates()
		coords[k] = [4]field.Element{*X, *Y, *Z, *T}
		prefix[k].Set(&acc)
		acc.Multiply(&acc, Z)
	}
	var zero field.Element
	if acc.Equal(&zero) == 1 {
		return nil, false
	}
	acc.Invert(&acc) // 1/(Z_0·…·Z_{n−1})
	c := new(comb)
	for k := n - 1; k >= 0; k-- {
		var inv, x, y, t field.Element
		inv.Multiply(&acc, &prefix[k]) // 1/Z_k
		acc.Multiply(&acc, &coords[k][2])
		x.Multiply(&coords[k][0], &inv)
		y.Multiply(&coords[k][1], &inv)
		t.Multiply(&coords[k][3], &inv)
		e := &c[k/8][k%8]
		e.ypx.Add(&y, &x)
		e.ymx.Subtract(&y, &x)
		e.t2d.Multiply(&t, d2)
	}
	return c, true
}

// baseComb is the table of the base point B, computed on first use and never changed.
var baseComb = sync.OnceValue(func() *comb {
	c, ok := newComb(edwards25519.NewGeneratorPoint())
	if !ok {
		panic("edcrypto: the base point's table has a zero Z") // a constant: cannot happen
	}
	return c
})

// addDigit sets p = p + d·(row's point) for a digit −8 ≤ d ≤ 8 (unified formulas
// for a = −1, "madd-2008-hwcd-3"; they hold for every pair of points, equal,
// opposite or of small order).
func (p *extended) addDigit(row *[8]cachedAffine, d int8) {
	if d == 0 {
		return
	}
	neg := d < 0
	if neg {
		d = -d
	}
	q := &row[d-1]
	var ypx, ymx, pp, mm, tt, z2 field.Element
	ypx.Add(&p.Y, &p.X)
	ymx.Subtract(&p.Y, &p.X)
	if neg { // −q is (y − x, y + x, −2dxy)
		pp.Multiply(&ypx, &q.ymx)
		mm.Multiply(&ymx, &q.ypx)
	} else {
		pp.Multiply(&ypx, &q.ypx)
		mm.Multiply(&ymx, &q.ymx)
	}
	tt.Multiply(&p.T, &q.t2d)
	z2.Add(&p.Z, &p.Z)
	var e, f, g, h field.Element
	e.Subtract(&pp, &mm)
	h.Add(&pp, &mm)
	if neg {
		f.Add(&z2, &tt)
		g.Subtract(&z2, &tt)
	} else {
		f.Subtract(&z2, &tt)
		g.Add(&z2, &tt)
	}
	p.X.Multiply(&e, &f)
	p.Y.Multiply(&g, &h)
	p.Z.Multiply(&f, &g)
	p.T.Multiply(&e, &h)
}

// encode returns the canonical 32-byte encoding of p: y with the sign of x in the
// top bit. ok is false if Z is zero, which the formulas never produce.
func (p *extended) encode() (enc [32]byte, ok bool) {
	var inv, x, y, zero field.Element
	if p.Z.Equal(&zero) == 1 {
		return enc, false
	}
	inv.Invert(&p.Z)
	x.Multiply(&p.X, &inv)
	y.Multiply(&p.Y, &inv)
	copy(enc[:], y.Bytes())
	enc[31] |= byte(x.IsNegative() << 7)
	return enc, true
}

// radix16 returns the signed digits e_0 … e_63 of the little-endian 32-byte value s,
// s = Σ e_i·16^i with −8 ≤ e_i < 8 for i < 63 and −8 ≤ e_63 ≤ 8. s must be below
// 2^255 (every scalar below L is).
func radix16(s *[32]byte) (e [64]int8) {
	for i, b := range s {
		e[2*i] = int8(b & 15)
		e[2*i+1] = int8(b >> 4)
	}
	var carry int8
	for i := 0; i < 63; i++ {
		e[i] += carry
		carry = (e[i] + 8) >> 4
		e[i] -= carry << 4
	}
	e[63] += carry
	return e
}

// ErrKey is NewVerifyKey's error for a key that is not 32 bytes or does not decode to
// a point; Verify rejects every signature under such a key.
var ErrKey = errors.New("edcrypto: public key is not 32 bytes encoding a curve point")

// VerifyKey is a public key prepared for verifying many signatures: the key's bytes and
// a table of multiples of −A (61,440 bytes; building it takes about 0.2 ms, four to
// eight verifications' worth, and about 225 KB of temporary memory). It is immutable
// and safe for concurrent use. The zero value, and a nil *VerifyKey, reject every
// signature: build one with NewVerifyKey.
type VerifyKey struct {
	pub  [PublicKeySize]byte
	negA *comb
}

// NewVerifyKey prepares pub, decoded exactly as Verify decodes it (leniently, as
// Point.SetBytes does). It fails only for a key under which Verify rejects every
// signature.
func NewVerifyKey(pub []byte) (*VerifyKey, error) {
	if len(pub) != PublicKeySize {
		return nil, ErrKey
	}
	A, err := new(edwards25519.Point).SetBytes(pub)
	if err != nil {
		return nil, ErrKey
	}
	negA, ok := newComb(new(edwards25519.Point).Negate(A))
	if !ok {
		return nil, ErrKey
	}
	v := &VerifyKey{negA: negA}
	copy(v.pub[:], pub)
	return v, nil
}

// Public returns the key's bytes, exactly as given to NewVerifyKey.
func (v *VerifyKey) Public() [PublicKeySize]byte { return v.pub }

// Verify reports whether sig is a valid signature of msg under the key: for every
// input, exactly Verify(pub, msg, sig).
func (v *VerifyKey) Verify(msg, sig []byte) bool {
	if v == nil || v.negA == nil || len(sig) != SignatureSize {
		return false
	}
	S, err := new(edwards25519.Scalar).SetCanonicalBytes(sig[32:])
	if err != nil {
		return false
	}
	k := reduce512(sig[:32], v.pub[:], msg)
	enc, ok := v.combine(S, k)
	return ok && constantTimeEqual(enc[:], sig[:32])
}

// combine returns the encoding of [S]B − [k]A: what VarTimeDoubleScalarBaseMult(k,
// −A, S).Bytes() gives (FuzzCombine compares the two); ok is false only if the
// formulas produced a zero Z, which they never do.
func (v *VerifyKey) combine(S, k *edwards25519.Scalar) (enc [32]byte, ok bool) {
	var sb, kb [32]byte
	copy(sb[:], S.Bytes())
	copy(kb[:], k.Bytes())
	es, ek := radix16(&sb), radix16(&kb)
	B := baseComb()
	var r extended // the identity (0:1:1:0)
	r.Y.One()
	r.Z.One()
	for i := 0; i < 64; i++ {
		r.addDigit(&B[i], es[i])
		r.addDigit(&v.negA[i], ek[i])
	}
	return r.encode()
}

// Keys holds the prepared keys of a fixed set of signers, one slot each (a role and
// replica of the configuration), prepared on first use: at most 61,440 bytes per slot.
// A slot whose signer's key changed (a new configuration) is prepared again, so a
// verdict never depends on a stale key. The zero or nil Keys prepares nothing.
// Safe for concurrent use.
type Keys struct {
	slots []atomic.Pointer[VerifyKey]
}

// NewKeys returns Keys with n slots.
func NewKeys(n int) *Keys { return &Keys{slots: make([]atomic.Pointer[VerifyKey], max(n, 0))} }

// Verify is Verify(pub, msg, sig), through the prepared key of slot when slot is one
// of k's (preparing pub there if the slot holds another key or none).
func (k *Keys) Verify(slot int, pub, msg, sig []byte) bool {
	if k == nil || slot < 0 || slot >= len(k.slots) {
		return Verify(pub, msg, sig)
	}
	v := k.slots[slot].Load()
	if v == nil || !bytes.Equal(v.pub[:], pub) {
		nv, err := NewVerifyKey(pub)
		if err != nil {
			return false // Verify rejects every signature under pub
		}
		k.slots[slot].Store(nv)
		v = nv
	}
	return v.Verify(msg, sig)
}
