// Package agreebtest is the test fixture shared by the tests of prep-b and conf-b
// ONLY: a simulated cluster around one compartment under test, with the other
// enclaves' and the clients' keys generated from a seeded stream, builders of
// correctly signed messages, assertions on Step outputs, and the test bodies of the
// rules both compartments enforce identically (SPEC.md §7.1, §7.4, §8.1, §8.3, §5.1).
//
// It is test code: it is imported only by _test.go files, never linked into an
// enclave binary, and never imported by prep-a, conf-a or their tests (the a and b
// implementations share no code beyond package spec). Every random choice comes from
// the seed a test passes in, and failures print it.
package agreebtest
