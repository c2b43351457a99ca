package operator

import (
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/splitbft/splitbft/spec"
)

// Governance members (SPEC.md §17.2): `splitbft init --members N` makes N Ed25519
// member keys, registers their public halves in the template (and so in the genesis
// configuration) with a threshold, and writes each private key to members/; `splitbft
// propose` signs a ConfigProposal with member key files and submits it.

// MembersDir is the folder of member keys inside a cluster directory.
const MembersDir = "members"

// statusRejected is the Result status of a rejected config operation (SPEC §17.2).
const statusRejected = 8

// memberFile is the JSON form of a member key. It is a secret.
type memberFile struct {
	Seed Hex `json:"ed25519_seed"`
}

// MemberKeyPath returns the path of member i's key in cluster dir.
func MemberKeyPath(dir string, i int) string {
	return filepath.Join(dir, MembersDir, fmt.Sprintf("member-%d.json", i))
}

// addMembers makes n member keys from rand (32 bytes each), registers them in t
// with threshold (default: a majority) and returns the private keys.
func addMembers(t *Template, n int, threshold uint64, rand io.Reader) ([]ed25519.PrivateKey, error) {
	if n == 0 {
		return nil, nil
	}
	if n < 0 || n > spec.MaxMembers {
		return nil, tmplErr("members %d out of 0..%d", n, spec.MaxMembers)
	}
	var keys []ed25519.PrivateKey
	for range n {
		seed := make([]byte, ed25519.SeedSize)
		if _, err := io.ReadFull(rand, seed); err != nil {
			return nil, err
		}
		k := ed25519.NewKeyFromSeed(seed)
		keys = append(keys, k)
		t.Members = append(t.Members, Hex(k.Public().(ed25519.PublicKey)))
	}
	t.Threshold = threshold
	if t.Threshold == 0 {
		t.Threshold = uint64(n/2 + 1)
	}
	return keys, nil
}

// saveMembers writes member keys to dir/members (mode 0600).
func saveMembers(dir string, keys []ed25519.PrivateKey) error {
	if len(keys) == 0 {
		return nil
	}
	if err := os.MkdirAll(filepath.Join(dir, MembersDir), 0o700); err != nil {
		return err
	}
	for i, k := range keys {
		raw, _ := json.MarshalIndent(memberFile{Seed: Hex(k.Seed())}, "", "  ")
		if err := os.WriteFile(MemberKeyPath(dir, i), append(raw, '\n'), 0o600); err != nil {
			return err
		}
	}
	return nil
}

// LoadMemberKey reads a member key file.
func LoadMemberKey(path string) (ed25519.PrivateKey, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("operator: member key: %w", err)
	}
	var m memberFile
	if err := json.Unmarshal(raw, &m); err != nil || len(m.Seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("operator: %s is not a member key file (%v)", path, err)
	}
	return ed25519.NewKeyFromSeed(m.Seed), nil
}

// memberConfig returns the template's members as configuration fields.
func (t *Template) memberConfig() ([]spec.PublicKey, error) {
	out := make([]spec.PublicKey, len(t.Members))
	for i, m := range t.Members {
		if len(m) != 32 {
			return nil, tmplErr("member %d: key must be 32 bytes", i)
		}
		copy(out[i][:], m)
	}
	return out, nil
}

// BuildProposal signs changes for the epoch of cfg with each of keys (every one must
// be a member of cfg; SPEC §17.2 rules GP1, GP2) and returns the config operation
// that carries the proposal. It fails, naming the problem, when a key is not a
// member, a key is given twice, or fewer than cfg.Threshold keys sign.
func BuildProposal(cfg *spec.Config, changes []spec.Change, keys []ed25519.PrivateKey) ([]byte, error) {
	if cfg.Threshold == 0 {
		return nil, fmt.Errorf("operator: the configuration of epoch %d has no governance members", cfg.Epoch)
	}
	if uint64(len(keys)) < cfg.Threshold {
		return nil, fmt.Errorf("operator: %d member signatures, the configuration needs %d", len(keys), cfg.Threshold)
	}
	if len(changes) == 0 || len(changes) > MaxProposalChanges {
		return nil, fmt.Errorf("operator: %d changes, want 1..%d", len(changes), MaxProposalChanges)
	}
	p := spec.ConfigProposal{Body: spec.ConfigProposalBody{Epoch: cfg.Epoch, Changes: changes}}
	msg := spec.SignedBytes(spec.DomainProposal, spec.ConfigDigest(cfg), spec.Encode(&p.Body))
	for _, k := range keys {
		pub := spec.PublicKey(k.Public().(ed25519.PublicKey))
		i := slices.Index(cfg.Members, pub)
		if i < 0 {
			return nil, fmt.Errorf("operator: key %x… is not a member of the configuration of epoch %d", pub[:6], cfg.Epoch)
		}
		if slices.ContainsFunc(p.Sigs, func(s spec.MemberSig) bool { return s.Member == uint64(i) }) {
			return nil, fmt.Errorf("operator: member %d's key given twice", i)
		}
		p.Sigs = append(p.Sigs, spec.MemberSig{Member: uint64(i), Sig: spec.Signature(ed25519.Sign(k, msg))})
	}
	slices.SortFunc(p.Sigs, func(a, b spec.MemberSig) int { return int(a.Member) - int(b.Member) })
	return spec.Encode(&spec.ConfigOp{Tag: spec.ConfigOpTag, Change: p}), nil
}

// DescribeConfigResult renders the result of a config operation (SPEC §17.2).
func DescribeConfigResult(r spec.Result) string {
	switch r.Status {
	case spec.StatusOK:
		return "accepted: the cluster moves to epoch " + string(r.Value)
	case statusRejected:
		return "rejected: " + string(r.Value)
	}
	return fmt.Sprintf("unexpected result status %d (%q): is this a cluster with epochs?", r.Status, r.Value)
}

// NewMemberKey writes a fresh member key to path (mode 0600, never over an existing
// file) and returns its public key, which a proposal adds with add-member.
func NewMemberKey(path string, rand io.Reader) (spec.PublicKey, error) {
	seed := make([]byte, ed25519.SeedSize)
	if _, err := io.ReadFull(rand, seed); err != nil {
		return spec.PublicKey{}, err
	}
	k := ed25519.NewKeyFromSeed(seed)
	raw, _ := json.MarshalIndent(memberFile{Seed: Hex(seed)}, "", "  ")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return spec.PublicKey{}, fmt.Errorf("operator: %w", err)
	}
	if _, err := f.Write(append(raw, '\n')); err != nil {
		f.Close()
		return spec.PublicKey{}, fmt.Errorf("operator: %w", err)
	}
	if err := f.Close(); err != nil {
		return spec.PublicKey{}, fmt.Errorf("operator: %w", err)
	}
	return spec.PublicKey(k.Public().(ed25519.PublicKey)), nil
}

// MemberPublicKey names a member for add-member or remove-member: the public key of
// the member key file at v, or v itself as 64 hex digits (a member whose key file is
// lost can still be removed by its public key).
func MemberPublicKey(v string) (spec.PublicKey, error) {
	var pub spec.PublicKey
	if b, err := hex.DecodeString(v); err == nil && len(b) == len(pub) {
		copy(pub[:], b)
		return pub, nil
	}
	k, err := LoadMemberKey(v)
	if err != nil {
		return pub, fmt.Errorf("operator: %q is neither a member key file nor a 64-digit hex public key: %w", v, err)
	}
	return spec.PublicKey(k.Public().(ed25519.PublicKey)), nil
}
