package conformance

import (
	"io"
	"strings"
	"testing"

	prepa "github.com/splitbft/splitbft/prep-a"
	"github.com/splitbft/splitbft/spec"
)

// TestCheckScenarioShowsDiff: a golden scenario with one expected output line changed
// fails, and the error is a diff naming the changed line on both sides.
func TestCheckScenarioShowsDiff(t *testing.T) {
	scs, err := LoadScenarios(spec.RolePrep)
	if err != nil || len(scs) == 0 {
		t.Fatalf("loading prep scenarios: %v (found %d)", err, len(scs))
	}
	factory := func(r io.Reader) spec.Compartment { return prepa.New(r) }
	sc := scs[0]
	if err := CheckScenario(sc, factory); err != nil {
		t.Fatalf("%s fails unchanged: %v", sc.Name, err)
	}
	i := len(sc.Steps) - 1
	lines := strings.Split(sc.Steps[i].Want, "\n")
	if len(lines) < 2 {
		t.Fatalf("%s: last step has too little output to change: %q", sc.Name, sc.Steps[i].Want)
	}
	orig := lines[0]
	lines[0] = "edited expectation"
	sc.Steps[i].Want = strings.Join(lines, "\n")
	err = CheckScenario(sc, factory)
	if err == nil {
		t.Fatalf("%s passes with an edited expectation", sc.Name)
	}
	for _, want := range []string{"(-want +got)", "edited expectation", strings.TrimSpace(orig)} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}
