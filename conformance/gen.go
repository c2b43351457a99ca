package conformance

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/splitbft/splitbft/spec"
)

// Case generates one vector. Build receives a Gen whose fixture is configured for
// the compartment (Role, Replica) and records setup steps, the final input and the
// expected outcome.
type Case struct {
	Name        string // unique; the vector file is <role>/<name>.txt
	Role        spec.Role
	Rule        string // the SPEC.md rule line the vector exercises, e.g. "P7"
	Comment     string
	Replica     uint64
	Params      *Params // nil: DefaultParams
	NoConfigure bool    // do not send the configure input as the first setup step
	Fresh       bool    // a fresh enclave outside the fixture's configuration (NewFreshFixture); implies NoConfigure
	Build       func(g *Gen)
}

// Gen collects one vector while a Case builds it.
type Gen struct {
	*Fixture
	v *Vector
}

// Setup appends one setup StepInput holding inputs.
func (g *Gen) Setup(inputs ...spec.Input) {
	g.v.Steps = append(g.v.Steps, spec.StepInput{Inputs: inputs})
}

// Final sets the final input.
func (g *Gen) Final(in spec.Input) { g.v.Final = in }

// Reject expects the final input to be rejected with code.
func (g *Gen) Reject(code uint64) { g.v.Accept, g.v.Code = false, code }

// Accept expects the final input to be accepted, emitting exactly the given kinds
// (besides the status) in order.
func (g *Gen) Accept(emits ...uint64) {
	g.v.Accept, g.v.Emits = true, append([]uint64{}, emits...)
}

// seedOf derives a case's seed from its name, so adding cases changes no other vector.
func seedOf(name string) uint64 {
	h := sha256.Sum256([]byte(name))
	return binary.BigEndian.Uint64(h[:8]) >> 16
}

// Generate builds the vectors of cases.
func Generate(cases []Case) ([]*Vector, error) {
	var out []*Vector
	names := map[string]bool{}
	for _, c := range cases {
		key := spec.RoleName(c.Role) + "/" + c.Name // the vector's file name
		if names[key] {
			return nil, fmt.Errorf("conformance: duplicate case name %q", key)
		}
		names[key] = true
		v, err := generate(c)
		if err != nil {
			return nil, fmt.Errorf("case %s: %w", c.Name, err)
		}
		out = append(out, v)
	}
	return out, nil
}

func generate(c Case) (*Vector, error) {
	p := DefaultParams()
	if c.Params != nil {
		p = *c.Params
	}
	seed := seedOf(c.Name)
	newFx := NewFixture
	if c.Fresh {
		newFx = NewFreshFixture
	}
	fx, err := newFx(seed, p, c.Role, c.Replica, DerivedEnrollment(seed, c.Role, c.Replica))
	if err != nil {
		return nil, err
	}
	v := &Vector{Name: spec.RoleName(c.Role) + "/" + c.Name, Comment: c.Comment, Role: c.Role,
		Rule: c.Rule, Seed: seed, Replica: c.Replica, Params: p, Accept: true}
	g := &Gen{Fixture: fx, v: v}
	if !c.NoConfigure && !c.Fresh {
		g.Setup(fx.Configure())
	}
	c.Build(g)
	if v.Final.Kind == 0 {
		return nil, fmt.Errorf("no final input")
	}
	return v, nil
}

// LoadVectors parses every vector file below dir in fsys, sorted by name.
func LoadVectors(fsys fs.FS, dir string) ([]*Vector, error) {
	var vs []*Vector
	err := fs.WalkDir(fsys, dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".txt") {
			return err
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		name := strings.TrimSuffix(strings.TrimPrefix(p, dir+"/"), ".txt")
		v, err := ParseVector(name, string(b))
		if err != nil {
			return err
		}
		vs = append(vs, v)
		return nil
	})
	sort.Slice(vs, func(i, j int) bool { return vs[i].Name < vs[j].Name })
	return vs, err
}

// VectorPath returns the file path of v below the vectors directory.
func VectorPath(v *Vector) string { return path.Join(v.Name + ".txt") }
