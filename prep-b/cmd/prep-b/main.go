// Command prep-b runs the Preparation compartment prep-b as its own process: it serves frames
// (SPEC.md §7.5) on stdin/stdout, with randomness from crypto/rand.
//
//	prep-b                 serve one compartment until stdin ends
//	prep-b -test-seed N    TESTING ONLY: draw randomness from the conformance test
//	                     stream Stream("enclave", N) (SPEC.md Appendix A); keys are
//	                     predictable and a warning says so on stderr
//
// TRUSTED code: this is the binary meant to run inside an enclave.
package main

import (
	"io"

	"github.com/splitbft/splitbft/internal/enclavemain"
	prepb "github.com/splitbft/splitbft/prep-b"
	"github.com/splitbft/splitbft/spec"
)

func main() {
	enclavemain.Main("prep-b", func(rand io.Reader) spec.Compartment { return prepb.New(rand) })
}
