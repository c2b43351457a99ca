package conformance

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"

	"github.com/splitbft/splitbft/spec"
)

// This file is the differential test of two implementations of one compartment
// (SPEC.md Appendix B). A seeded generator (differential_world.go,
// differential_msgs.go) produces episodes: a compartment (role, replica) with
// randomness Stream("enclave", episode seed) is initialised and receives a sequence
// of StepInputs — a configure, then valid, borderline and malformed protocol inputs.
// The generator is open-loop: its inputs never depend on the outputs, so every
// implementation receives the same bytes, and two conforming implementations must
// answer every step with byte-identical StepOutputs.

// DiffEpisodeSteps is the number of steps of one episode of the generator.
const DiffEpisodeSteps = 200

// RunDifferential feeds the first steps generated from seed for role to compartments
// made by a and by b, and fails at the first step whose StepOutput bytes differ,
// printing the seed, the step, the input and both outputs.
func RunDifferential(t Failer, role spec.Role, a, b Factory, steps int, seed uint64) {
	t.Helper()
	if err := differential(role, a, b, steps, seed); err != nil {
		t.Fatalf("%v", err)
	}
}

// differential is RunDifferential returning the first difference as an error.
func differential(role spec.Role, a, b Factory, steps int, seed uint64) error {
	g := newDiffGen(role, seed)
	var ca, cb spec.Compartment
	for i := 0; i < steps; i++ {
		st := g.next()
		if st.episode != nil {
			var err error
			if ca, cb, err = startPair(st.episode, a, b); err != nil {
				return fmt.Errorf("differential %s seed %d step %d: %v", spec.RoleName(role), seed, i, err)
			}
		}
		ra, rb := ca.Step(st.input), cb.Step(st.input)
		if !bytes.Equal(ra, rb) {
			return fmt.Errorf("differential %s seed %d: step %d (episode %d, replica %d, enclave seed %d) differs\ninput:\n%sa:\n%sb:\n%s",
				spec.RoleName(role), seed, i, g.episode, g.w.id, g.w.fx.Seed, describeIn(st.input), describeOut(ra), describeOut(rb))
		}
	}
	return nil
}

// DifferentialDigest runs the first steps generated from seed for role against
// compartments made by factory and returns SHA-256 over the StepOutputs, each as
// u64(length) || bytes. Two implementations that pass RunDifferential have equal
// digests; SPEC.md Appendix B publishes the digest of 10,000 steps.
func DifferentialDigest(role spec.Role, factory Factory, steps int, seed uint64) ([32]byte, error) {
	g := newDiffGen(role, seed)
	h := sha256.New()
	var c spec.Compartment
	for i := 0; i < steps; i++ {
		st := g.next()
		if st.episode != nil {
			var err error
			if c, err = startOne(st.episode, factory); err != nil {
				return [32]byte{}, fmt.Errorf("step %d: %w", i, err)
			}
		}
		out := c.Step(st.input)
		h.Write(binary.BigEndian.AppendUint64(nil, uint64(len(out))))
		h.Write(out)
	}
	var d [32]byte
	h.Sum(d[:0])
	return d, nil
}

// diffEpisode names the compartment an episode drives.
type diffEpisode struct {
	seed    uint64 // its randomness is Stream("enclave", seed)
	role    spec.Role
	replica uint64
}

func startOne(e *diffEpisode, f Factory) (spec.Compartment, error) {
	in, err := Start(f, e.seed, e.role, e.replica)
	if err != nil {
		return nil, err
	}
	want := DerivedEnrollment(e.seed, e.role, e.replica)
	if got := in.Enrollment.Body; got.SignKey != want.SignKey || got.BoxKey != want.BoxKey {
		return nil, fmt.Errorf("enrollment keys are not those SPEC.md §3.5 derives from Stream(enclave, %d)", e.seed)
	}
	return in.C, nil
}

func startPair(e *diffEpisode, a, b Factory) (spec.Compartment, spec.Compartment, error) {
	ca, err := startOne(e, a)
	if err != nil {
		return nil, nil, fmt.Errorf("a: %w", err)
	}
	cb, err := startOne(e, b)
	if err != nil {
		return nil, nil, fmt.Errorf("b: %w", err)
	}
	return ca, cb, nil
}

func describeIn(raw []byte) string {
	var in spec.StepInput
	if err := spec.Decode(raw, &in, spec.MaxMessageBytes); err != nil {
		return fmt.Sprintf("(not a StepInput: %v) %x\n", err, clip(raw))
	}
	return spec.DescribeStep(&in)
}

func describeOut(raw []byte) string {
	var out spec.StepOutput
	if err := spec.Decode(raw, &out, spec.MaxMessageBytes); err != nil {
		return fmt.Sprintf("(not a StepOutput: %v) %x\n", err, clip(raw))
	}
	return spec.DescribeOutput(&out)
}

func clip(b []byte) []byte {
	if len(b) > 64 {
		return b[:64]
	}
	return b
}
