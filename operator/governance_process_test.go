package operator

import (
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestGovernanceProcesses runs a cluster's governance over its life with the CLI, as
// an operator would (SPEC §17.2): a client made with keygen is refused until a
// proposal registers it, then reads and writes, and so does one registered by the
// public keys its keygen printed, while one registered with keys other than its
// credentials' is told so; a second member joins and the
// threshold rises to two in one proposal, after which one member's signature is too
// few; a proposal signed by both removes the client and the first member and lowers
// the threshold, after which the client is refused again and the first member's key
// signs nothing; a proposal the cluster rejects makes propose exit 1. Every replica
// follows each epoch, and they agree on a checkpoint at the end.
func TestGovernanceProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts 16 processes; skipped in -short mode")
	}
	pc := &procCluster{t: t, wrap: func(_ int, argv []string) []string { return argv }}
	pc.start(4, "--base-port", strconv.Itoa(freeBase(t, 12)), "--members", "1")
	all := []int{0, 1, 2, 3}
	run := func(args ...string) (string, error) {
		out, err := exec.Command(filepath.Join(pc.bin, "splitbft"), args...).CombinedOutput()
		return string(out), err
	}
	ok := func(want string, args ...string) {
		t.Helper()
		if out, err := run(args...); err != nil || !strings.Contains(out, want) {
			t.Fatalf("splitbft %s: %v\n%s\nwant success and %q", strings.Join(args, " "), err, out, want)
		}
	}
	fails := func(want string, args ...string) {
		t.Helper()
		if out, err := run(args...); err == nil || !strings.Contains(out, want) {
			t.Fatalf("splitbft %s: %v\n%s\nwant a failure saying %q", strings.Join(args, " "), err, out, want)
		}
	}
	kv := func(id string, args ...string) []string {
		return append([]string{"kv", "--dir", pc.dir, "--client", id, "--wait", "60s", "--timeout", "20s"}, args...)
	}
	propose := func(keys []string, changes ...string) []string {
		args := []string{"propose", "--dir", pc.dir, "--client", "1"}
		for _, k := range keys {
			args = append(args, "--member-key", k)
		}
		return append(args, changes...)
	}
	m0 := MemberKeyPath(pc.dir, 0)
	m1 := filepath.Join(pc.dir, MembersDir, "member-new.json")

	ok("credentials written", "keygen", "--dir", pc.dir, "--client", "66")
	fails("file exists", "keygen", "--dir", pc.dir, "--client", "66")
	fails("client 66 is not registered in the cluster's configuration of epoch 0", kv("66", "put", "g", "1")...)
	// Client 67 hands over only the public keys its keygen printed; client 68 is
	// registered with keys other than its credentials' (RFC 8032's and RFC 7748's
	// test keys).
	out, err := run("keygen", "--dir", pc.dir, "--client", "67")
	printed := regexp.MustCompile(`sign key ([0-9a-f]{64})\nbox key +([0-9a-f]{64})`).FindStringSubmatch(out)
	if err != nil || printed == nil {
		t.Fatalf("keygen --client 67: %v\n%s", err, out)
	}
	ok("credentials written", "keygen", "--dir", pc.dir, "--client", "68")
	const others = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a:8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"
	ok("accepted: the cluster moves to epoch 1", propose([]string{m0}, "--add-client", "66",
		"--add-client", "67="+printed[1]+":"+printed[2], "--add-client", "68="+others)...)
	pc.waitEpoch(all, 1, time.Now().Add(60*time.Second))
	ok("ok", kv("66", "put", "g", "one")...)
	ok("one", kv("66", "get", "g")...)
	ok("ok", kv("67", "put", "h", "seven")...)
	ok("seven", kv("67", "get", "h")...)
	fails("client 68 is registered with another key in the cluster's configuration of epoch 1: sign key d75a9801", kv("68", "get", "h")...)

	ok("public key", "keygen", "--member", m1)
	ok("accepted: the cluster moves to epoch 2", propose([]string{m0}, "--add-member", m1, "--set-threshold", "2")...)
	pc.waitEpoch(all, 2, time.Now().Add(60*time.Second))
	fails("1 member signatures, the configuration needs 2", propose([]string{m0}, "--remove-client", "66")...)
	// Rejected by the cluster: a threshold above the number of members (EC1).
	fails("rejected: bad-config", propose([]string{m0, m1}, "--set-threshold", "3")...)
	ok("accepted: the cluster moves to epoch 3", propose([]string{m0, m1}, "--remove-client", "66", "--remove-member", m0, "--set-threshold", "1")...)
	pc.waitEpoch(all, 3, time.Now().Add(60*time.Second))
	fails("client 66 is not registered in the cluster's configuration of epoch 3", kv("66", "get", "g")...)
	fails("is not a member of the configuration of epoch 3", propose([]string{m0}, "--set-threshold", "1")...)
	ok("ok", kv("1", "put", "g", "two")...)
	ok("two", kv("1", "get", "g")...)
	seq, digests := pc.agreeingCheckpoint(all, 1, time.Now().Add(60*time.Second))
	for _, i := range all {
		if digests[i] != digests[0] {
			t.Fatalf("checkpoint %d: replicas disagree on the state digest: %v", seq, digests)
		}
	}
}
