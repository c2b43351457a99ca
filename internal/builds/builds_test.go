package builds

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/splitbft/splitbft/spec"
)

// TestEveryBuildEnrollsAsNamed: each registered constructor makes a compartment whose
// Init enrolls with the registered role and build name (SPEC §7.1), and each build's
// binary package exists.
func TestEveryBuildEnrollsAsNamed(t *testing.T) {
	for _, b := range All() {
		t.Run(b.Name, func(t *testing.T) {
			c := b.New(spec.TestStream("builds", 1))
			raw, err := c.Init(spec.Encode(&spec.InitRequest{Role: b.Role, Replica: 2}))
			if err != nil {
				t.Fatalf("Init: %v", err)
			}
			var e spec.Enrollment
			if err := spec.Decode(raw, &e, spec.MaxMessageBytes); err != nil {
				t.Fatalf("enrollment: %v", err)
			}
			if string(e.Body.Build) != b.Name || e.Body.Role != b.Role || e.Body.Replica != 2 {
				t.Errorf("enrolled as %q role %d replica %d, registered as %q role %d", e.Body.Build, e.Body.Role, e.Body.Replica, b.Name, b.Role)
			}
			if _, err := os.Stat(filepath.Join("..", "..", b.Cmd, "main.go")); err != nil {
				t.Errorf("binary package: %v", err)
			}
		})
	}
}

// TestRegistryShape: names are unique, partners are mutual and of the same role,
// Variant follows the naming rule, and every role has a build.
func TestRegistryShape(t *testing.T) {
	seen := map[string]bool{}
	for _, b := range All() {
		if seen[b.Name] {
			t.Errorf("build %q registered twice", b.Name)
		}
		seen[b.Name] = true
		if b.Partner == "" {
			continue
		}
		p, ok := Lookup(b.Partner)
		if !ok || p.Partner != b.Name || p.Role != b.Role {
			t.Errorf("%s: partner %q is not a mutual partner of the same role", b.Name, b.Partner)
		}
	}
	for r := spec.RolePrep; r <= spec.RoleExec; r++ {
		if len(OfRole(r)) == 0 {
			t.Errorf("no build of role %s", spec.RoleName(r))
		}
		for _, v := range []string{"a", "b"} {
			if b, ok := Variant(r, v); !ok || b.Role != r {
				t.Errorf("Variant(%s, %s) = %+v, %v", spec.RoleName(r), v, b, ok)
			}
		}
	}
	if _, ok := Lookup("prep-c"); ok {
		t.Error("Lookup found an unregistered build")
	}
}
