package crosscheck

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/splitbft/splitbft/conformance"
	"github.com/splitbft/splitbft/internal/builds"
	"github.com/splitbft/splitbft/spec"
)

var rewriteScenarios = flag.Bool("rewrite-scenarios", false, "re-render conformance/testdata/scenarios from the a implementations (and exec)")

// scenarioImpls are the implementations of each role: the first renders goldens on
// -rewrite-scenarios, and every one must reproduce them unchanged.
var scenarioImpls = func() map[spec.Role][]conformance.Factory {
	m := map[spec.Role][]conformance.Factory{}
	for _, name := range []string{builds.PrepA, builds.PrepB, builds.ConfA, builds.ConfB, builds.Exec} {
		b := builds.MustLookup(name)
		m[b.Role] = append(m[b.Role], conformance.Factory(b.New))
	}
	return m
}()

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
