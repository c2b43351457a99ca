package client

import (
	"bytes"
	"testing"

	"github.com/splitbft/splitbft/spec"
)

// TestAppendADMatches checks the AEAD data written into the session's scratch buffer
// against requestAD and replyAD (§12.2, §12.3), also over a buffer holding old bytes.
func TestAppendADMatches(t *testing.T) {
	cd := spec.Digest{4, 5, 31: 6}
	cases := []struct {
		name      string
		got, want []byte
	}{
		{"request", spec.AppendAD(nil, spec.LabelRequestAD, cd, 3, 1<<33), requestAD(cd, 3, 1<<33)},
		{"reply", spec.AppendAD(nil, spec.LabelReplyAD, cd, 3, 8, 2, 1<<62), replyAD(cd, 3, 8, 2, 1<<62)},
		{"reused buffer", spec.AppendAD([]byte("previous AEAD data")[:0], spec.LabelRequestAD, cd, 1, 2), requestAD(cd, 1, 2)},
	}
	for _, c := range cases {
		if !bytes.Equal(c.got, c.want) {
			t.Errorf("%s: appendAD = %x, want %x", c.name, c.got, c.want)
		}
	}
}

// TestKeyedAEADFollowsKey: the cached cipher is the key's, and a new key (a new
// epoch's) gets a new cipher: what one key sealed does not open under the other.
func TestKeyedAEADFollowsKey(t *testing.T) {
	k1, k2 := [32]byte{1}, [32]byte{2}
	nonce := spec.Nonce{9}
	ad := []byte("ad")
	var cache keyedAEAD
	ct := seal(k1, nonce, []byte("plain"), ad)
	if pt, err := openWith(cache.get(k1), &nonce, ct, ad); err != nil || string(pt) != "plain" {
		t.Fatalf("cipher of k1 does not open k1's ciphertext: %q, %v", pt, err)
	}
	if _, err := openWith(cache.get(k2), &nonce, ct, ad); err == nil {
		t.Fatal("after the key changed, the cached cipher still opens the old key's ciphertext")
	}
	if pt, err := openWith(cache.get(k1), &nonce, ct, ad); err != nil || string(pt) != "plain" {
		t.Fatalf("back to k1: %q, %v", pt, err)
	}
	if _, err := openWith(cache.get(k1), &nonce, ct[:15], ad); err == nil {
		t.Fatal("a ciphertext shorter than the tag opened")
	}
}
