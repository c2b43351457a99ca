package repocheck

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// root is the repository root, relative to this package.
const root = "../.."

// The documents a citation can name, by the name used in citations.
var documents = map[string]string{"SPEC": "spec/SPEC.md", "DESIGN": "docs/DESIGN.md"}

// TestCitationsResolve scans every .go, .md and .cddl file of the repository and
// fails, naming file:line, for every section citation that names no existing
// heading (the forms are those of the "Citations" section of docs/DESIGN.md).
func TestCitationsResolve(t *testing.T) {
	docs := map[string]map[string]heading{}
	for name, path := range documents {
		b, err := os.ReadFile(filepath.Join(root, path))
		if err != nil {
			t.Fatal(err)
		}
		docs[name] = headings(string(b))
	}
	files, cited := 0, 0
	for _, path := range sourceFiles(t) {
		b, err := os.ReadFile(filepath.Join(root, path))
		if err != nil {
			t.Fatal(err)
		}
		files++
		for _, r := range refs(string(b), selfDoc(path)) {
			cited++
			if why := check(r, docs); why != "" {
				t.Errorf("%s:%d: %s", path, r.Line, why)
			}
		}
	}
	if files < 100 || cited < 500 {
		t.Errorf("scanned %d files with %d citations: the walk missed the repository", files, cited)
	}
}

// selfDoc is the document a bare § in path cites.
func selfDoc(path string) string {
	if path == documents["DESIGN"] {
		return "DESIGN"
	}
	return "SPEC"
}

// sourceFiles lists the .go, .md and .cddl files under root, relative to it, skipping
// hidden directories.
func sourceFiles(t *testing.T) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && p != root && strings.HasPrefix(d.Name(), ".") {
			return filepath.SkipDir
		}
		switch filepath.Ext(p) {
		case ".go", ".md", ".cddl":
			rel, err := filepath.Rel(root, p)
			if err != nil {
				return err
			}
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
