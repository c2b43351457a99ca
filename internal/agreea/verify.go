package agreea

import (
	"runtime"
	"sync"

	"github.com/splitbft/splitbft/spec"
)

// SigJob is one signature to check: Sig by Key over SignedBytes(Domain, cd, Body),
// where Body is a canonical encoding and cd is given to VerifyEach.
type SigJob struct {
	Key    spec.PublicKey
	Domain string
	Body   []byte
	Sig    spec.Signature
}

func (j *SigJob) valid(cd spec.Digest) bool { return VerifySig(j.Key, j.Domain, cd, j.Body, j.Sig) }

// SenderKey returns "the sender's key" of SPEC.md §8.2: the signing key cfg enrolls for
// role at replica r. r < cfg.N, which every caller checks first (the unknown-sender
// rule precedes each signature rule); cfg is a validated configuration.
func SenderKey(cfg *spec.Config, role spec.Role, r uint64) spec.PublicKey {
	return cfg.Enrollment(role, r).Body.SignKey
}

// VerifySender reports whether sig is the signature, under the sender's key of (role,
// r) (SenderKey, with its precondition r < cfg.N), of the canonical encoding of body
// in domain for configuration digest cd (SPEC.md §3.4).
func VerifySender(cfg *spec.Config, cd spec.Digest, role spec.Role, r uint64, domain string, body any, sig spec.Signature) bool {
	return VerifySig(SenderKey(cfg, role, r), domain, cd, spec.Encode(body), sig)
}

// minParallel is the number of signatures below which verification stays on the
// calling goroutine: starting goroutines costs more than it saves.
const minParallel = 8

// maxWorkers caps the verification goroutines of one Step.
const maxWorkers = 8

// DefaultWorkers is the choice of verification parallelism of prep-a and conf-a: one
// goroutine per available CPU (GOMAXPROCS), at most 8. prep-a's BenchmarkClientBatch
// (prep-a/verify_test.go) compares sequential and parallel verification of a
// 200-request batch: on the 2-core development machine 10.5 ms sequential against
// 5.3 ms with 2 workers, so parallel verification is on by default (and is a no-op
// with one CPU; the prep-a and conf-a binaries keep one P per CPU for it:
// enclavemain.MainParallel). No result depends on it: VerifyEach returns exactly what a
// sequential loop returns, which TestVerifyEachMatchesSequential checks.
func DefaultWorkers() int { return min(runtime.GOMAXPROCS(0), maxWorkers) }

// VerifyEach returns, for each job, whether its signature is valid under cd. With
// workers > 1 and at least 8 jobs it splits the jobs into contiguous chunks, one
// goroutine each, and waits for all of them before returning (no goroutine outlives
// the call); otherwise it checks them in turn. The result is the same either way.
func VerifyEach(cd spec.Digest, jobs []SigJob, workers int) []bool {
	ok := make([]bool, len(jobs))
	if workers <= 1 || len(jobs) < minParallel {
		for i := range jobs {
			ok[i] = jobs[i].valid(cd)
		}
		return ok
	}
	chunk := (len(jobs) + workers - 1) / workers
	var wg sync.WaitGroup
	for lo := 0; lo < len(jobs); lo += chunk {
		hi := min(lo+chunk, len(jobs))
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := lo; i < hi; i++ {
				ok[i] = jobs[i].valid(cd)
			}
		}()
	}
	wg.Wait()
	return ok
}

// VerifyAll reports whether every job's signature is valid under cd (true for no
// jobs), with the parallelism of VerifyEach.
func VerifyAll(cd spec.Digest, jobs []SigJob, workers int) bool {
	for _, ok := range VerifyEach(cd, jobs, workers) {
		if !ok {
			return false
		}
	}
	return true
}
