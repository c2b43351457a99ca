package enclave

import (
	"bytes"
	"encoding/json"
	"fmt"
	"go/build"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/splitbft/splitbft/internal/builds"
)

// config is EGo's enclave.json (EGo v1.9.0, docs/reference/config.md): every field
// it defines, so that an unknown (misspelt) field fails the strict decoding.
type config struct {
	Exe             string            `json:"exe"`
	Key             string            `json:"key"`
	Debug           bool              `json:"debug"`
	HeapSize        int               `json:"heapSize"` // MB
	ExecutableHeap  bool              `json:"executableHeap"`
	ProductID       int               `json:"productID"`
	SecurityVersion int               `json:"securityVersion"`
	Mounts          []json.RawMessage `json:"mounts"`
	Env             []json.RawMessage `json:"env"`
	Files           []json.RawMessage `json:"files"`
}

// buildNames returns, sorted, the compartment implementations of the build registry
// and the Redis gateway (SPEC §16, not a compartment): each must have an enclave.json.
func buildNames() []string {
	names := []string{"gateway"}
	for _, b := range builds.All() {
		names = append(names, b.Name)
	}
	slices.Sort(names)
	return names
}

// mainMarker is a regular expression for what a build's main.go must contain:
// compartments serve frames through enclavemain.Main (or MainParallel, which keeps
// one scheduler P per CPU); the gateway is no compartment and runs the gateway
// package.
func mainMarker(name string) string {
	if name == "gateway" {
		return `gateway\.New\(`
	}
	return `enclavemain\.Main(Parallel)?\("` + regexp.QuoteMeta(name) + `"`
}

func load(t *testing.T, path string) config {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var c config
	if err := dec.Decode(&c); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if dec.More() {
		t.Fatalf("%s: trailing data after the JSON object", path)
	}
	return c
}

func TestEnclaveConfigs(t *testing.T) {
	paths, _ := filepath.Glob(filepath.Join("*", "enclave.json"))
	var names []string
	for _, p := range paths {
		names = append(names, filepath.Dir(p))
	}
	if want := buildNames(); !slices.Equal(names, want) {
		t.Fatalf("enclave.json files for %v, want one for each of %v", names, want)
	}
	documented := documentedTable(t)
	products := map[int]string{}
	for _, name := range names {
		c := load(t, filepath.Join(name, "enclave.json"))
		checkConfig(t, name, c)
		if row := fmt.Sprintf("| %s | %d | %d | %d |", name, c.ProductID, c.SecurityVersion, c.HeapSize); !documented[row] {
			t.Errorf("docs/ENCLAVES.md has no table row %q", row)
		}
		if other, dup := products[c.ProductID]; dup {
			t.Errorf("%s and %s share product id %d: a signer policy could not tell them apart", name, other, c.ProductID)
		}
		products[c.ProductID] = name
	}
}

// checkConfig checks one build's enclave.json: it names the build's binary, built
// from an existing main package that serves that build; release mode; no host file
// system, environment or embedded files; one shared signing key; sane sizes.
func checkConfig(t *testing.T, name string, c config) {
	t.Helper()
	if c.Exe != name {
		t.Errorf("%s: exe %q, want the build's binary %q", name, c.Exe, name)
	}
	pkgDir := filepath.Join("..", "..", name, "cmd", name)
	pkg, err := build.ImportDir(pkgDir, 0)
	if err != nil || pkg.Name != "main" {
		t.Errorf("%s: %s is not a main package: %v", name, pkgDir, err)
	} else if src, _ := os.ReadFile(filepath.Join(pkgDir, "main.go")); !regexp.MustCompile(mainMarker(name)).Match(src) {
		t.Errorf("%s: %s/main.go does not contain %s", name, pkgDir, mainMarker(name))
	}
	if c.Debug || c.ExecutableHeap {
		t.Errorf("%s: debug %v, executableHeap %v; want both false", name, c.Debug, c.ExecutableHeap)
	}
	if len(c.Mounts) != 0 || len(c.Env) != 0 || len(c.Files) != 0 {
		t.Errorf("%s: mounts %s, env %s, files %s; want none", name, c.Mounts, c.Env, c.Files)
	}
	if c.Key != "../signer.pem" {
		t.Errorf("%s: key %q, want the operators' shared key ../signer.pem", name, c.Key)
	}
	if c.HeapSize < 512 || c.HeapSize > 16384 {
		t.Errorf("%s: heapSize %d MB outside 512..16384 (EGo's range without ego_largeheap)", name, c.HeapSize)
	}
	if c.ProductID < 1 || c.ProductID > 0xffff || c.SecurityVersion < 1 || c.SecurityVersion > 0xffff {
		t.Errorf("%s: productID %d, securityVersion %d; want 1..65535 (16-bit ISVPRODID, ISVSVN)", name, c.ProductID, c.SecurityVersion)
	}
}

// documentedTable returns the table rows of docs/ENCLAVES.md ("| build | productID |
// securityVersion | heapSize |"), which must agree with the configurations.
func documentedTable(t *testing.T) map[string]bool {
	t.Helper()
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "ENCLAVES.md"))
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]bool{}
	for _, line := range strings.Split(string(doc), "\n") {
		if strings.HasPrefix(line, "| ") {
			rows[strings.TrimSpace(line)] = true
		}
	}
	return rows
}
