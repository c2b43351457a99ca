//go:build enclave

package enclavemain

import "flag"

// testSeedFlag registers nothing: an enclave build must not offer the predictable
// test stream (SPEC.md Appendix A).
func testSeedFlag(*flag.FlagSet) func() (uint64, bool) {
	return func() (uint64, bool) { return 0, false }
}
