package conformance

import (
	"embed"
	"regexp"

	"github.com/splitbft/splitbft/spec"
)

//go:embed testdata/vectors
var vectorFS embed.FS

//go:embed testdata/scenarios
var scenarioFS embed.FS

// ScenarioDir is the directory of the golden scenario scripts, by role, inside
// ScenarioFS and relative to this package.
const ScenarioDir = "testdata/scenarios"

// ScenarioFS returns the embedded golden scenarios.
func ScenarioFS() embed.FS { return scenarioFS }

// LoadScenarios parses the embedded scenarios of role, sorted by name.
func LoadScenarios(role spec.Role) ([]*Scenario, error) {
	dir := ScenarioDir + "/" + spec.RoleName(role)
	entries, err := scenarioFS.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []*Scenario
	for _, e := range entries {
		b, err := scenarioFS.ReadFile(dir + "/" + e.Name())
		if err != nil {
			return nil, err
		}
		sc, err := ParseScenario(spec.RoleName(role)+"/"+e.Name(), string(b))
		if err != nil {
			return nil, err
		}
		out = append(out, sc)
	}
	return out, nil
}

// VectorDir is the directory of the embedded vectors inside VectorFS.
const VectorDir = "testdata/vectors"

// VectorFS returns the embedded vector files.
func VectorFS() embed.FS { return vectorFS }

// AllCases returns the generator cases of every embedded vector.
func AllCases() []Case {
	var cs []Case
	cs = append(cs, prepCases()...)
	cs = append(cs, confCases()...)
	cs = append(cs, execCases()...)
	return cs
}

// RunPreparation runs the Preparation suite against factory.
func RunPreparation[R Reporter[R]](t R, factory Factory) { RunSuite(t, spec.RolePrep, factory, nil) }

// RunConfirmation runs the Confirmation suite against factory.
func RunConfirmation[R Reporter[R]](t R, factory Factory) { RunSuite(t, spec.RoleConf, factory, nil) }

// RunExecution runs the Execution suite against factory.
func RunExecution[R Reporter[R]](t R, factory Factory) { RunSuite(t, spec.RoleExec, factory, nil) }

// RunSuite runs the suite of role against factory: the Init checks ("init"), the
// golden scenarios ("scenarios/NAME") and every embedded vector ("vector/NAME"),
// each as a sub-check of t. With only non-nil it runs just the vectors whose name
// matches only. It fails t when no vector was selected.
func RunSuite[R Reporter[R]](t R, role spec.Role, factory Factory, only *regexp.Regexp) {
	t.Helper()
	vs, err := LoadVectors(vectorFS, VectorDir)
	if err != nil {
		t.Fatalf("loading vectors: %v", err)
	}
	if only == nil {
		t.Run("init", func(t R) { testInit(t, role, factory) })
		t.Run("scenarios", func(t R) { runScenarios(t, role, factory) })
	}
	n := 0
	for _, v := range vs {
		if v.Role != role || (only != nil && !only.MatchString(v.Name)) {
			continue
		}
		n++
		t.Run("vector/"+v.Name, func(t R) {
			if err := RunVector(v, factory); err != nil {
				t.Fatalf("vector %s (rule %s, seed %d): %v\n# %s", v.Name, v.Rule, v.Seed, err, v.Comment)
			}
		})
	}
	if n == 0 {
		t.Fatalf("no %s vectors selected", spec.RoleName(role))
	}
}

func runScenarios[R Reporter[R]](t R, role spec.Role, factory Factory) {
	scs, err := LoadScenarios(role)
	if err != nil || len(scs) == 0 {
		t.Fatalf("loading %s scenarios: %v (found %d)", spec.RoleName(role), err, len(scs))
	}
	for _, sc := range scs {
		t.Run(sc.Name, func(t R) {
			if err := CheckScenario(sc, factory); err != nil {
				t.Fatalf("seed %d: %v", sc.Seed, err)
			}
		})
	}
}
