package enclavemain

import (
	"bufio"
	cryptorand "crypto/rand"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"

	"github.com/splitbft/splitbft/attest"
	"github.com/splitbft/splitbft/internal/rawio"
	"github.com/splitbft/splitbft/spec"
)

// NewCompartment makes a fresh compartment drawing all its randomness from rand.
type NewCompartment func(rand io.Reader) spec.Compartment

// Main runs the compartment binary called name and exits the process with Run's
// status. The Go scheduler gets one P (singleProc).
func Main(name string, newCompartment NewCompartment) {
	singleProc()
	os.Exit(Run(name, os.Args[1:], rawio.Std(os.Stdin), rawio.Std(os.Stdout), os.Stderr, newCompartment))
}

// MainParallel is Main for a compartment that spreads one Step's work over several
// cores (prep-a and conf-a verify a batch's signatures in parallel): it keeps the Go
// scheduler's default of one P per CPU.
func MainParallel(name string, newCompartment NewCompartment) {
	os.Exit(Run(name, os.Args[1:], rawio.Std(os.Stdin), rawio.Std(os.Stdout), os.Stderr, newCompartment))
}

// Run parses args, builds one compartment and serves frames from stdin on stdout
// until stdin ends. It returns 0 at a clean end of stream, 1 when the stream broke
// (over-cap frame, truncated frame, I/O error) and 2 for bad arguments.
//
// The compartment's enrollment gets the evidence of attest.SelfAttester: inside an
// EGo enclave (an "enclave" build whose self-report succeeds) an ego-sgx report over
// the enrollment digest (SPEC.md §7.2); anywhere else the compartment's own
// dev-insecure evidence, unchanged.
func Run(name string, args []string, stdin io.Reader, stdout, stderr io.Writer, newCompartment NewCompartment) int {
	return runAttested(name, args, stdin, stdout, stderr, newCompartment, attest.SelfAttester)
}

// runAttested is Run with the source of the process's Attester, called once after the
// arguments were accepted.
func runAttested(name string, args []string, stdin io.Reader, stdout, stderr io.Writer, newCompartment NewCompartment, self func() attest.Attester) int {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: %s [flags]\n\nServes SplitBFT frames (SPEC.md §7.5) on stdin/stdout.\n\n", name)
		fs.PrintDefaults()
	}
	testSeed := testSeedFlag(fs)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "%s: unexpected argument %q\n", name, fs.Arg(0))
		return 2
	}
	var rand io.Reader = cryptorand.Reader
	if seed, ok := testSeed(); ok {
		fmt.Fprintf(stderr, "%s: WARNING: -test-seed %d: keys and nonces are PREDICTABLE; "+
			"for conformance testing only, never for a real cluster\n", name, seed)
		rand = spec.TestStream("enclave", seed)
	}
	// Buffered, a frame's length prefix and body usually arrive in one read.
	if err := spec.Serve(bufio.NewReaderSize(stdin, 64<<10), stdout, withEvidence(name, newCompartment(rand), self(), stderr)); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 1
	}
	return 0
}

// singleProc runs the Go scheduler with one P unless the GOMAXPROCS environment
// variable says otherwise (an EGo enclave does not see the host's environment, so
// there it always applies). A compartment that does its work on one goroutine
// behind one frame loop gains nothing from more Ps but the runtime's idle spinning
// and work stealing, which cost each Step call extra thread wake-ups (measured in
// the process cluster on two shared cores: about a quarter fewer context switches
// and 15–25% less conf and exec CPU per request with one P).
func singleProc() {
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(1)
	}
}
