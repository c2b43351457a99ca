package agreea

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const (
	module   = "github.com/splitbft/splitbft"
	thisPath = module + "/internal/agreea"
)

// goList runs go list with args at the module root, or skips the test if the go
// tool is unavailable.
func goList(t *testing.T, args ...string) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go tool not available: cannot list packages")
	}
	cmd := exec.Command(goTool, append([]string{"list"}, args...)...)
	cmd.Dir = filepath.Join("..", "..")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list %v: %v", args, err)
	}
	return string(out)
}

// sharedBy reports whether a package of the module may import agreea: prep-a, conf-a
// (with their binaries and tests) and agreea's own packages.
func sharedBy(pkg string) bool {
	for _, dir := range []string{"prep-a", "conf-a", "internal/agreea"} {
		if p := module + "/" + dir; pkg == p || strings.HasPrefix(pkg, p+"/") {
			return true
		}
	}
	return false
}

// TestImporters: only prep-a and conf-a import agreea, in code or tests, and neither
// prep-b nor conf-b links it, even transitively (doc.go).
func TestImporters(t *testing.T) {
	format := "{{.ImportPath}}:{{range .Imports}} {{.}}{{end}}{{range .TestImports}} {{.}}{{end}}{{range .XTestImports}} {{.}}{{end}}"
	importers := 0
	for _, line := range strings.Split(strings.TrimSpace(goList(t, "-e", "-f", format, "./...")), "\n") {
		pkg, imports, _ := strings.Cut(line, ":")
		for _, imp := range strings.Fields(imports) {
			if imp == thisPath || strings.HasPrefix(imp, thisPath+"/") {
				if !sharedBy(pkg) {
					t.Errorf("%s imports %s: agreea is for prep-a and conf-a only", pkg, imp)
				}
				importers++
			}
		}
	}
	if importers == 0 {
		t.Fatal("no package imports agreea: the listing is broken")
	}
	for _, pkg := range strings.Fields(goList(t, "-e", "-deps", "./prep-b/...", "./conf-b/...")) {
		if pkg == thisPath || strings.HasPrefix(pkg, thisPath+"/") {
			t.Errorf("prep-b or conf-b links %s", pkg)
		}
	}
}
