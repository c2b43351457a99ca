package swarm

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/splitbft/splitbft/exec"
	"github.com/splitbft/splitbft/spec"
)

// trace is the recorded input of one real prep or conf compartment: its randomness
// seed, its InitRequest and every StepInput, with the digest of every StepOutput.
type trace struct {
	build  string
	seed   uint64
	init   []byte
	inputs [][]byte
	outs   [][32]byte
}

func (t *trace) add(in, out []byte) {
	t.inputs = append(t.inputs, in)
	t.outs = append(t.outs, sha256.Sum256(out))
}

// newInstance creates a compartment instance and registers its trace for the
// N-version check.
func (s *sim) newInstance(build string, seed uint64, app exec.Application) *instance {
	in := newInstance(build, seed, app, !s.opt.SkipNVersion)
	if in.trace != nil {
		s.traces = append(s.traces, in.trace)
	}
	return in
}

// checkNVersion is the N-version oracle: every recorded trace, replayed into the
// other implementation of its compartment (same randomness), gives byte-identical
// StepOutputs. The first divergence fails the run and its trace is written to dir
// (named after the run's seed), if dir is not "".
func (o *oracles) checkNVersion(dir string, runSeed uint64) {
	for _, t := range o.traces {
		if i, err := replayTrace(t); err != nil {
			path := writeTrace(dir, runSeed, t, i)
			o.fail("n-version", "%s trace (seed %d) replayed on %s: %v (trace: %s)", t.build, t.seed, otherBuild(t.build), err, path)
			return
		}
		o.stats.TraceSteps += len(t.inputs)
	}
}

// replayTrace runs t on the other build and returns the index of the first StepInput
// whose output differs.
func replayTrace(t *trace) (int, error) {
	c := newCompartment(otherBuild(t.build), t.seed, nil)
	if _, err := c.Init(t.init); err != nil {
		return -1, fmt.Errorf("init: %w", err)
	}
	for i, in := range t.inputs {
		out, err := safeStep(c, in)
		if err != nil {
			return i, err
		}
		if sha256.Sum256(out) != t.outs[i] {
			var si spec.StepInput
			spec.Decode(in, &si, spec.MaxMessageBytes)
			return i, fmt.Errorf("step %d (%s): outputs differ", i, spec.DescribeStep(&si))
		}
	}
	return -1, nil
}

func safeStep(c spec.Compartment, in []byte) (out []byte, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	return c.Step(in), nil
}

// writeTrace saves a trace (up to and including step upto) as hex lines: build, seed,
// init, then one StepInput per line, into dir. It returns the path, or "" without a
// directory.
func writeTrace(dir string, runSeed uint64, t *trace, upto int) string {
	if dir == "" {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "build %s\nseed %d\ninit %s\n", t.build, t.seed, hex.EncodeToString(t.init))
	for i, in := range t.inputs {
		if upto >= 0 && i > upto {
			break
		}
		fmt.Fprintf(&b, "step %s %s\n", hex.EncodeToString(in), hex.EncodeToString(t.outs[i][:]))
	}
	path := filepath.Join(dir, fmt.Sprintf("swarm-trace-%d-%s-%d.txt", runSeed, t.build, t.seed))
	if os.WriteFile(path, []byte(b.String()), 0o644) != nil {
		return ""
	}
	return path
}
