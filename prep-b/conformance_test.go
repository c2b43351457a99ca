package prepb_test

import (
	"io"
	"testing"

	"github.com/splitbft/splitbft/conformance"
	prepb "github.com/splitbft/splitbft/prep-b"
	"github.com/splitbft/splitbft/spec"
)

// TestConformance runs the shared conformance suite (SPEC.md Appendix A).
func TestConformance(t *testing.T) {
	conformance.RunPreparation(t, func(r io.Reader) spec.Compartment { return prepb.New(r) })
}
