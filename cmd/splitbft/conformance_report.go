package main

import (
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
)

// cliReporter is the conformance.Reporter of `splitbft conformance`. Every check
// without sub-checks (a leaf: one vector, one scenario, the init checks) counts as
// passed or failed; each failure message is printed as a line "FAIL name: message"
// (continuation lines indented).
type cliReporter struct {
	out    io.Writer
	name   string
	failed bool
	leaf   bool
	tally  *tally
	after  func(failed bool) // called after each leaf
}

// tally counts the leaves of one run.
type tally struct{ passed, failed int }

// errStop is what Fatalf panics with, for Run (or call) to recover.
var errStop = errors.New("splitbft conformance: check stopped")

// newCLIReporter returns the root reporter of a run printing to out; after is called
// once after every leaf check with its outcome.
func newCLIReporter(out io.Writer, name string, after func(failed bool)) *cliReporter {
	return &cliReporter{out: out, name: name, tally: &tally{}, after: after}
}

// Helper does nothing: failure lines name the check, not a source line.
func (r *cliReporter) Helper() {}

// Errorf marks the check failed and prints the message.
func (r *cliReporter) Errorf(format string, args ...any) {
	r.failed = true
	msg := strings.ReplaceAll(strings.TrimRight(fmt.Sprintf(format, args...), "\n"), "\n", "\n     ")
	fmt.Fprintf(r.out, "FAIL %s: %s\n", r.name, msg)
}

// Fatalf is Errorf, then stops the check.
func (r *cliReporter) Fatalf(format string, args ...any) {
	r.Errorf(format, args...)
	panic(errStop)
}

// Run runs f as the sub-check name and reports whether it passed.
func (r *cliReporter) Run(name string, f func(*cliReporter)) bool {
	r.leaf = false
	sub := &cliReporter{out: r.out, name: path.Join(r.name, name), leaf: true, tally: r.tally, after: r.after}
	sub.call(f)
	if sub.leaf {
		if sub.failed {
			r.tally.failed++
		} else {
			r.tally.passed++
		}
		r.after(sub.failed)
	}
	r.failed = r.failed || sub.failed
	return !sub.failed
}

// call runs f with r, stopping at a Fatalf.
func (r *cliReporter) call(f func(*cliReporter)) {
	defer func() {
		if p := recover(); p != nil && p != errStop {
			panic(p)
		}
	}()
	f(r)
}
