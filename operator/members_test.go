package operator

import (
	"bytes"
	"crypto/ed25519"
	"os"
	"strings"
	"testing"

	"github.com/splitbft/splitbft/spec"
)

// TestInitMembers: init --members writes each member key (mode 0600) and registers
// the public keys with the threshold in the template and the configuration.
func TestInitMembers(t *testing.T) {
	dir := t.TempDir() + "/c"
	opt := testOptions()
	opt.Members = 3
	tmpl, err := Init(dir, opt, spec.TestStream("members", 1))
	if err != nil {
		t.Fatal(err)
	}
	if len(tmpl.Members) != 3 || tmpl.Threshold != 2 {
		t.Fatalf("%d members, threshold %d; want 3 and a majority, 2", len(tmpl.Members), tmpl.Threshold)
	}
	for i := range 3 {
		fi, err := os.Stat(MemberKeyPath(dir, i))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("member %d key: %v; want mode 0600", i, err)
		}
		k, err := LoadMemberKey(MemberKeyPath(dir, i))
		if err != nil || string(k.Public().(ed25519.PublicKey)) != string(tmpl.Members[i]) {
			t.Fatalf("member %d key does not match the template (%v)", i, err)
		}
	}
	cfg, err := tmpl.PolicyConfig()
	if err != nil || len(cfg.Members) != 3 || cfg.Threshold != 2 {
		t.Fatalf("configuration members %d, threshold %d (%v)", len(cfg.Members), cfg.Threshold, err)
	}
	opt.MemberThreshold = 4
	if _, err := Init(t.TempDir()+"/d", opt, spec.TestStream("members", 2)); err == nil {
		t.Fatal("a threshold above the number of members was accepted")
	}
}

// TestBuildProposal: the proposal is signed by each member key under the
// configuration's digest (GP2), sorted by member; a non-member key, a key given
// twice, fewer keys than the threshold, or no change fail with a clear message.
func TestBuildProposal(t *testing.T) {
	keys := make([]ed25519.PrivateKey, 3)
	cfg := &spec.Config{Epoch: 4, Threshold: 2}
	for i := range keys {
		keys[i] = ed25519.NewKeyFromSeed([]byte(strings.Repeat(string(rune('a'+i)), 32)))
		cfg.Members = append(cfg.Members, spec.PublicKey(keys[i].Public().(ed25519.PublicKey)))
	}
	outsider := ed25519.NewKeyFromSeed([]byte(strings.Repeat("z", 32)))
	change := []spec.Change{{Op: spec.ChangeSetThreshold, Replica: 3}}
	op, err := BuildProposal(cfg, change, []ed25519.PrivateKey{keys[2], keys[0]})
	if err != nil {
		t.Fatal(err)
	}
	var c spec.ConfigOp
	if err := spec.Decode(op, &c, spec.MaxMessageBytes); err != nil || !bytes.Equal(c.Tag, spec.ConfigOpTag) || len(c.Admit) != 0 {
		t.Fatalf("config op: %v %+v", err, c)
	}
	p := c.Change
	msg := spec.SignedBytes(spec.DomainProposal, spec.ConfigDigest(cfg), spec.Encode(&p.Body))
	if p.Body.Epoch != 4 || len(p.Sigs) != 2 || p.Sigs[0].Member != 0 || p.Sigs[1].Member != 2 ||
		!ed25519.Verify(keys[0].Public().(ed25519.PublicKey), msg, p.Sigs[0].Sig[:]) || !ed25519.Verify(keys[2].Public().(ed25519.PublicKey), msg, p.Sigs[1].Sig[:]) {
		t.Fatalf("proposal %+v does not carry the members' signatures over the epoch's digest", p)
	}
	for _, tc := range []struct {
		name    string
		keys    []ed25519.PrivateKey
		changes []spec.Change
		err     string
	}{
		{"outsider", []ed25519.PrivateKey{keys[0], outsider}, change, "is not a member"},
		{"twice", []ed25519.PrivateKey{keys[1], keys[1]}, change, "given twice"},
		{"below threshold", keys[:1], change, "1 member signatures, the configuration needs 2"},
		{"no change", keys, nil, "0 changes"},
	} {
		if _, err := BuildProposal(cfg, tc.changes, tc.keys); err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.err)
		}
	}
}
