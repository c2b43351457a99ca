package conformance

// Failer is what a check needs to report a failure. *testing.T and *testing.B satisfy
// it. Fatalf stops the current check (as testing.T.FailNow does); Errorf records a
// failure and lets the check go on; Helper marks the caller as a helper, or does
// nothing.
type Failer interface {
	Helper()
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
}

// Reporter is what the suite needs from whoever runs it: a Failer that can also run
// named sub-checks, each with a reporter of its own type R. *testing.T satisfies
// Reporter[*testing.T], so an implementation's test passes its t; `splitbft
// conformance` passes its own reporter, which prints to a writer. That is why this
// package does not import testing, and the operator binary, which carries the
// conformance command, links no test framework. Run returns whether f passed.
type Reporter[R any] interface {
	Failer
	Run(name string, f func(R)) bool
}
