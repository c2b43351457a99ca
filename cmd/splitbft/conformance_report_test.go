package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestCLIReporter drives the reporter of `splitbft conformance` as the suite does:
// leaves are counted, Fatalf stops its check only, failures propagate to the parent,
// and after runs once per leaf with its outcome.
func TestCLIReporter(t *testing.T) {
	var out bytes.Buffer
	var afters []bool
	root := newCLIReporter(&out, "prep", func(failed bool) { afters = append(afters, failed) })
	reached := false
	root.call(func(r *cliReporter) {
		r.Run("init", func(*cliReporter) {})
		r.Run("scenarios", func(r *cliReporter) {
			r.Run("a", func(r *cliReporter) { r.Errorf("line one\nline two") })
			r.Run("b", func(r *cliReporter) {
				r.Fatalf("stopped")
				reached = true
			})
			r.Run("c", func(*cliReporter) {})
		})
	})
	if reached {
		t.Error("Fatalf did not stop its check")
	}
	if got, want := *root.tally, (tally{passed: 2, failed: 2}); got != want || !root.failed {
		t.Errorf("tally %+v failed=%v, want %+v and failed", got, root.failed, want)
	}
	if d := cmp.Diff([]bool{false, true, true, false}, afters); d != "" {
		t.Errorf("after calls (-want +got):\n%s", d)
	}
	want := "FAIL prep/scenarios/a: line one\n     line two\nFAIL prep/scenarios/b: stopped\n"
	if d := cmp.Diff(want, out.String()); d != "" {
		t.Errorf("output (-want +got):\n%s", d)
	}
	root = newCLIReporter(&out, "exec", func(bool) {})
	root.call(func(r *cliReporter) { r.Fatalf("no vectors") })
	if !root.failed || root.tally.passed+root.tally.failed != 0 || !strings.HasSuffix(out.String(), "FAIL exec: no vectors\n") {
		t.Errorf("a top-level Fatalf: failed=%v tally %+v output %q", root.failed, *root.tally, out.String())
	}
}
