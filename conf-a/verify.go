package confa

import (
	"runtime"
	"sync"

	"github.com/splitbft/splitbft/spec"
)

// sigJob is one signature to check: sig by key over SignedBytes(domain, cd, body).
type sigJob struct {
	key    spec.PublicKey
	domain string
	body   []byte
	sig    spec.Signature
}

func (j *sigJob) valid(cd spec.Digest) bool { return verifySig(j.key, j.domain, cd, j.body, j.sig) }

// minParallel is the number of signatures below which verification stays on the
// calling goroutine: starting goroutines costs more than it saves.
const minParallel = 8

// maxWorkers caps the verification goroutines of one Step.
const maxWorkers = 8

// defaultWorkers is the package-level choice of verification parallelism for the
// certificates of a NEW-VIEW: one goroutine per available CPU (GOMAXPROCS), at most
// maxWorkers, as in prep-a, whose BenchmarkClientBatch measured it (2 workers halve
// the time of 200 verifications on a 2-core machine). The result never depends on
// it: verifyEach returns exactly what a sequential loop returns.
func defaultWorkers() int { return min(runtime.GOMAXPROCS(0), maxWorkers) }

// verifyEach returns, for each job, whether its signature is valid. With workers > 1
// and at least minParallel jobs it splits the jobs into contiguous chunks, one
// goroutine each, and waits for all of them before returning (no goroutine outlives
// the call).
func verifyEach(cd spec.Digest, jobs []sigJob, workers int) []bool {
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

// verifyAll reports whether every job's signature is valid.
func verifyAll(cd spec.Digest, jobs []sigJob, workers int) bool {
	for _, ok := range verifyEach(cd, jobs, workers) {
		if !ok {
			return false
		}
	}
	return true
}
