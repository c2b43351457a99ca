package conformance

import (
	"fmt"
	"io"

	"github.com/google/go-cmp/cmp"

	"github.com/splitbft/splitbft/spec"
)

// Debugger is implemented by compartments that can dump their whole protocol state
// deterministically. The suite uses it, when present, to check that a rejected input
// changed nothing; otherwise it compares Status outputs only.
type Debugger interface {
	DebugState() string
}

// Instance is a compartment under test, initialised with Stream("enclave", seed).
type Instance struct {
	C          spec.Compartment
	Enrollment spec.Enrollment
}

// Start creates a compartment from factory with randomness Stream("enclave", seed)
// and calls Init(role, replica).
func Start(factory Factory, seed uint64, role spec.Role, replica uint64) (*Instance, error) {
	return StartWith(factory, Stream("enclave", seed), role, replica)
}

// StartWith is Start with an explicit randomness source.
func StartWith(factory Factory, rand io.Reader, role spec.Role, replica uint64) (*Instance, error) {
	c := factory(rand)
	out, err := c.Init(spec.Encode(&spec.InitRequest{Role: role, Replica: replica}))
	if err != nil {
		return nil, fmt.Errorf("init: %w", err)
	}
	inst := &Instance{C: c}
	if err := spec.Decode(out, &inst.Enrollment, spec.MaxMessageBytes); err != nil {
		return nil, fmt.Errorf("init returned a malformed enrollment: %w", err)
	}
	return inst, nil
}

// Step runs one StepInput and decodes the StepOutput, checking the output invariants
// every conforming implementation keeps (§7.4): canonical, last output a status.
func (in *Instance) Step(inputs ...spec.Input) (*spec.StepOutput, []byte, error) {
	raw := in.C.Step(spec.Encode(&spec.StepInput{Inputs: inputs}))
	out, err := CheckOutput(raw)
	return out, raw, err
}

// CheckOutput decodes a StepOutput and checks its shape: canonical encoding, every
// output body decodes as its kind, exactly one status and it is last.
func CheckOutput(raw []byte) (*spec.StepOutput, error) {
	var out spec.StepOutput
	if err := spec.Decode(raw, &out, spec.MaxMessageBytes); err != nil {
		return nil, fmt.Errorf("step output: %w", err)
	}
	if len(out.Outputs) == 0 || out.Outputs[len(out.Outputs)-1].Kind != spec.KindStatus {
		return nil, fmt.Errorf("step output does not end with a status")
	}
	for i, o := range out.Outputs {
		if o.Kind == spec.KindStatus && i != len(out.Outputs)-1 {
			return nil, fmt.Errorf("output %d: status before the end", i)
		}
		if _, err := spec.DecodeKind(o.Kind, o.Body); err != nil {
			return nil, fmt.Errorf("output %d (%s): %w", i, spec.KindName(o.Kind), err)
		}
	}
	return &out, nil
}

// Rejections returns the rejections in out.
func Rejections(out *spec.StepOutput) []spec.Rejection {
	var rs []spec.Rejection
	for _, o := range out.Outputs {
		if o.Kind == spec.KindReject {
			var r spec.Rejection
			if spec.Decode(o.Body, &r, spec.MaxBodyBytes(spec.KindReject)) == nil {
				rs = append(rs, r)
			}
		}
	}
	return rs
}

// snapshot is what the suite can observe of a compartment's state.
func (in *Instance) snapshot() (string, error) {
	_, raw, err := in.Step()
	if err != nil {
		return "", err
	}
	s := fmt.Sprintf("%x", raw)
	if d, ok := in.C.(Debugger); ok {
		s += "\n" + d.DebugState()
	}
	return s, nil
}

// RunVector runs one vector against factory and reports the first discrepancy.
func RunVector(v *Vector, factory Factory) error {
	in, err := Start(factory, v.Seed, v.Role, v.Replica)
	if err != nil {
		return err
	}
	for i := range v.Steps {
		out, _, err := in.Step(v.Steps[i].Inputs...)
		if err != nil {
			return fmt.Errorf("setup step %d: %w", i, err)
		}
		if rs := Rejections(out); len(rs) > 0 {
			return fmt.Errorf("setup step %d: input %d rejected with %s", i, rs[0].Index, spec.CodeName(rs[0].Code))
		}
	}
	before, err := in.snapshot()
	if err != nil {
		return err
	}
	out, _, err := in.Step(v.Final)
	if err != nil {
		return fmt.Errorf("final step: %w", err)
	}
	return v.check(in, out, before)
}

func (v *Vector) check(in *Instance, out *spec.StepOutput, before string) error {
	rs := Rejections(out)
	if v.Accept {
		if len(rs) > 0 {
			return fmt.Errorf("want accept, got reject %s (sub %d)", spec.CodeName(rs[0].Code), rs[0].Sub)
		}
		return v.checkEmits(out)
	}
	if len(rs) == 0 {
		return fmt.Errorf("want reject %s, got accept", spec.CodeName(v.Code))
	}
	if rs[0].Code != v.Code || rs[0].Index != 0 || rs[0].Kind != v.Final.Kind {
		return fmt.Errorf("want reject %s, got %s (index %d kind %s)", spec.CodeName(v.Code), spec.CodeName(rs[0].Code), rs[0].Index, spec.KindName(rs[0].Kind))
	}
	if rs[0].Sub != 0 {
		return nil // a request inside a client batch was dropped; the rest may proceed
	}
	if len(out.Outputs) != 2 {
		return fmt.Errorf("a rejected input produced %d outputs besides the rejection", len(out.Outputs)-2)
	}
	after, err := in.snapshot()
	if err != nil {
		return err
	}
	if d := cmp.Diff(before, after); d != "" {
		return fmt.Errorf("rejected input changed the state (-before +after):\n%s", d)
	}
	return nil
}

func (v *Vector) checkEmits(out *spec.StepOutput) error {
	if v.Emits == nil {
		return nil
	}
	var got []uint64
	for _, o := range out.Outputs[:len(out.Outputs)-1] {
		got = append(got, o.Kind)
	}
	if fmt.Sprint(got) != fmt.Sprint(v.Emits) && !(len(got) == 0 && len(v.Emits) == 0) {
		return fmt.Errorf("want outputs %v, got %v", kindNames(v.Emits), kindNames(got))
	}
	return nil
}

func kindNames(ks []uint64) []string {
	var s []string
	for _, k := range ks {
		s = append(s, spec.KindName(k))
	}
	return s
}
