package broker

import (
	"crypto/ed25519"
	"encoding/hex"
	"testing"

	"github.com/splitbft/splitbft/spec"
)

func hexKey(s string) (k spec.PublicKey) {
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 32 {
		panic("bad test key")
	}
	copy(k[:], b)
	return k
}

func TestAdmitKey(t *testing.T) {
	good := edPub(ed25519.NewKeyFromSeed(make([]byte, 32)))
	cases := []struct {
		name string
		key  spec.PublicKey
		want bool
	}{
		{"generated key", good, true},
		{"identity (small order)", hexKey("0100000000000000000000000000000000000000000000000000000000000000"), false},
		{"order-2 point (0,-1)", hexKey("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"), false},
		{"order-4 point", hexKey("0000000000000000000000000000000000000000000000000000000000000000"), false},
		{"order-8 point", hexKey("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a"), false},
		{"non-canonical y = p+1 (identity)", hexKey("eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"), false},
		{"x = 0 with sign bit (identity, negative zero)", hexKey("0100000000000000000000000000000000000000000000000000000000000080"), false},
		{"not on the curve", hexKey("0200000000000000000000000000000000000000000000000000000000000000"), false},
	}
	for _, tc := range cases {
		if got := AdmitKey(tc.key); got != tc.want {
			t.Errorf("%s: AdmitKey = %v, want %v", tc.name, got, tc.want)
		}
	}
}
