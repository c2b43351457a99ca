package agreea

import (
	"fmt"
	"testing"

	"github.com/splitbft/splitbft/internal/stdcrypto/fixture"
	"github.com/splitbft/splitbft/spec"
)

// sigJobs returns n jobs signed by keys drawn from seed; job i is invalid iff
// bad(i) (its signature, key or body is off by one bit).
func sigJobs(t *testing.T, seed uint64, n int, bad func(int) bool) ([]SigJob, spec.Digest) {
	t.Helper()
	rd := fixture.NewReader(seed)
	cd := spec.Digest{byte(seed), 7}
	var jobs []SigJob
	for i := 0; i < n; i++ {
		k, err := GenerateKey(rd)
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		body := spec.Encode(&spec.CheckpointBody{Seq: uint64(i), Replica: 1})
		j := SigJob{Key: k.Public(), Domain: spec.DomainCheckpoint, Body: body, Sig: k.Sign(spec.DomainCheckpoint, cd, body)}
		if bad(i) {
			switch i % 3 {
			case 0:
				j.Sig[5] ^= 1
			case 1:
				j.Domain = spec.DomainCommit
			case 2:
				j.Body = spec.Encode(&spec.CheckpointBody{Seq: uint64(i) + 1, Replica: 1})
			}
		}
		jobs = append(jobs, j)
	}
	return jobs, cd
}

// TestVerifyEachMatchesSequential: VerifyEach gives each job's own verdict for every
// worker count, and VerifyAll is their conjunction.
func TestVerifyEachMatchesSequential(t *testing.T) {
	const seed = 21
	bad := func(i int) bool { return i%7 == 3 }
	jobs, cd := sigJobs(t, seed, 40, bad)
	for _, w := range []int{0, 1, 2, 3, 8, 39, 40, 100} {
		for _, n := range []int{0, 1, minParallel - 1, minParallel, len(jobs)} {
			got := VerifyEach(cd, jobs[:n], w)
			for i, ok := range got {
				if ok == bad(i) {
					t.Errorf("seed %d: workers %d, %d jobs: job %d valid=%t", seed, w, n, i, ok)
				}
			}
			if len(got) != n || VerifyAll(cd, jobs[:n], w) != (n <= 3) {
				t.Errorf("seed %d: workers %d, %d jobs: %d verdicts, VerifyAll %t", seed, w, n, len(got), VerifyAll(cd, jobs[:n], w))
			}
		}
	}
	if w := DefaultWorkers(); w < 1 || w > maxWorkers {
		t.Errorf("DefaultWorkers %d out of 1..%d", w, maxWorkers)
	}
}

// TestVerifySender: the sender's key is the one enrolled for the role at the replica
// (SPEC.md §8.2); a signature by another role or replica, or over other bytes, fails.
func TestVerifySender(t *testing.T) {
	const seed = 22
	c := cluster(seed)
	body := spec.Slot{View: 1, Seq: 2, Digest: st(4), Replica: 3}
	sig := c.Sign(spec.RolePrep, 3, spec.DomainPrepare, &body)
	other := body
	other.Seq = 4
	tests := []struct {
		role   spec.Role
		r      uint64
		domain string
		body   *spec.Slot
		want   bool
	}{
		{spec.RolePrep, 3, spec.DomainPrepare, &body, true},
		{spec.RoleConf, 3, spec.DomainPrepare, &body, false},
		{spec.RolePrep, 2, spec.DomainPrepare, &body, false},
		{spec.RolePrep, 3, spec.DomainPrePrepare, &body, false},
		{spec.RolePrep, 3, spec.DomainPrepare, &other, false},
	}
	for i, tc := range tests {
		if got := VerifySender(c.Config, c.CD, tc.role, tc.r, tc.domain, tc.body, sig); got != tc.want {
			t.Errorf("seed %d: case %d (%s %d %s): %t, want %t", seed, i, spec.RoleName(tc.role), tc.r, tc.domain, got, tc.want)
		}
	}
	if SenderKey(c.Config, spec.RoleExec, 1) != c.Key(spec.RoleExec, 1) {
		t.Errorf("seed %d: SenderKey is not the enrolled key", seed)
	}
}

// TestInWindow: base < s ≤ base + l, without overflow.
func TestInWindow(t *testing.T) {
	const max = ^uint64(0)
	tests := []struct {
		s, base, l uint64
		want       bool
	}{
		{4, 4, 8, false}, {5, 4, 8, true}, {12, 4, 8, true}, {13, 4, 8, false}, {3, 4, 8, false},
		{max, max - 8, 8, true}, {max, max - 9, 8, false}, {1, max, 8, false}, {0, 0, max, false}, {max, 0, max, true},
	}
	for _, tc := range tests {
		if got := InWindow(tc.s, tc.base, tc.l); got != tc.want {
			t.Errorf("InWindow(%d, %d, %d) = %t", tc.s, tc.base, tc.l, got)
		}
	}
	if got := fmt.Sprint(SortedKeys(map[uint64]bool{9: true, 1: true, 5: false})); got != "[1 5 9]" {
		t.Errorf("SortedKeys: %s", got)
	}
}
