package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"go/scanner"
	"go/token"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/splitbft/splitbft/internal/builds"
	"github.com/splitbft/splitbft/operator"
)

// enclaveBinaries are the binaries that run inside enclaves: the compartments, from
// the build registry, and the Redis gateway (SPEC.md §16): build name and main
// package, relative to the module root. The build name is also the directory of the
// binary's own packages.
var enclaveBinaries = func() []struct{ build, pkg string } {
	var out []struct{ build, pkg string }
	for _, b := range builds.All() {
		out = append(out, struct{ build, pkg string }{b.Name, b.Cmd})
	}
	return append(out, struct{ build, pkg string }{operator.GatewayBuild, "gateway/cmd/gateway"})
}()

// tcbPkg is one package linked into a binary and its counted lines.
type tcbPkg struct {
	Path   string `json:"path"`
	Module string `json:"module,omitempty"` // module path@version, third-party packages only
	Files  int    `json:"files"`
	Lines  int    `json:"lines"`
}

// tcbPart is one column of the table: the lines of a group of packages.
type tcbPart struct {
	Lines    int      `json:"lines"`
	Packages []tcbPkg `json:"packages,omitempty"` // stdlib packages only with -stdlib
}

// tcbBinary is one row: the trusted computing base of one enclave binary.
//
// Own is the implementation's packages (everything under its build directory) and
// the module's packages that no other enclave binary links; Spec is package spec;
// Module is the module's other packages (shared by several binaries); ThirdParty the
// packages of other modules; Stdlib the Go standard library (runtime included).
type tcbBinary struct {
	Build      string  `json:"build"`
	Package    string  `json:"package"`
	Own        tcbPart `json:"own"`
	Spec       tcbPart `json:"spec"`
	Module     tcbPart `json:"module"`
	ThirdParty tcbPart `json:"third_party"`
	Stdlib     tcbPart `json:"stdlib"`
	NoStdlib   int     `json:"tcb_without_stdlib"` // Own + Spec + Module + ThirdParty
	Total      int     `json:"tcb"`                // NoStdlib + Stdlib
}

// tcbReport is the whole output of "splitbft tcb -json".
type tcbReport struct {
	Module   string      `json:"module"`
	Tags     string      `json:"tags"`
	Counting string      `json:"counting"`
	Binaries []tcbBinary `json:"binaries"`
}

const tcbCounting = "non-blank lines holding Go code (not only comments) of GoFiles and CgoFiles, no tests, of every package go list -deps gives"

// tcbMain implements "splitbft tcb": for each enclave binary, the lines of Go source
// it links, split into its own logic, spec, the module's shared packages, third-party
// modules and the standard library (in the manner of table 2 of the SplitBFT paper),
// for auditors. It returns 0, 1 when go list or reading a file fails, 2 for bad
// arguments.
func tcbMain(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("tcb", tcbUsage(), stderr)
	asJSON := fs.Bool("json", false, "print the report as JSON, with every package")
	stdlib := fs.Bool("stdlib", false, "also break the standard library down (table) or list its packages (JSON)")
	tags := fs.String("tags", "", `build tags for go list, e.g. "enclave" for the EGo enclave builds`)
	dir := fs.String("C", ".", "a directory inside the SplitBFT module source tree")
	builds, err := parseFlags(fs, args, stdout)
	if err != nil {
		return usageError("tcb", err, stderr)
	}
	for _, a := range builds {
		if !slices.ContainsFunc(enclaveBinaries, func(b struct{ build, pkg string }) bool { return b.build == a }) {
			fmt.Fprintf(stderr, "splitbft tcb: unknown build %q\n", a)
			return 2
		}
	}
	rep, err := measureTCB(*dir, *tags, *stdlib)
	if err != nil {
		fmt.Fprintf(stderr, "splitbft tcb: %v\n", err)
		return 1
	}
	if len(builds) > 0 {
		rep.Binaries = slices.DeleteFunc(rep.Binaries, func(b tcbBinary) bool { return !slices.Contains(builds, b.Build) })
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(rep)
		return 0
	}
	printTCB(stdout, rep, *stdlib)
	return 0
}

// tcbUsage is the help of tcb.
func tcbUsage() string {
	var b strings.Builder
	b.WriteString("usage: splitbft tcb [-json] [-stdlib] [-tags TAGS] [-C DIR] [build...]\n\n" +
		"Counts the Go source lines linked into each enclave binary (go list -deps).\nBuilds: ")
	for _, e := range enclaveBinaries {
		b.WriteString(e.build + " ")
	}
	b.WriteString("(default all)\n\nexample:\n  splitbft tcb prep-a exec\n  splitbft tcb -tags enclave -json")
	return b.String()
}

// goPackage is the part of go list -json output that tcb reads.
type goPackage struct {
	ImportPath string
	Dir        string
	GoFiles    []string
	CgoFiles   []string
	Standard   bool
	Module     *struct{ Path, Version string }
	Error      *struct{ Err string }
}

// measureTCB lists the dependencies of every enclave binary and counts them.
func measureTCB(dir, tags string, keepStdlib bool) (*tcbReport, error) {
	mod, err := goModule(dir)
	if err != nil {
		return nil, err
	}
	deps := make([][]goPackage, len(enclaveBinaries))
	users := map[string]int{} // import path → number of binaries linking it
	for i, b := range enclaveBinaries {
		if deps[i], err = goListDeps(dir, tags, mod+"/"+b.pkg); err != nil {
			return nil, err
		}
		for _, p := range deps[i] {
			users[p.ImportPath]++
		}
	}
	rep := &tcbReport{Module: mod, Tags: tags, Counting: tcbCounting}
	counter := lineCounter{}
	for i, b := range enclaveBinaries {
		row := tcbBinary{Build: b.build, Package: mod + "/" + b.pkg}
		for _, p := range deps[i] {
			n, files, err := counter.pkg(&p)
			if err != nil {
				return nil, err
			}
			part, tp := classify(&row, &p, mod, users[p.ImportPath] == 1), tcbPkg{Path: p.ImportPath, Files: files, Lines: n}
			if p.Module != nil && p.Module.Path != mod {
				tp.Module = p.Module.Path + "@" + p.Module.Version
			}
			part.Lines += n
			if part != &row.Stdlib || keepStdlib {
				part.Packages = append(part.Packages, tp)
			}
		}
		row.NoStdlib = row.Own.Lines + row.Spec.Lines + row.Module.Lines + row.ThirdParty.Lines
		row.Total = row.NoStdlib + row.Stdlib.Lines
		rep.Binaries = append(rep.Binaries, row)
	}
	return rep, nil
}

// classify returns the column of row that package p belongs to. only says whether p
// is linked by this binary alone among the enclave binaries.
func classify(row *tcbBinary, p *goPackage, mod string, only bool) *tcbPart {
	switch {
	case p.Standard:
		return &row.Stdlib
	case p.Module == nil || p.Module.Path != mod:
		return &row.ThirdParty
	case p.ImportPath == mod+"/spec":
		return &row.Spec
	case p.ImportPath == mod+"/"+row.Build || strings.HasPrefix(p.ImportPath, mod+"/"+row.Build+"/") || only:
		return &row.Own
	}
	return &row.Module
}

// goModule returns the path of the main module of dir, which must be SplitBFT's.
func goModule(dir string) (string, error) {
	out, err := goCommand(dir, "list", "-m")
	if err != nil {
		return "", err
	}
	mod := strings.TrimSpace(string(out))
	if mod != modulePathSplitBFT {
		return "", fmt.Errorf("%s is in module %q, not %s: run tcb inside the SplitBFT source tree (or use -C)", dir, mod, modulePathSplitBFT)
	}
	return mod, nil
}

const modulePathSplitBFT = "github.com/splitbft/splitbft"

// goListDeps returns the packages that pkg links, pkg included.
func goListDeps(dir, tags, pkg string) ([]goPackage, error) {
	out, err := goCommand(dir, "list", "-deps", "-tags="+tags, "-json=ImportPath,Dir,GoFiles,CgoFiles,Standard,Module,Error", pkg)
	if err != nil {
		return nil, err
	}
	var pkgs []goPackage
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var p goPackage
		if err := dec.Decode(&p); err != nil {
			return nil, fmt.Errorf("go list output: %w", err)
		}
		if p.Error != nil {
			return nil, fmt.Errorf("go list %s: %s: %s", pkg, p.ImportPath, p.Error.Err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs, nil
}

// goCommand runs the go tool in dir and returns its standard output.
func goCommand(dir string, args ...string) ([]byte, error) {
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	var errOut bytes.Buffer
	cmd.Stderr = &errOut
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(errOut.String()))
	}
	return out, nil
}

// lineCounter counts the lines of packages, each package once.
type lineCounter map[string][2]int // Dir → lines, files

func (c lineCounter) pkg(p *goPackage) (lines, files int, err error) {
	if v, ok := c[p.Dir]; ok {
		return v[0], v[1], nil
	}
	for _, f := range slices.Concat(p.GoFiles, p.CgoFiles) {
		src, err := os.ReadFile(filepath.Join(p.Dir, f))
		if err != nil {
			return 0, 0, err
		}
		lines += codeLines(src)
		files++
	}
	c[p.Dir] = [2]int{lines, files}
	return lines, files, nil
}

// codeLines returns the number of lines of Go source src that hold a token other than
// a comment: blank lines and lines holding only comments do not count; a raw string
// counts on every line it spans.
func codeLines(src []byte) int {
	fset := token.NewFileSet()
	file := fset.AddFile("", fset.Base(), len(src))
	var s scanner.Scanner
	s.Init(file, src, nil, scanner.ScanComments)
	seen := map[int]bool{}
	for {
		pos, tok, lit := s.Scan()
		if tok == token.EOF {
			return len(seen)
		}
		if tok == token.COMMENT || (tok == token.SEMICOLON && lit == "\n") {
			continue // an automatic semicolon never starts a line of its own
		}
		first := file.Line(pos)
		last := first
		if tok == token.STRING {
			last += strings.Count(lit, "\n")
		}
		for l := first; l <= last; l++ {
			seen[l] = true
		}
	}
}

// printTCB prints the table, then per binary the packages outside the standard
// library (and with stdlib, the standard library by top-level directory).
func printTCB(w io.Writer, rep *tcbReport, stdlib bool) {
	tags := rep.Tags
	if tags == "" {
		tags = "none"
	}
	fmt.Fprintf(w, "Trusted computing base of the SplitBFT enclave binaries (build tags: %s)\n", tags)
	fmt.Fprintf(w, "counting %s\n\n", tcbCounting)
	fmt.Fprintf(w, "%-8s %8s %8s %8s %12s %12s %10s %10s\n", "binary", "own", "spec", "module", "third-party", "TCB-stdlib", "stdlib", "TCB")
	for _, b := range rep.Binaries {
		fmt.Fprintf(w, "%-8s %8d %8d %8d %12d %12d %10d %10d\n", b.Build, b.Own.Lines, b.Spec.Lines,
			b.Module.Lines, b.ThirdParty.Lines, b.NoStdlib, b.Stdlib.Lines, b.Total)
	}
	fmt.Fprint(w, "\nown: the build's packages and module packages no other enclave binary links; "+
		"module: the module's shared packages\n")
	for _, b := range rep.Binaries {
		fmt.Fprintf(w, "\n%s (%s)\n", b.Build, b.Package)
		for _, part := range []struct {
			name string
			p    tcbPart
		}{{"own", b.Own}, {"spec", b.Spec}, {"module", b.Module}} {
			fmt.Fprintf(w, "  %-12s %s\n", part.name+":", listPackages(part.p.Packages, rep.Module))
		}
		fmt.Fprintf(w, "  %-12s %s\n", "third-party:", sumGroups(b.ThirdParty.Packages, func(p tcbPkg) string { return p.Module }))
		if stdlib {
			fmt.Fprintf(w, "  %-12s %s\n", "stdlib:", sumGroups(b.Stdlib.Packages, func(p tcbPkg) string { return strings.SplitN(p.Path, "/", 2)[0] }))
		}
	}
}

// listPackages formats packages as "path (lines)", sorted by path, the module path
// left out.
func listPackages(pkgs []tcbPkg, mod string) string {
	if len(pkgs) == 0 {
		return "-"
	}
	var out []string
	for _, p := range pkgs {
		out = append(out, fmt.Sprintf("%s (%d)", strings.TrimPrefix(p.Path, mod+"/"), p.Lines))
	}
	slices.Sort(out)
	return strings.Join(out, ", ")
}

// sumGroups sums the lines of packages by group, largest first, as "group (lines)".
func sumGroups(pkgs []tcbPkg, group func(tcbPkg) string) string {
	sums := map[string]int{}
	for _, p := range pkgs {
		sums[group(p)] += p.Lines
	}
	if len(sums) == 0 {
		return "-"
	}
	keys := slices.Collect(maps.Keys(sums))
	slices.SortFunc(keys, func(a, b string) int {
		if sums[a] != sums[b] {
			return sums[b] - sums[a]
		}
		return strings.Compare(a, b)
	})
	var out []string
	for _, k := range keys {
		out = append(out, fmt.Sprintf("%s (%d)", k, sums[k]))
	}
	return strings.Join(out, ", ")
}
