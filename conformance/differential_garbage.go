package conformance

import (
	"crypto/ed25519"

	"github.com/splitbft/splitbft/spec"
)

// This file builds the differential generator's out-of-protocol inputs: inputs before
// configure, a second configure, malformed bodies and malformed StepInputs.

// garbageKinds are the kinds garbage inputs carry: every kind, and two unknown ones.
var garbageKinds = []uint64{0, spec.KindRequest, spec.KindBatch, spec.KindPrePrepare, spec.KindProposal,
	spec.KindPrepare, spec.KindCommit, spec.KindCheckpoint, spec.KindViewChange, spec.KindNewView,
	spec.KindStateRequest, spec.KindStateChunk, spec.KindReply, spec.KindConfigure, spec.KindClientBatch,
	spec.KindSuspect, spec.KindGroupKeyDeal, spec.KindReject, spec.KindStatus, spec.KindGroupKeyShares, 200}

// randomBytes returns up to max random bytes.
func (w *world) randomBytes(max int) []byte {
	b := make([]byte, w.rng.IntN(max+1))
	for i := range b {
		b[i] = byte(w.rng.Uint32())
	}
	return b
}

// garbage is a malformed or misdirected input: random bytes under a random kind, a
// truncated recent body, or a recent body with one bit flipped.
func (w *world) garbage() spec.Input {
	kind := garbageKinds[w.rng.IntN(len(garbageKinds))]
	if len(w.recent) == 0 || w.chance(30) {
		return spec.Input{Kind: kind, Body: w.randomBytes(48)}
	}
	in := w.recent[w.rng.IntN(len(w.recent))]
	body := append([]byte{}, in.Body...)
	if w.chance(50) && len(body) > 0 {
		body = body[:w.rng.IntN(len(body))]
	} else {
		w.flip(body)
	}
	return spec.Input{Kind: in.Kind, Body: body}
}

// rawGarbage is a StepInput that fails §2.3 as a whole (or has too many inputs), or
// an empty one.
func (w *world) rawGarbage() []byte {
	switch w.pick(35, 35, 15, 10, 5) {
	case 0:
		return w.randomBytes(64)
	case 1:
		b := spec.Encode(&spec.StepInput{Inputs: []spec.Input{w.input()}})
		return b[:w.rng.IntN(len(b))]
	case 2:
		b := spec.Encode(&spec.StepInput{Inputs: []spec.Input{w.input()}})
		w.flip(b)
		return b
	case 3:
		return spec.Encode(&spec.StepInput{})
	}
	in := make([]spec.Input, spec.MaxStepInputs+1)
	for i := range in {
		in[i] = In(spec.KindSuspect, &spec.Suspect{View: w.v})
	}
	return spec.Encode(&spec.StepInput{Inputs: in})
}

// configureAgain is an input only valid before configuration: configure (A3 rejects
// it even when its body is malformed) or group-key-deal (A1 for prep and conf).
func (w *world) configureAgain() spec.Input {
	switch w.pick(50, 25, 25) {
	case 0:
		return w.fx.Configure()
	case 1:
		return spec.Input{Kind: spec.KindConfigure, Body: w.randomBytes(16)}
	}
	return In(spec.KindGroupKeyDeal, &spec.GroupKeyDeal{})
}

// preConfigure is an input before configure: a protocol message (not-configured or
// unknown-kind) or a configure that fails F1, F2, F3 or F4.
func (w *world) preConfigure() spec.Input {
	cfg := *w.fx.Config
	switch w.pick(25, 15, 15, 15, 15, 15) {
	case 0:
		return w.garbage()
	case 1: // F1: Config bytes that fail §2.3
		b := spec.Encode(&cfg)
		return In(spec.KindConfigure, &spec.Configure{Config: b[:len(b)-1]})
	case 2: // F2: an invalid configuration
		cfg.Name = nil
	case 3: // F3: another key enrolled in this enclave's slot
		cfg.Replicas = append([]spec.ReplicaConfig{}, cfg.Replicas...)
		e := cfg.Enrollment(w.role, w.id)
		seed := spec.Hash("splitbft/v1/differential-other-key", spec.U64(w.fx.Seed))
		copy(e.Body.SignKey[:], ed25519.NewKeyFromSeed(seed[:]).Public().(ed25519.PublicKey))
	case 4: // F4: a share for prep or conf
		return In(spec.KindConfigure, &spec.Configure{Config: spec.Encode(&cfg), Share: []spec.GroupKeyShare{{}}})
	case 5: // the real configure, early (its build name differs from the implementation's: F3 ignores it)
		w.configured = true
		return w.fx.Configure()
	}
	return In(spec.KindConfigure, &spec.Configure{Config: spec.Encode(&cfg)})
}
