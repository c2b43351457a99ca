package confb_test

import (
	"io"
	"testing"

	confb "github.com/splitbft/splitbft/conf-b"
	"github.com/splitbft/splitbft/conformance"
	"github.com/splitbft/splitbft/spec"
)

// TestConformance runs the shared conformance suite (SPEC.md Appendix A).
func TestConformance(t *testing.T) {
	conformance.RunConfirmation(t, func(r io.Reader) spec.Compartment { return confb.New(r) })
}
