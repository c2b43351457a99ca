// Command conf-b runs the Confirmation compartment conf-b as its own process: it serves frames
// (SPEC.md §7.5) on stdin/stdout, with randomness from crypto/rand.
//
//	conf-b                 serve one compartment until stdin ends
//	conf-b -test-seed N    TESTING ONLY: draw randomness from the conformance test
//	                     stream Stream("enclave", N) (SPEC.md Appendix A); keys are
//	                     predictable and a warning says so on stderr
//
// TRUSTED code: this is the binary meant to run inside an enclave.
package main

import (
	"io"

	confb "github.com/splitbft/splitbft/conf-b"
	"github.com/splitbft/splitbft/internal/enclavemain"
	"github.com/splitbft/splitbft/spec"
)

func main() {
	enclavemain.Main("conf-b", func(rand io.Reader) spec.Compartment { return confb.New(rand) })
}
