package confa_test

import (
	"io"
	"testing"

	confa "github.com/splitbft/splitbft/conf-a"
	"github.com/splitbft/splitbft/conformance"
	"github.com/splitbft/splitbft/spec"
)

// TestConformance runs the shared conformance suite (SPEC.md Appendix A).
func TestConformance(t *testing.T) {
	conformance.RunConfirmation(t, func(r io.Reader) spec.Compartment { return confa.New(r) })
}
