package crosscheck

import (
	"flag"
	"io"
	"os"
	"path/filepath"
	"testing"

	confa "github.com/splitbft/splitbft/conf-a"
	confb "github.com/splitbft/splitbft/conf-b"
	"github.com/splitbft/splitbft/conformance"
	"github.com/splitbft/splitbft/exec"
	"github.com/splitbft/splitbft/exec/kv"
	prepa "github.com/splitbft/splitbft/prep-a"
	prepb "github.com/splitbft/splitbft/prep-b"
	"github.com/splitbft/splitbft/spec"
)

var rewriteScenarios = flag.Bool("rewrite-scenarios", false, "re-render conformance/testdata/scenarios from the a implementations (and exec)")

// scenarioImpls are the implementations of each role: the first renders goldens on
// -rewrite-scenarios, and every one must reproduce them unchanged.
var scenarioImpls = map[spec.Role][]conformance.Factory{
	spec.RolePrep: {func(r io.Reader) spec.Compartment { return prepa.New(r) }, func(r io.Reader) spec.Compartment { return prepb.New(r) }},
	spec.RoleConf: {func(r io.Reader) spec.Compartment { return confa.New(r) }, func(r io.Reader) spec.Compartment { return confb.New(r) }},
	spec.RoleExec: {func(r io.Reader) spec.Compartment { return exec.New(r, kv.New()) }},
}

// TestScenarioGoldens renders the golden scenario scripts (issue: "multi-step scripts,
// rendered through spec.Describe, that both implementations pass unchanged") and checks
// every implementation against them. Regenerate after a reviewed behaviour change with
// go test ./conformance/crosscheck -run TestScenarioGoldens -rewrite-scenarios.
func TestScenarioGoldens(t *testing.T) {
	for role, impls := range scenarioImpls {
		scs, err := conformance.LoadScenarios(role)
		if err != nil {
			t.Fatal(err)
		}
		for _, sc := range scs {
			if *rewriteScenarios {
				outs, err := conformance.RenderScenario(sc, impls[0])
				if err != nil {
					t.Fatal(err)
				}
				path := filepath.Join("..", conformance.ScenarioDir, filepath.FromSlash(sc.Name))
				if err := os.WriteFile(path, []byte(sc.Format(outs)), 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			for i, f := range impls {
				if err := conformance.CheckScenario(sc, f); err != nil {
					t.Errorf("implementation %d of %s: %v", i, spec.RoleName(role), err)
				}
			}
		}
	}
}
