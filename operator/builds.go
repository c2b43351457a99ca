package operator

import (
	"maps"
	"slices"

	"github.com/splitbft/splitbft/internal/builds"
	"github.com/splitbft/splitbft/spec"
)

// KnownBuilds maps each role's build names to the Go package of the compartment
// binary that runs that build (relative to the module root), as the build registry
// (internal/builds) lists them. The build name is the one the compartment puts in its
// enrollment (SPEC.md §7.1).
var KnownBuilds = knownBuilds()

func knownBuilds() [3]map[string]string {
	var known [3]map[string]string
	for _, b := range builds.All() {
		if known[b.Role] == nil {
			known[b.Role] = map[string]string{}
		}
		known[b.Role][b.Name] = "./" + b.Cmd
	}
	return known
}

// BuildNames returns the known build names of role r, sorted.
func BuildNames(r spec.Role) []string {
	return slices.Sorted(maps.Keys(KnownBuilds[r]))
}
