package conformance

import (
	"bytes"
	"crypto/ed25519"
	"io"
	"strings"
	"testing"

	"github.com/splitbft/splitbft/spec"
)

// counter is a fake compartment with the enrollment keys §3.5 derives from its
// stream; its status counts its steps, off by 1000 at step diverge (1-based).
type counter struct {
	rand           io.Reader
	replica, steps uint64
	diverge        uint64
}

func (c *counter) Init(req []byte) ([]byte, error) {
	var ir spec.InitRequest
	if err := spec.Decode(req, &ir, spec.MaxInitBytes); err != nil {
		return nil, err
	}
	body := spec.EnrollmentBody{Role: ir.Role, Replica: ir.Replica, Build: []byte("counter")}
	copy(body.SignKey[:], ed25519.NewKeyFromSeed(read(c.rand, 32)).Public().(ed25519.PublicKey))
	c.replica = ir.Replica
	return spec.Encode(&spec.Enrollment{Body: body}), nil
}

func (c *counter) Step([]byte) []byte {
	c.steps++
	st := spec.Status{Replica: c.replica, Last: c.steps}
	if c.steps == c.diverge {
		st.Last += 1000
	}
	return spec.Encode(&spec.StepOutput{Outputs: []spec.Output{{Kind: spec.KindStatus, Body: spec.Encode(&st)}}})
}

func counters(diverge uint64) Factory {
	return func(r io.Reader) spec.Compartment { return &counter{rand: r, diverge: diverge} }
}

// TestDifferentialDetects: the first differing step is reported with the seed, the
// step, the input and both outputs; equal compartments pass; digests differ.
func TestDifferentialDetects(t *testing.T) {
	if err := differential(spec.RolePrep, counters(0), counters(0), 300, 5); err != nil {
		t.Fatalf("equal compartments: %v", err)
	}
	err := differential(spec.RolePrep, counters(0), counters(37), 300, 5)
	if err == nil {
		t.Fatal("a difference at step 37 was not detected")
	}
	for _, want := range []string{"seed 5", "step 36 ", "last=37", "last=1037", "input:\n#0 "} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("report lacks %q:\n%v", want, err)
		}
	}
	da, _ := DifferentialDigest(spec.RoleConf, counters(0), 300, 5)
	db, _ := DifferentialDigest(spec.RoleConf, counters(50), 300, 5)
	if da == db {
		t.Error("digests of different outputs are equal")
	}
}

// TestDiffGenDeterministic: the generator's inputs depend only on role and seed.
func TestDiffGenDeterministic(t *testing.T) {
	for _, role := range []spec.Role{spec.RolePrep, spec.RoleConf} {
		g1, g2, g3 := newDiffGen(role, 9), newDiffGen(role, 9), newDiffGen(role, 10)
		differs := false
		for i := 0; i < 2*DiffEpisodeSteps+10; i++ {
			s1, s2, s3 := g1.next(), g2.next(), g3.next()
			if !bytes.Equal(s1.input, s2.input) || (s1.episode == nil) != (i%DiffEpisodeSteps != 0) {
				t.Fatalf("%s step %d: not reproducible, or episode boundary misplaced", spec.RoleName(role), i)
			}
			differs = differs || !bytes.Equal(s1.input, s3.input)
		}
		if !differs {
			t.Errorf("%s: seeds 9 and 10 generate the same inputs", spec.RoleName(role))
		}
	}
}
