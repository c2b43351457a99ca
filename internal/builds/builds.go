// Package builds is the registry of compartment builds: every implementation this
// repository has, by the build name it enrolls with (SPEC §7.1), with its role, the
// package of its compartment binary and an in-process constructor.
//
// It is HOST and test code: it links every implementation, so no implementation
// package may import it (the a and b implementations share nothing beyond spec/;
// conformance/crosscheck checks that they do not link each other). Tools, the demo,
// simulators and tests read this one list instead of writing the implementations out.
package builds

import (
	"io"
	"slices"

	confa "github.com/splitbft/splitbft/conf-a"
	confb "github.com/splitbft/splitbft/conf-b"
	"github.com/splitbft/splitbft/exec"
	"github.com/splitbft/splitbft/exec/kv"
	prepa "github.com/splitbft/splitbft/prep-a"
	prepb "github.com/splitbft/splitbft/prep-b"
	"github.com/splitbft/splitbft/spec"
)

// Factory makes a fresh, uninitialised compartment that draws all its randomness
// from rand.
type Factory func(rand io.Reader) spec.Compartment

// Build is one compartment implementation.
type Build struct {
	Name    string    // the build name in its enrollment, e.g. "prep-b"; also its directory
	Role    spec.Role // the compartment type it implements
	Cmd     string    // the main package of its compartment binary, relative to the module root
	Partner string    // the other implementation of the same role ("" if there is none)
	New     Factory   // builds it in this process (exec with the kv-v1 application)
}

// The build names.
const (
	PrepA = prepa.Build
	PrepB = prepb.Build
	ConfA = confa.Build
	ConfB = confb.Build
	Exec  = exec.BuildName
)

var all = []Build{
	{Name: PrepA, Role: spec.RolePrep, Cmd: "prep-a/cmd/prep-a", Partner: PrepB, New: func(r io.Reader) spec.Compartment { return prepa.New(r) }},
	{Name: PrepB, Role: spec.RolePrep, Cmd: "prep-b/cmd/prep-b", Partner: PrepA, New: func(r io.Reader) spec.Compartment { return prepb.New(r) }},
	{Name: ConfA, Role: spec.RoleConf, Cmd: "conf-a/cmd/conf-a", Partner: ConfB, New: func(r io.Reader) spec.Compartment { return confa.New(r) }},
	{Name: ConfB, Role: spec.RoleConf, Cmd: "conf-b/cmd/conf-b", Partner: ConfA, New: func(r io.Reader) spec.Compartment { return confb.New(r) }},
	{Name: Exec, Role: spec.RoleExec, Cmd: "exec/cmd/exec", New: func(r io.Reader) spec.Compartment { return exec.New(r, kv.New()) }},
}

// All returns every build, ordered by role and then name. The slice is a copy.
func All() []Build { return slices.Clone(all) }

// OfRole returns the builds of role r, ordered by name.
func OfRole(r spec.Role) []Build {
	var out []Build
	for _, b := range all {
		if b.Role == r {
			out = append(out, b)
		}
	}
	return out
}

// Lookup returns the build called name; ok is false if there is none.
func Lookup(name string) (b Build, ok bool) {
	i := slices.IndexFunc(all, func(b Build) bool { return b.Name == name })
	if i < 0 {
		return Build{}, false
	}
	return all[i], true
}

// MustLookup is Lookup for names fixed in code: it panics on an unknown name.
func MustLookup(name string) Build {
	b, ok := Lookup(name)
	if !ok {
		panic("builds: unknown build " + name)
	}
	return b
}

// Variant returns the build of role r for implementation letter v ("a" or "b"; exec
// has one implementation and ignores v): the naming rule role-name + "-" + v.
func Variant(r spec.Role, v string) (Build, bool) {
	if r == spec.RoleExec {
		return Lookup(Exec)
	}
	return Lookup(spec.RoleName(r) + "-" + v)
}

// NewExec builds an exec compartment over app instead of kv-v1 (simulators that
// record what the application executes).
func NewExec(rand io.Reader, app exec.Application) spec.Compartment { return exec.New(rand, app) }

// Trio returns the constructors of one replica's three compartments: implementation
// letter prep of Preparation, conf of Confirmation ("a" or "b"), and exec. It panics on
// a letter the registry does not have (a bug in the caller's fixed matrix).
func Trio(prep, conf string) [3]Factory {
	var out [3]Factory
	for r, v := range [3]string{prep, conf, ""} {
		b, ok := Variant(spec.Role(r), v)
		if !ok {
			panic("builds: no " + spec.RoleName(spec.Role(r)) + " build " + v)
		}
		out[r] = b.New
	}
	return out
}
