package operator

import (
	"maps"
	"slices"

	"github.com/splitbft/splitbft/spec"
)

// KnownBuilds maps each role's build names to the Go package of the compartment
// binary that runs that build (relative to the module root). The build name is the
// one the compartment puts in its enrollment (SPEC.md §7.1).
var KnownBuilds = [3]map[string]string{
	spec.RolePrep: {"prep-a": "./prep-a/cmd/prep-a", "prep-b": "./prep-b/cmd/prep-b"},
	spec.RoleConf: {"conf-a": "./conf-a/cmd/conf-a", "conf-b": "./conf-b/cmd/conf-b"},
	spec.RoleExec: {"exec": "./exec/cmd/exec"},
}

// BuildNames returns the known build names of role r, sorted.
func BuildNames(r spec.Role) []string {
	return slices.Sorted(maps.Keys(KnownBuilds[r]))
}
