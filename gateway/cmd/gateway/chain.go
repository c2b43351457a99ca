package main

import (
	"context"
	"crypto/ed25519"
	"sync"

	"github.com/splitbft/splitbft/broker"
	"github.com/splitbft/splitbft/spec"
)

// The gateway's sessions follow the configuration chain as every client does (SPEC.md
// §17.7): a broker that adopts an epoch change pushes it, and a session follows the
// next step at once; a session that missed steps (every connection lost across an
// epoch change, a full push queue) asks its Options.Chain, which is chainSource.

// chainBody is the body of a replica's GET /chain (the operator's Chain, which this
// binary does not link): the replica's genesis configuration and the chain steps
// since, in order.
type chainBody struct {
	_       struct{} `cbor:",toarray"`
	Genesis []byte
	Changes []spec.Step
}

// chainSource returns the Options.Chain of the gateway's sessions: it asks every
// replica's GET /chain at once and returns the longest run of chain steps after cur
// that verifies from cur (SPEC.md §17.7), none if no replica serves one. Replicas are
// not trusted: a step is followed only if it verifies from the configuration the
// session holds, so a faulty replica can withhold steps, not forge them.
func chainSource(c *cluster) func(ctx context.Context, cur *spec.Config) ([]spec.Step, error) {
	return func(ctx context.Context, cur *spec.Config) ([]spec.Step, error) {
		bodies := make([][]byte, len(c.Replicas))
		var wg sync.WaitGroup
		for i, r := range c.Replicas {
			wg.Go(func() {
				if raw, err := get(ctx, r.Status, "/chain", spec.MaxMessageBytes); err == nil {
					bodies[i] = raw
				}
			})
		}
		wg.Wait()
		var best []spec.Step
		for _, raw := range bodies {
			if steps := stepsAfter(raw, cur); len(steps) > len(best) {
				best = steps
			}
		}
		return best, nil
	}
}

// stepsAfter returns the steps of the chain body raw that follow cur, if they verify
// from cur; nil otherwise. Each step moves the epoch on by one, so the steps after cur
// are those after the first cur.Epoch - genesis.Epoch.
func stepsAfter(raw []byte, cur *spec.Config) []spec.Step {
	var ch chainBody
	var gen spec.Config
	if raw == nil || spec.Decode(raw, &ch, spec.MaxMessageBytes) != nil ||
		spec.Decode(ch.Genesis, &gen, spec.MaxMessageBytes) != nil || gen.Epoch > cur.Epoch {
		return nil
	}
	skip := cur.Epoch - gen.Epoch
	if uint64(len(ch.Changes)) <= skip {
		return nil
	}
	steps := ch.Changes[skip:]
	if _, err := spec.VerifySteps(cur, steps, verifyEd, broker.AdmitKey); err != nil {
		return nil
	}
	return steps
}

// verifyEd is the standard library's Ed25519 as a spec.SigVerifier (SPEC.md §3.3).
func verifyEd(pub spec.PublicKey, msg []byte, sig spec.Signature) bool {
	return ed25519.Verify(pub[:], msg, sig[:])
}
