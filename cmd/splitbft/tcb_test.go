package main

import (
	"bytes"
	"encoding/json"
	"go/build"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// runTCB runs "splitbft tcb -json args..." and decodes the report, skipping the test
// when the go tool is unavailable.
func runTCB(t *testing.T, args ...string) *tcbReport {
	t.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("go tool not available")
	}
	var out, errOut bytes.Buffer
	if code := run(append([]string{"tcb", "-json"}, args...), &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	var rep tcbReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("output is not the JSON report: %v\n%s", err, out.String())
	}
	return &rep
}

// independentLines counts the code lines of the non-test Go files of the package in
// dir that the default build context selects, by another method than codeLines: it
// blanks every comment found by go/parser and counts the lines left non-blank.
func independentLines(t *testing.T, dir string) int {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
	total := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		if ok, err := build.Default.MatchFile(dir, filepath.Base(f)); err != nil || !ok {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		fset := token.NewFileSet()
		ast, err := parser.ParseFile(fset, f, src, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		for _, cg := range ast.Comments {
			for _, c := range cg.List {
				from, to := fset.Position(c.Pos()).Offset, fset.Position(c.End()).Offset
				for i := from; i < to; i++ {
					if src[i] != '\n' {
						src[i] = ' '
					}
				}
			}
		}
		for _, line := range strings.Split(string(src), "\n") {
			if strings.TrimSpace(line) != "" {
				total++
			}
		}
	}
	return total
}

func TestTCBPrepA(t *testing.T) {
	rep := runTCB(t, "prep-a")
	if len(rep.Binaries) != 1 || rep.Binaries[0].Build != "prep-a" || rep.Module != modulePathSplitBFT {
		t.Fatalf("report for %+v in module %q, want prep-a only", rep.Binaries, rep.Module)
	}
	b := rep.Binaries[0]
	if want := independentLines(t, filepath.Join("..", "..", "spec")); b.Spec.Lines != want || want == 0 {
		t.Errorf("spec lines %d, counted independently %d", b.Spec.Lines, want)
	}
	for _, dir := range []string{"prep-a", "prep-a/cmd/prep-a"} {
		want := independentLines(t, filepath.Join("..", "..", dir))
		if got := packageLines(b.Own.Packages, modulePathSplitBFT+"/"+dir); got != want || want == 0 {
			t.Errorf("own package %s: %d lines, counted independently %d", dir, got, want)
		}
	}
	all := append(append(append(append(b.Own.Packages, b.Spec.Packages...), b.Module.Packages...), b.ThirdParty.Packages...), b.Stdlib.Packages...)
	for _, p := range all {
		if strings.Contains(p.Path, "/prep-b") || strings.Contains(p.Path, "/conf-") || strings.Contains(p.Path, "/exec") {
			t.Errorf("prep-a links %s", p.Path)
		}
	}
	if len(b.Stdlib.Packages) != 0 || b.Stdlib.Lines < 10000 {
		t.Errorf("stdlib: %d lines, %d packages listed without -stdlib", b.Stdlib.Lines, len(b.Stdlib.Packages))
	}
	if !hasPackage(b.ThirdParty.Packages, "github.com/fxamacker/cbor/v2") || !hasPackage(b.Module.Packages, modulePathSplitBFT+"/internal/enclavemain") {
		t.Errorf("third-party %+v, module %+v: want cbor and enclavemain", b.ThirdParty.Packages, b.Module.Packages)
	}
	sum := 0
	for _, part := range []tcbPart{b.Own, b.Spec, b.Module, b.ThirdParty} {
		n := 0
		for _, p := range part.Packages {
			n += p.Lines
		}
		if n != part.Lines {
			t.Errorf("a column's lines %d are not the sum of its packages' %d", part.Lines, n)
		}
		sum += n
	}
	if b.NoStdlib != sum || b.Total != sum+b.Stdlib.Lines {
		t.Errorf("totals %d, %d; want %d, %d", b.NoStdlib, b.Total, sum, sum+b.Stdlib.Lines)
	}
}

func hasPackage(pkgs []tcbPkg, path string) bool { return packageLines(pkgs, path) >= 0 }

// packageLines returns the lines of package path among pkgs, or -1 if it is absent.
func packageLines(pkgs []tcbPkg, path string) int {
	for _, p := range pkgs {
		if p.Path == path {
			return p.Lines
		}
	}
	return -1
}

// TestTCBEnclaveTag: only the enclave build links EGo, and -stdlib lists the standard
// library's packages.
func TestTCBEnclaveTag(t *testing.T) {
	if out, err := exec.Command("go", "env", "CGO_ENABLED").Output(); err != nil || strings.TrimSpace(string(out)) != "1" {
		t.Skip("cgo disabled or go tool unavailable: the enclave build needs cgo")
	}
	plain, enclave := runTCB(t, "exec"), runTCB(t, "-tags", "enclave", "-stdlib", "exec")
	ego := "github.com/edgelesssys/ego/enclave"
	if hasPackage(plain.Binaries[0].ThirdParty.Packages, ego) || !hasPackage(enclave.Binaries[0].ThirdParty.Packages, ego) {
		t.Errorf("EGo's enclave package linked without the tag, or missing with it")
	}
	if !hasPackage(enclave.Binaries[0].Stdlib.Packages, "runtime") || enclave.Tags != "enclave" {
		t.Errorf("-stdlib does not list runtime, or tags %q", enclave.Tags)
	}
}

func TestTCBTable(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("go tool not available")
	}
	var out, errOut bytes.Buffer
	if code := run([]string{"tcb"}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	for _, b := range enclaveBinaries {
		if !strings.Contains(out.String(), "\n"+b.build+" ") || !strings.Contains(out.String(), "\n"+b.build+" ("+modulePathSplitBFT+"/"+b.pkg+")\n") {
			t.Errorf("no row or detail for %s:\n%s", b.build, out.String())
		}
	}
	for _, args := range [][]string{{"tcb", "prep-c"}, {"tcb", "-nope"}} {
		if code := run(args, &out, &errOut); code != 2 {
			t.Errorf("%q: exit %d, want 2", args, code)
		}
	}
}

func TestCodeLines(t *testing.T) {
	for _, c := range []struct {
		src  string
		want int
	}{
		{"", 0},
		{"package p\n", 1},
		{"// c\n\npackage p // c\n/* a\nb */\nvar x = 1 /* c\n*/\n", 2},
		{"package p\n\nvar s = `a\n\n// not a comment\n`\n", 5},
		{"//go:build linux\n\npackage p\n\t\n", 1},
		{"package p\nfunc f() {\n}\n", 3},
	} {
		if got := codeLines([]byte(c.src)); got != c.want {
			t.Errorf("codeLines(%q) = %d, want %d", c.src, got, c.want)
		}
	}
}

// TestTCBGateway: the gateway is counted like the compartments (issue 16): its own
// packages are its folder's and those only it links (the client library, the
// transport), and its trusted code links no host-side operator code.
func TestTCBGateway(t *testing.T) {
	rep := runTCB(t, "gateway")
	if len(rep.Binaries) != 1 || rep.Binaries[0].Build != "gateway" {
		t.Fatalf("report for %+v, want the gateway only", rep.Binaries)
	}
	b := rep.Binaries[0]
	own := map[string]bool{}
	for _, p := range b.Own.Packages {
		own[strings.TrimPrefix(p.Path, modulePathSplitBFT+"/")] = true
	}
	for _, want := range []string{"gateway", "gateway/cmd/gateway", "client"} {
		if !own[want] {
			t.Errorf("own packages %v lack %s", own, want)
		}
	}
	for _, part := range [][]tcbPkg{b.Own.Packages, b.Module.Packages} {
		for _, p := range part {
			if strings.Contains(p.Path, "/operator") {
				t.Errorf("the gateway links %s", p.Path)
			}
		}
	}
	if b.Own.Lines < independentLines(t, "../../gateway") || b.Spec.Lines == 0 {
		t.Errorf("own %d lines, spec %d", b.Own.Lines, b.Spec.Lines)
	}
}
