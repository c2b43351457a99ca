package crosscheck

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// This file is the diversity evidence: the a and b implementations of each agreement
// compartment link different Ed25519 stacks and share no code beyond package spec.

// deps returns the non-test dependencies (packages, transitively) of the packages
// matching pattern, or skips the test if the go tool is unavailable.
func deps(t *testing.T, pattern string) map[string]bool {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go tool not available: cannot list dependencies")
	}
	cmd := exec.Command(goTool, "list", "-deps", pattern)
	cmd.Dir = filepath.Join("..", "..")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v", pattern, err)
	}
	set := map[string]bool{}
	for _, p := range strings.Fields(string(out)) {
		set[p] = true
	}
	return set
}

// matching returns the sorted packages of set for which match holds.
func matching(set map[string]bool, match func(string) bool) []string {
	var out []string
	for p := range set {
		if match(p) {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

func isEdwards(p string) bool { return strings.HasPrefix(p, "filippo.io/edwards25519") }
func isStdEd(p string) bool {
	return p == "crypto/ed25519" || strings.HasPrefix(p, "crypto/internal/fips140/ed25519") || strings.HasPrefix(p, "crypto/internal/fips140/edwards25519")
}
func isCrypto(p string) bool {
	return strings.HasPrefix(p, "crypto/") || strings.HasPrefix(p, "golang.org/x/crypto") || isEdwards(p) ||
		strings.Contains(p, "/internal/stdcrypto") || strings.Contains(p, "/internal/edcrypto")
}

// TestCryptoStacksDisjoint: prep-a and conf-a (with their binaries) link no
// filippo.io/edwards25519, prep-b and conf-b no crypto/ed25519, and the a and b
// sides of each compartment differ in their crypto packages.
func TestCryptoStacksDisjoint(t *testing.T) {
	for _, pair := range [][2]string{{"prep-a", "prep-b"}, {"conf-a", "conf-b"}} {
		a, b := deps(t, "./"+pair[0]+"/..."), deps(t, "./"+pair[1]+"/...")
		if bad := matching(a, isEdwards); len(bad) > 0 {
			t.Errorf("%s links %v", pair[0], bad)
		}
		if bad := matching(b, isStdEd); len(bad) > 0 {
			t.Errorf("%s links %v", pair[1], bad)
		}
		onlyA := matching(a, func(p string) bool { return isCrypto(p) && !b[p] })
		onlyB := matching(b, func(p string) bool { return isCrypto(p) && !a[p] })
		if len(onlyA) == 0 || len(onlyB) == 0 {
			t.Errorf("%s and %s crypto packages do not differ: only %s %v, only %s %v", pair[0], pair[1], pair[0], onlyA, pair[1], onlyB)
		}
		t.Logf("crypto only in %s: %v; only in %s: %v", pair[0], onlyA, pair[1], onlyB)
	}
}

// windowSize is the length of the shared-code windows TestNoSharedCode looks for.
const windowSize = 6

var (
	spaces    = regexp.MustCompile(`\s+`)
	braceOnly = regexp.MustCompile(`^[{}()\[\],;]*$`)
)

// significantLines returns the normalised lines of a Go file that carry code: not
// blank, not comments, not imports, not only braces. Each keeps its line number.
func significantLines(t *testing.T, path string) (lines []string, nums []int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	inImport, inComment := false, false
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(spaces.ReplaceAllString(sc.Text(), " "))
		switch {
		case inComment:
			inComment = !strings.Contains(line, "*/")
		case strings.HasPrefix(line, "/*"):
			inComment = !strings.Contains(line, "*/")
		case inImport:
			inImport = line != ")"
		case line == "import (":
			inImport = true
		case line == "" || strings.HasPrefix(line, "//") || strings.HasPrefix(line, "import ") || braceOnly.MatchString(line):
		default:
			lines, nums = append(lines, line), append(nums, n)
		}
	}
	return lines, nums
}

// windows maps every run of windowSize consecutive significant lines of the .go
// files below dir to where it occurs.
func windows(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".go") {
			return err
		}
		lines, nums := significantLines(t, p)
		for i := 0; i+windowSize <= len(lines); i++ {
			out[strings.Join(lines[i:i+windowSize], "\n")] = p + ":" + itoaLine(nums[i])
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func itoaLine(n int) string { return strconv.Itoa(n) }

// shared returns, sorted, the locations of the windows a and b have in common.
func shared(a, b map[string]string) []string {
	var out []string
	for w, where := range a {
		if other, ok := b[w]; ok {
			out = append(out, where+" = "+other+":\n"+w)
		}
	}
	sort.Strings(out)
	return out
}

// TestNoSharedCode: no window of six consecutive significant lines (whitespace
// normalised; blank, comment, import and brace-only lines ignored) occurs in both the
// a and the b implementation of a compartment, tests and binaries included.
func TestNoSharedCode(t *testing.T) {
	for _, da := range stackA {
		for _, db := range stackB {
			a := windows(t, filepath.Join("..", "..", da))
			b := windows(t, filepath.Join("..", "..", db))
			if len(a) == 0 || len(b) == 0 {
				t.Fatalf("no code found in %s or %s", da, db)
			}
			if s := shared(a, b); len(s) > 0 {
				t.Errorf("%s and %s share %d windows of %d lines; the first:\n%s", da, db, len(s), windowSize, s[0])
			}
		}
	}
}

// stackA and stackB are the directories of the two independent implementations of
// the agreement compartments: each compartment, the code its two compartments share,
// and its crypto stack. Nothing in one may be copied from, or linked by, the other.
var (
	stackA = []string{"prep-a", "conf-a", "internal/agreea", "internal/stdcrypto"}
	stackB = []string{"prep-b", "conf-b", "internal/agreeb", "internal/edcrypto"}
)

// TestStacksDoNotLink: no a-side package links a b-side package and vice versa.
func TestStacksDoNotLink(t *testing.T) {
	const mod = "github.com/splitbft/splitbft/"
	check := func(from, other []string) {
		for _, d := range from {
			deps := deps(t, "./"+d+"/...")
			for _, o := range other {
				if bad := matching(deps, func(p string) bool { return p == mod+o || strings.HasPrefix(p, mod+o+"/") }); len(bad) > 0 {
					t.Errorf("%s links %v", d, bad)
				}
			}
		}
	}
	check(stackA, stackB)
	check(stackB, stackA)
}

// TestSharedCodeDetector: the detector finds a copied function despite changed
// whitespace, comments and imports, and not a function with one line changed.
func TestSharedCodeDetector(t *testing.T) {
	body := []string{"x := 1", "y := 2", "if x < y {", "x, y = y, x", "}", "z := x + y", "return z * 2"}
	write := func(dir, name string, lines []string) {
		os.MkdirAll(dir, 0o755)
		text := "package p\n\nimport (\n\t\"fmt\"\n)\n\n// f does it.\nfunc f() int {\n" + strings.Join(lines, "\n") + "\n}\n"
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	root := t.TempDir()
	write(filepath.Join(root, "a"), "a.go", body)
	spaced := append([]string{"// a comment", ""}, body...)
	spaced[3] = "y   :=\t2"
	write(filepath.Join(root, "b"), "b.go", spaced)
	changed := append([]string{}, body...)
	changed[3] = "x, y = y, x+1"
	write(filepath.Join(root, "c"), "c.go", changed)
	a, b, c := windows(t, filepath.Join(root, "a")), windows(t, filepath.Join(root, "b")), windows(t, filepath.Join(root, "c"))
	if len(shared(a, b)) == 0 {
		t.Error("a copied function with other whitespace and comments was not detected")
	}
	if s := shared(a, c); len(s) > 0 {
		t.Errorf("functions differing in one line of seven share a window: %v", s)
	}
}
