package repocheck

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/splitbft/splitbft"

// testTools are the main packages that are test tools, allowed to link test code;
// every other main package is a production binary.
var testTools = []string{module + "/cmd/splitbft-sim"}

// forbidden reports why a production binary must not link dep, or "". Compartment
// binaries may not link the conformance suite either; the operator binary links it
// for `splitbft conformance`. Only the operator binary links package operator (host
// code): the gateway and the compartments are trusted code (SPEC.md §16.2).
func forbidden(bin, dep string) string {
	switch {
	case bin != module+"/cmd/splitbft" && dep == module+"/operator":
		return "the untrusted operator package"
	case dep == "testing" || strings.HasPrefix(dep, "testing/"):
		return "the test framework"
	case dep == module+"/conformance/swarm", dep == "github.com/anishathalye/porcupine":
		return "the swarm simulator"
	case bin != module+"/cmd/splitbft" && dep == module+"/conformance":
		return "the conformance suite"
	case isCompartment(bin) && (dep == "net" || dep == "runtime/cgo"):
		return "the network stack or cgo: a compartment's only I/O is its frame pipes, and its trusted code base should not grow by them"
	}
	return ""
}

// isCompartment reports whether bin is one of the compartment binaries.
func isCompartment(bin string) bool {
	for _, c := range []string{"prep-a", "prep-b", "conf-a", "conf-b", "exec"} {
		if strings.HasSuffix(bin, "/"+c+"/cmd/"+c) || strings.HasSuffix(bin, "/exec/cmd/exec") {
			return true
		}
	}
	return false
}

// TestBinariesLinkNoTestCode lists every main package of the module with its
// dependencies (go list -deps) and fails for a production binary that links test
// code: the operator binary (cmd/splitbft) and every compartment binary.
func TestBinariesLinkNoTestCode(t *testing.T) {
	deps := mainDeps(t)
	var prod []string
	for bin, ds := range deps {
		if slices.Contains(testTools, bin) {
			continue
		}
		prod = append(prod, bin)
		for _, d := range ds {
			if why := forbidden(bin, d); why != "" {
				t.Errorf("%s links %s (%s)", bin, d, why)
			}
		}
	}
	slices.Sort(prod)
	if !slices.Contains(prod, module+"/cmd/splitbft") || !slices.Contains(prod, module+"/gateway/cmd/gateway") || len(prod) < 7 {
		t.Errorf("production binaries %v: want cmd/splitbft, the gateway and the five compartment binaries", prod)
	}
	// The check can see what it looks for: the simulator binary links the swarm.
	if !slices.Contains(deps[testTools[0]], module+"/conformance/swarm") {
		t.Errorf("%s: conformance/swarm not among its dependencies %v", testTools[0], deps[testTools[0]])
	}
}

// mainDeps returns every main package of the module with its dependencies.
func mainDeps(t *testing.T) map[string][]string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go tool not available: cannot list dependencies")
	}
	cmd := exec.Command(goTool, "list", "-f", `{{if eq .Name "main"}}{{.ImportPath}}{{range .Deps}} {{.}}{{end}}{{end}}`, "./...")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	deps := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if f := strings.Fields(line); len(f) > 0 {
			deps[f[0]] = f[1:]
		}
	}
	return deps
}

// TestForbiddenRules: the rules name what each binary may not link, so that
// TestBinariesLinkNoTestCode fails on, for example, a gateway that imports operator.
func TestForbiddenRules(t *testing.T) {
	for _, c := range []struct {
		bin, dep string
		bad      bool
	}{
		{module + "/gateway/cmd/gateway", module + "/operator", true},
		{module + "/exec/cmd/exec", module + "/operator", true},
		{module + "/cmd/splitbft", module + "/operator", false},
		{module + "/gateway/cmd/gateway", module + "/client", false},
		{module + "/gateway/cmd/gateway", "testing", true},
		{module + "/cmd/splitbft", module + "/conformance", false},
		{module + "/prep-a/cmd/prep-a", module + "/conformance", true},
	} {
		if got := forbidden(c.bin, c.dep) != ""; got != c.bad {
			t.Errorf("forbidden(%s, %s) = %q, want forbidden %v", c.bin, c.dep, forbidden(c.bin, c.dep), c.bad)
		}
	}
}
