package prepa_test

import (
	"io"
	"testing"

	"github.com/splitbft/splitbft/conformance"
	prepa "github.com/splitbft/splitbft/prep-a"
	"github.com/splitbft/splitbft/spec"
)

// TestConformance runs the shared conformance suite (SPEC.md Appendix A).
func TestConformance(t *testing.T) {
	conformance.RunPreparation(t, func(r io.Reader) spec.Compartment { return prepa.New(r) })
}
