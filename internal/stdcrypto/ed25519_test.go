package stdcrypto

import (
	"bytes"
	"encoding/hex"
	"testing"
)

// TestRFC8032Sign checks signing from a seed against RFC 8032 §7.1 tests 1 and 2.
func TestRFC8032Sign(t *testing.T) {
	tests := []struct{ seed, pub, msg, sig string }{
		{"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
			"d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
			"e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"},
		{"4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
			"3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
			"92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"},
	}
	for i, tc := range tests {
		s, err := NewSigner(unhex(t, tc.seed))
		if err != nil {
			t.Fatal(err)
		}
		pub := s.Public()
		if hex.EncodeToString(pub[:]) != tc.pub {
			t.Errorf("test %d: public key %x", i+1, pub)
		}
		msg := unhex(t, tc.msg)
		sig := s.Sign(msg)
		if hex.EncodeToString(sig[:]) != tc.sig {
			t.Errorf("test %d: signature %x", i+1, sig)
		}
		if !Verify(pub[:], msg, sig[:]) || !refVerify(pub[:], msg, sig[:]) {
			t.Errorf("test %d: own signature does not verify", i+1)
		}
		if !AdmitKey(pub) {
			t.Errorf("test %d: RFC key not admitted", i+1)
		}
	}
}

// TestVerifyLengths: wrong lengths are invalid, never a panic.
func TestVerifyLengths(t *testing.T) {
	s := mustSigner(t)
	pub := s.Public()
	sig := s.Sign([]byte("m"))
	tests := []struct {
		name     string
		pub, sig []byte
	}{
		{"short key", pub[:31], sig[:]},
		{"long key", append(pub[:], 0), sig[:]},
		{"nil key", nil, sig[:]},
		{"short sig", pub[:], sig[:63]},
		{"long sig", pub[:], append(sig[:], 0)},
		{"nil sig", pub[:], nil},
	}
	for _, tc := range tests {
		if Verify(tc.pub, []byte("m"), tc.sig) {
			t.Errorf("%s: verified", tc.name)
		}
	}
	if !Verify(pub[:], []byte("m"), sig[:]) {
		t.Fatal("good signature rejected")
	}
}

// TestGenerateSigner reads exactly 32 bytes and rejects short streams and seeds.
func TestGenerateSigner(t *testing.T) {
	src := bytes.NewReader(bytes.Repeat([]byte{7}, 40))
	s, err := GenerateSigner(src)
	if err != nil {
		t.Fatal(err)
	}
	if src.Len() != 8 {
		t.Fatalf("read %d bytes, want 32", 40-src.Len())
	}
	want, _ := NewSigner(bytes.Repeat([]byte{7}, 32))
	if s.Public() != want.Public() {
		t.Fatal("GenerateSigner differs from NewSigner on the same seed")
	}
	if _, err := GenerateSigner(bytes.NewReader(make([]byte, 31))); err == nil {
		t.Fatal("short stream accepted")
	}
	if _, err := NewSigner(make([]byte, 33)); err != ErrSeedSize {
		t.Fatalf("33-byte seed: err = %v", err)
	}
}
