package crosscheck

import (
	"encoding/hex"
	"os"
	"regexp"
	"testing"

	"github.com/splitbft/splitbft/conformance"
	"github.com/splitbft/splitbft/internal/builds"
	"github.com/splitbft/splitbft/spec"
)

// The differential run published in SPEC.md Appendix B.
const (
	diffSeed  = 20261121
	diffSteps = 10000
)

var (
	prepA = conformance.Factory(builds.MustLookup(builds.PrepA).New)
	prepB = conformance.Factory(builds.MustLookup(builds.PrepB).New)
	confA = conformance.Factory(builds.MustLookup(builds.ConfA).New)
	confB = conformance.Factory(builds.MustLookup(builds.ConfB).New)
)

// steps is the published step count, or a tenth of it in -short mode.
func steps() int {
	if testing.Short() {
		return diffSteps / 10
	}
	return diffSteps
}

func TestDifferentialPrep(t *testing.T) {
	conformance.RunDifferential(t, spec.RolePrep, prepA, prepB, steps(), diffSeed)
}

func TestDifferentialConf(t *testing.T) {
	conformance.RunDifferential(t, spec.RoleConf, confA, confB, steps(), diffSeed)
}

// publishedDigests reads the digests of SPEC.md Appendix B, by role name.
func publishedDigests(t *testing.T) map[string]string {
	t.Helper()
	text, err := os.ReadFile("../../spec/SPEC.md")
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile("(?m)^\\| (prep|conf) \\| `([0-9a-f]{64})` \\|")
	got := map[string]string{}
	for _, m := range re.FindAllStringSubmatch(string(text), -1) {
		got[m[1]] = m[2]
	}
	if len(got) != 2 {
		t.Fatalf("SPEC.md Appendix B: found digests for %v, want prep and conf", got)
	}
	return got
}

// checkDigests: each implementation's digest of the published run equals the digest
// published in SPEC.md Appendix B, so that a third implementation can check itself
// against the published number alone.
func checkDigests(t *testing.T, role spec.Role, impls map[string]conformance.Factory) {
	if testing.Short() {
		t.Skip("runs 20,000 differential steps")
	}
	want := publishedDigests(t)[spec.RoleName(role)]
	for _, name := range []string{"a", "b"} {
		d, err := conformance.DifferentialDigest(role, impls[name], diffSteps, diffSeed)
		if err != nil {
			t.Errorf("%s-%s: %v", spec.RoleName(role), name, err)
			continue
		}
		if got := hex.EncodeToString(d[:]); got != want {
			t.Errorf("%s-%s: digest of %d steps from seed %d is %s, SPEC.md Appendix B publishes %s",
				spec.RoleName(role), name, diffSteps, diffSeed, got, want)
		}
	}
}

func TestDifferentialDigestPrep(t *testing.T) {
	checkDigests(t, spec.RolePrep, map[string]conformance.Factory{"a": prepA, "b": prepB})
}

func TestDifferentialDigestConf(t *testing.T) {
	checkDigests(t, spec.RoleConf, map[string]conformance.Factory{"a": confA, "b": confB})
}
