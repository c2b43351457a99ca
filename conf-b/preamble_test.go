package confb

import (
	"testing"

	"github.com/splitbft/splitbft/internal/agreeb/agreebtest"
	"github.com/splitbft/splitbft/spec"
)

// TestStepInputMalformed covers §7.4: a StepInput that fails §2.3 or has more than
// 4096 inputs gives one malformed rejection (index 0, kind 0) and the status.
func TestStepInputMalformed(t *testing.T) { agreebtest.RunStepInputMalformed(t, &testSetup) }

// TestPreamble covers §8.1 A1–A4 and F1–F4, each line failing alone; A1 also for
// the kinds only prep accepts.
func TestPreamble(t *testing.T) {
	agreebtest.RunPreamble(t, &testSetup, agreebtest.PreambleKinds{
		Foreign: []agreebtest.Case{
			{Name: "A1 view-change", In: spec.Input{Kind: spec.KindViewChange, Body: []byte{0x80}}, Code: spec.CodeUnknownKind},
			{Name: "A1 client-batch", In: spec.Input{Kind: spec.KindClientBatch, Body: []byte{0x80}}, Code: spec.CodeUnknownKind},
		},
		A2: agreebtest.Input(spec.KindSuspect, &spec.Suspect{}),
		A4: spec.KindPrepare,
	})
}

// TestConfigureBeforeInit checks F3 for a conf that was never initialised.
func TestConfigureBeforeInit(t *testing.T) { agreebtest.RunConfigureBeforeInit(t, &testSetup) }

// TestRejectionIndex checks that rejections name their input's index and kind, and
// that later inputs of the same Step are still handled.
func TestRejectionIndex(t *testing.T) { agreebtest.RunRejectionIndex(t, &testSetup) }
