//go:build !enclave

package enclavemain

import (
	"flag"
	"strconv"
)

// testSeedFlag registers -test-seed on fs and returns a function that reports its
// value after parsing, and whether it was given.
func testSeedFlag(fs *flag.FlagSet) func() (uint64, bool) {
	var seed uint64
	var set bool
	fs.Func("test-seed", "TESTING ONLY: draw randomness from the conformance test stream "+
		"Stream(\"enclave\", N) of SPEC.md Appendix A, making every key predictable", func(s string) error {
		v, err := strconv.ParseUint(s, 10, 64)
		seed, set = v, err == nil
		return err
	})
	return func() (uint64, bool) { return seed, set }
}
