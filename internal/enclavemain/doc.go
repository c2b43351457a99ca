// Package enclavemain is the entry point shared by the compartment binaries
// (prep-a/cmd/prep-a, prep-b/cmd/prep-b, conf-a/cmd/conf-a, conf-b/cmd/conf-b,
// exec/cmd/exec): it serves frames (SPEC.md §7.5) on stdin/stdout for one compartment,
// with randomness from crypto/rand, or, for testing only, from the conformance test
// stream (SPEC.md Appendix A) selected by -test-seed.
//
// After the compartment's Init succeeded, the enrollment gets the evidence of
// attest.SelfAttester (SPEC.md §7.2): in an enclave build (build tag "enclave", built
// with `ego-go build -tags enclave`) that runs inside an EGo enclave, an ego-sgx
// remote report over the enrollment digest; anywhere else the compartment's own
// dev-insecure evidence. An enclave build started outside an enclave, or unable to get
// a remote report, keeps dev-insecure evidence and says so on stderr.
//
// TRUSTED code: it runs inside the enclave binary next to the compartment. It writes
// nothing to stdout but frames and nothing to stderr but warnings and fatal errors,
// and never any secret. An enclave build has no -test-seed flag, as Appendix A
// requires.
package enclavemain
