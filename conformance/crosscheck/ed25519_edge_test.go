package crosscheck

import (
	"bytes"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"math/big"
	"os"
	"testing"
)

// This file generates the project's own Ed25519 edge cases
// (conformance/testdata/ed25519_edge.json, rewritten with -rewrite) and checks them
// against both stacks. Each case's verdict is computed by the reference of
// ref25519_test.go, and where the construction implies a verdict the generator also
// requires the reference to agree with it.

var rewrite = flag.Bool("rewrite", false, "regenerate "+edgeFile)

const edgeFile = "../testdata/ed25519_edge.json"

// torsion are the canonical encodings of the 8 points of order dividing 8.
var torsion = []string{
	"0100000000000000000000000000000000000000000000000000000000000000", // identity
	"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // order 2
	"0000000000000000000000000000000000000000000000000000000000000000", // order 4
	"0000000000000000000000000000000000000000000000000000000000000080", // order 4
	"26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05", // order 8
	"26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85", // order 8
	"c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a", // order 8
	"c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa", // order 8
}

type edgeGen struct {
	t     *testing.T
	cases []edCase
}

var (
	yes, no = true, false
	valid   = &yes
	invalid = &no
)

// add records a case; intent, if not nil, is the verdict the construction implies.
func (g *edgeGen) add(name, why string, key, msg, sig []byte, intent *bool) {
	g.t.Helper()
	got := refVerify(key, msg, sig)
	if intent != nil && got != *intent {
		g.t.Fatalf("edge case %q: the reference says %v, the construction %v", name, got, *intent)
	}
	c := edCase{Name: name, Key: hex.EncodeToString(key), Msg: hex.EncodeToString(msg), Sig: hex.EncodeToString(sig), Valid: got, Why: why}
	if len(key) == 32 {
		admit := refAdmit([32]byte(key))
		c.Admit = &admit
	}
	g.cases = append(g.cases, c)
}

func scalar(label string) *big.Int {
	h := sha512.Sum512([]byte("splitbft/v1/ed25519-edge/" + label))
	return new(big.Int).Mod(leInt(h[:]), orderL)
}

func le32(s *big.Int) []byte {
	var b [32]byte
	s.FillBytes(b[:])
	return reversed(b[:])
}

func point(t *testing.T, enc string) (refPoint, []byte) {
	b, _ := hex.DecodeString(enc)
	p, ok, _ := refDecode([32]byte(b))
	if !ok {
		t.Fatalf("%s does not decode", enc)
	}
	return p, b
}

// challenge is k = SHA-512(R || A || M) mod L over the bytes as given.
func challenge(r, a, msg []byte) *big.Int {
	h := sha512.Sum512(append(append(append([]byte{}, r...), a...), msg...))
	return new(big.Int).Mod(leInt(h[:]), orderL)
}

// signWith signs msg under A with secret scalar a (R = [r]B, S = r + k·a mod L).
func signWith(a *big.Int, pub []byte, r *big.Int, msg []byte) []byte {
	enc := refBase.mul(r).encode()
	k := challenge(enc[:], pub, msg)
	s := new(big.Int).Mod(new(big.Int).Add(r, new(big.Int).Mul(k, a)), orderL)
	return append(enc[:], le32(s)...)
}

func msgN(name string, i int) []byte { return []byte(fmt.Sprintf("splitbft edge %s #%d", name, i)) }

func generateEdge(t *testing.T) []edCase {
	g := &edgeGen{t: t}
	g.scalarCases()
	g.smallOrderCases()
	g.mixedOrderCases()
	g.encodingCases()
	return g.cases
}

// scalarCases: an honest signature, and S at and above L.
func (g *edgeGen) scalarCases() {
	a := scalar("key")
	pub := refBase.mul(a).encode()
	msg := msgN("honest", 0)
	sig := signWith(a, pub[:], scalar("nonce"), msg)
	g.add("honest", "RFC 8032 signature by a prime-order key", pub[:], msg, sig, valid)
	g.add("wrong message", "rule 5: R' differs", pub[:], msgN("honest", 1), sig, invalid)
	s := leInt(sig[32:])
	for _, c := range []struct {
		name string
		s    *big.Int
	}{
		{"S + L", new(big.Int).Add(s, orderL)},
		{"S = L", orderL},
		{"S = L + 1", new(big.Int).Add(orderL, big.NewInt(1))},
		{"S = 2^253 + 1", new(big.Int).Add(new(big.Int).Lsh(big.NewInt(1), 253), big.NewInt(1))},
		{"S = 2^256 - 1", new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 256), big.NewInt(1))},
	} {
		g.add(c.name, "rule 3: S ≥ L", pub[:], msg, append(append([]byte{}, sig[:32]...), le32(c.s)...), invalid)
	}
	id, idEnc := point(g.t, torsion[0])
	lm1 := new(big.Int).Sub(orderL, big.NewInt(1))
	r := refBase.mul(lm1).encode()
	g.add("S = L - 1, identity key", "[k]A = identity, R' = [L-1]B", idEnc, msg, append(r[:], le32(lm1)...), valid)
	_ = id
}

// smallOrderCases: small-order keys and small-order R, which §3.3 does not reject.
func (g *edgeGen) smallOrderCases() {
	_, idEnc := point(g.t, torsion[0])
	zero := make([]byte, 32)
	for i, enc := range torsion {
		tp, key := point(g.t, enc)
		if !tp.mul(big.NewInt(8)).isIdentity() {
			g.t.Fatalf("torsion[%d] does not have order dividing 8", i)
		}
		msg := msgN("small-order key", i)
		g.add(fmt.Sprintf("small-order key %d, R = identity, S = 0", i), "R' = -[k]A: valid iff [k]A = identity",
			key, msg, append(append([]byte{}, idEnc...), zero...), nil)
		g.smallOrderPair(i, tp, key)
	}
	a := scalar("key")
	pub := refBase.mul(a).encode()
	msg := msgN("small-order R", 0)
	k := challenge(idEnc, pub[:], msg)
	g.add("prime-order key, R = identity", "S = k·a gives R' = identity = R", pub[:], msg,
		append(append([]byte{}, idEnc...), le32(new(big.Int).Mod(new(big.Int).Mul(k, a), orderL))...), valid)
	_, r8 := point(g.t, torsion[4])
	k = challenge(r8, pub[:], msg)
	g.add("prime-order key, R of order 8", "R' is in the prime-order subgroup, R is not", pub[:], msg,
		append(append([]byte{}, r8...), le32(new(big.Int).Mod(new(big.Int).Mul(k, a), orderL))...), invalid)
}

// smallOrderPair finds a message and a small-order R with -[k]T = R, so that S = 0
// verifies under the small-order key T (both A and R of small order).
func (g *edgeGen) smallOrderPair(i int, tp refPoint, key []byte) {
	zero := make([]byte, 32)
	for j := 0; j < 256; j++ {
		msg := msgN("small-order pair", 256*i+j)
		for _, renc := range torsion {
			_, r := point(g.t, renc)
			if tp.neg().mul(challenge(r, key, msg)).encode() == [32]byte(r) {
				g.add(fmt.Sprintf("small-order key %d, small-order R, S = 0", i), "R' = -[k]A = R", key, msg, append(r, zero...), valid)
				return
			}
		}
	}
	g.t.Fatalf("no small-order pair for torsion[%d]", i)
}

// mixedOrderCases: keys [a]B + T, admitted, whose honest signatures verify only when
// [k]T = identity (cofactorless rule).
func (g *edgeGen) mixedOrderCases() {
	for _, ti := range []int{1, 2, 4} {
		tp, _ := point(g.t, torsion[ti])
		a := scalar(fmt.Sprintf("mixed %d", ti))
		pub := refBase.mul(a).add(tp).encode()
		found := map[bool]bool{}
		for j := 0; j < 64 && len(found) < 2; j++ {
			msg := msgN(fmt.Sprintf("mixed %d", ti), j)
			sig := signWith(a, pub[:], scalar(fmt.Sprintf("mixed nonce %d %d", ti, j)), msg)
			k := challenge(sig[:32], pub[:], msg)
			passes := tp.mul(k).isIdentity()
			if found[passes] {
				continue
			}
			found[passes] = true
			intent := &passes
			g.add(fmt.Sprintf("mixed-order key (torsion %d), [k]T = identity: %v", ti, passes),
				"R' = [r]B - [k]T", pub[:], msg, sig, intent)
		}
	}
}

// encodingCases: non-canonical and undecodable keys and R, and wrong lengths.
func (g *edgeGen) encodingCases() {
	_, idEnc := point(g.t, torsion[0])
	zero := make([]byte, 32)
	sigID := append(append([]byte{}, idEnc...), zero...) // R = identity, S = 0
	unhexed := func(s string) []byte { b, _ := hex.DecodeString(s); return b }
	for _, c := range []struct {
		name, key string
		intent    *bool
	}{
		{"key y = p + 1 (identity, non-canonical)", "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", valid},
		{"key identity with sign bit", "0100000000000000000000000000000000000000000000000000000000000080", valid},
		{"key (0, -1) with sign bit", "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", nil},
		{"key y = p (order 4, non-canonical)", "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", nil},
		{"key y = p, sign bit", "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", nil},
		{"key y = 2 (not on the curve)", "0200000000000000000000000000000000000000000000000000000000000000", invalid},
		{"key all ones", "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", nil},
	} {
		g.add(c.name, "A decoded leniently (rule 2); k over A as received", unhexed(c.key), msgN(c.name, 0), sigID, c.intent)
	}
	for y := 3; y < 19; y++ { // a non-torsion point with y < 19 also encodes as y + p
		var k [32]byte
		k[0] = byte(y)
		if p, ok, _ := refDecode(k); ok && !p.mul(big.NewInt(8)).isIdentity() {
			nc := le32(new(big.Int).Add(big.NewInt(int64(y)), fp))
			g.add(fmt.Sprintf("key y = %d + p (non-canonical, not small order)", y), "never admitted", nc, msgN("nc", y), sigID, invalid)
			break
		}
	}
	msg := msgN("identity key", 0)
	g.add("identity key, R = identity, S = 0", "R' = identity", idEnc, msg, sigID, valid)
	g.add("identity key, R = identity as y = p + 1", "rule 5: R compared byte for byte",
		idEnc, msg, append(unhexed("eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"), zero...), invalid)
	g.add("identity key, R = identity with sign bit", "rule 5: R compared byte for byte",
		idEnc, msg, append(unhexed("0100000000000000000000000000000000000000000000000000000000000080"), zero...), invalid)
	g.add("R not on the curve", "rule 5", idEnc, msg, append(unhexed("0200000000000000000000000000000000000000000000000000000000000000"), zero...), invalid)
	g.add("key of 31 bytes", "rule 1", idEnc[:31], msg, sigID, invalid)
	g.add("signature of 63 bytes", "rule 1", idEnc, msg, sigID[:63], invalid)
	g.add("signature of 65 bytes", "rule 1", idEnc, msg, append(append([]byte{}, sigID...), 0), invalid)
	g.add("empty key and signature", "rule 1", nil, msg, nil, invalid)
}

// TestEd25519EdgeCases: the shipped edge cases are exactly what the generator
// produces, and both stacks give every case its §3.3 verdict and the same admission.
func TestEd25519EdgeCases(t *testing.T) {
	gen := generateEdge(t)
	want, err := json.MarshalIndent(gen, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	want = append(want, '\n')
	if *rewrite {
		if err := os.WriteFile(edgeFile, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(edgeFile)
	if err != nil {
		t.Fatalf("%v (generate it with go test -run TestEd25519EdgeCases -rewrite)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is stale: run go test ./conformance/crosscheck -run TestEd25519EdgeCases -rewrite", edgeFile)
	}
	var cases []edCase
	if err := json.Unmarshal(got, &cases); err != nil {
		t.Fatal(err)
	}
	if acc := checkCases(t, cases); acc == 0 || acc == len(cases) || len(cases) < 30 {
		t.Fatalf("degenerate edge set: %d of %d accepted", acc, len(cases))
	}
}
