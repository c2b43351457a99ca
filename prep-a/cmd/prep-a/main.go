// Command prep-a runs the Preparation compartment prep-a as its own process: it serves frames
// (SPEC.md §7.5) on stdin/stdout, with randomness from crypto/rand.
//
//	prep-a                 serve one compartment until stdin ends
//	prep-a -test-seed N    TESTING ONLY: draw randomness from the conformance test
//	                     stream Stream("enclave", N) (SPEC.md Appendix A); keys are
//	                     predictable and a warning says so on stderr
//
// TRUSTED code: this is the binary meant to run inside an enclave.
package main

import (
	"io"

	"github.com/splitbft/splitbft/internal/enclavemain"
	prepa "github.com/splitbft/splitbft/prep-a"
	"github.com/splitbft/splitbft/spec"
)

func main() {
	enclavemain.MainParallel("prep-a", func(rand io.Reader) spec.Compartment { return prepa.New(rand) })
}
