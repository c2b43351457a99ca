// Command conf-a runs the Confirmation compartment conf-a as its own process: it serves frames
// (SPEC.md §7.5) on stdin/stdout, with randomness from crypto/rand.
//
//	conf-a                 serve one compartment until stdin ends
//	conf-a -test-seed N    TESTING ONLY: draw randomness from the conformance test
//	                     stream Stream("enclave", N) (SPEC.md Appendix A); keys are
//	                     predictable and a warning says so on stderr
//
// TRUSTED code: this is the binary meant to run inside an enclave.
package main

import (
	"io"

	confa "github.com/splitbft/splitbft/conf-a"
	"github.com/splitbft/splitbft/internal/enclavemain"
	"github.com/splitbft/splitbft/spec"
)

func main() {
	enclavemain.MainParallel("conf-a", func(rand io.Reader) spec.Compartment { return confa.New(rand) })
}
