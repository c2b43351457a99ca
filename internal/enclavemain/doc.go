// Package enclavemain is the entry point shared by the compartment binaries
// (prep-a/cmd/prep-a, prep-b/cmd/prep-b, conf-a/cmd/conf-a, conf-b/cmd/conf-b,
// exec/cmd/exec): it serves frames (SPEC.md §7.5) on stdin/stdout for one compartment,
// with randomness from crypto/rand, or, for testing only, from the conformance test
// stream (SPEC.md Appendix A) selected by -test-seed.
//
// TRUSTED code: it runs inside the enclave binary next to the compartment. It writes
// nothing to stdout but frames and nothing to stderr but warnings and fatal errors,
// and never any secret. An enclave build (build tag "enclave") has no -test-seed flag,
// as Appendix A requires.
package enclavemain
