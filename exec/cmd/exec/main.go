// Command exec runs the Execution compartment (exec-v1, application kv-v1) as its own
// process: it serves frames (SPEC.md §7.5) on stdin/stdout, with randomness from
// crypto/rand.
//
//	exec                 serve one compartment until stdin ends
//	exec -test-seed N    TESTING ONLY: draw randomness from the conformance test
//	                     stream Stream("enclave", N) (SPEC.md Appendix A); keys are
//	                     predictable and a warning says so on stderr
//
// TRUSTED code: this is the binary meant to run inside an enclave.
package main

import (
	"io"

	"github.com/splitbft/splitbft/attest"
	"github.com/splitbft/splitbft/exec"
	"github.com/splitbft/splitbft/exec/kv"
	"github.com/splitbft/splitbft/internal/enclavemain"
	"github.com/splitbft/splitbft/spec"
)

func main() {
	enclavemain.Main("exec", func(rand io.Reader) spec.Compartment {
		opts := append([]exec.Option{exec.WithEvidenceCheck(checkEvidence)}, sealerOptions()...)
		return exec.New(rand, kv.New(), opts...)
	})
}

// checkEvidence is rule AT3 (SPEC.md §17.5): the §7.3 check with the enclave's report
// verifier (EGo's, in an enclave build; none otherwise, so that ego-sgx evidence is
// refused) and the epoch digest as challenge.
func checkEvidence(e *spec.Enrollment, cfg *spec.Config, challenge spec.Digest) error {
	return attest.CheckEnrollmentFor(e, cfg, attest.EnclaveVerifier(), challenge)
}
