package exec_test

import (
	"io"
	"testing"

	"github.com/splitbft/splitbft/conformance"
	"github.com/splitbft/splitbft/exec"
	"github.com/splitbft/splitbft/exec/kv"
	"github.com/splitbft/splitbft/spec"
)

// TestConformance runs the shared conformance suite (SPEC.md Appendix A).
func TestConformance(t *testing.T) {
	conformance.RunExecution(t, func(r io.Reader) spec.Compartment { return exec.New(r, kv.New()) })
}
