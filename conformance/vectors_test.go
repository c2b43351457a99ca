package conformance

import (
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/splitbft/splitbft/spec"
)

var rewrite = flag.Bool("rewrite", false, "regenerate testdata/vectors from the generator cases")

// TestVectorsUpToDate checks that the embedded vectors are exactly what the generator
// produces, so that vectors change only through the generator plus review. Run with
// -rewrite to regenerate.
func TestVectorsUpToDate(t *testing.T) {
	vs, err := Generate(AllCases())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for _, v := range vs {
		want[filepath.FromSlash(VectorPath(v))] = v.Format()
	}
	if *rewrite {
		writeVectors(t, want)
	}
	got := map[string]string{}
	filepath.WalkDir(VectorDir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".txt") {
			b, _ := os.ReadFile(p)
			rel, _ := filepath.Rel(VectorDir, p)
			got[rel] = string(b)
		}
		return nil
	})
	for name, text := range want {
		if got[name] != text {
			t.Errorf("vector %s is stale or missing; run go test ./conformance -run TestVectorsUpToDate -rewrite", name)
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("vector %s has no generator case", name)
		}
	}
}

func writeVectors(t *testing.T, want map[string]string) {
	old, _ := filepath.Glob(filepath.Join(VectorDir, "*", "*.txt"))
	for _, p := range old {
		if err := os.Remove(p); err != nil {
			t.Fatal(err)
		}
	}
	for name, text := range want {
		p := filepath.Join(VectorDir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestVectorsParse checks that every embedded vector parses and round-trips through
// Format.
func TestVectorsParse(t *testing.T) {
	vs, err := LoadVectors(VectorFS(), VectorDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vs {
		b, _ := VectorFS().ReadFile(VectorDir + "/" + VectorPath(v))
		if d := cmp.Diff(string(b), v.Format()); d != "" {
			t.Errorf("%s does not round-trip through Format (-file +Format):\n%s", v.Name, d)
		}
	}
}

var ruleLine = regexp.MustCompile(`^\s*([A-Z]{1,2}[0-9]{1,2})\s+\S`)

// specRules returns the rule ids written as accept-rule lines in SPEC.md.
func specRules(t *testing.T) []string {
	b, err := os.ReadFile("../spec/SPEC.md")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	inCode := false
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			inCode = !inCode
			continue
		}
		if m := ruleLine.FindStringSubmatch(line); inCode && m != nil {
			seen[m[1]] = true
		}
	}
	var rules []string
	for r := range seen {
		rules = append(rules, r)
	}
	sort.Strings(rules)
	return rules
}

// coveredElsewhere are rule lines that cannot be single Step vectors, with the test
// that covers them.
var coveredElsewhere = map[string]string{
	"I1": "testInit", "I2": "testInit", "I3": "testInit",
	// The Redis gateway (SPEC.md §16) is no Step compartment: its RESP bounds and its
	// fast-read acceptance are tested in package gateway and client.
	"RB1": "gateway.TestRawRESP", "RB2": "gateway.TestRawRESP", "RB3": "gateway.TestRawRESP",
	"RB4": "gateway.TestRawRESP", "RB5": "gateway.TestRawRESP", "RB6": "gateway.TestGoRedisPipeline",
	"RB7": "gateway.Options.MaxConns", "FR1": "client.TestPendingRead", "FR2": "client.TestQuorumTwoFPlusOne",
	// A gateway's attestation is admitted by the operator's formation, not by a
	// compartment (SPEC.md §16.2).
	"GW1": "spec.TestGatewayEnrollmentCheck", "GW2": "spec.TestGatewayEnrollmentCheck", "GW3": "spec.TestGatewayEnrollmentCheck",
	"GW4": "spec.TestGatewayEnrollmentCheck", "GW5": "attest.TestCheckGateway", "GW6": "operator.TestFormationRefusesGateways",
	// The ledger (SPEC.md §13.5) is verified offline by tools, not by a compartment.
	"L1": "ledger.TestVerifyNamesFault", "L1e": "ledger.TestVerifyAcrossEpochsNamesFault", "L2": "ledger.TestVerifyNamesFault",
	"L3": "ledger.TestVerifyNamesFault", "L4": "ledger.TestVerifyNamesFault",
}

// TestRuleCoverage fails when an accept-rule line of SPEC.md has no vector.
func TestRuleCoverage(t *testing.T) {
	vs, err := LoadVectors(VectorFS(), VectorDir)
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]int{}
	for _, v := range vs {
		for _, r := range strings.Split(v.Rule, ",") {
			have[r]++
		}
	}
	var missing []string
	for _, r := range specRules(t) {
		if have[r] == 0 && coveredElsewhere[r] == "" {
			missing = append(missing, r)
		}
	}
	if len(missing) > 0 {
		t.Errorf("%d SPEC.md rule lines have no vector: %s", len(missing), strings.Join(missing, " "))
	}
	_ = spec.WireVersion
}
