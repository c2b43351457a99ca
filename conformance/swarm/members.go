package swarm

import (
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"

	"github.com/splitbft/splitbft/spec"
)

// This file is the swarm's governance member (SPEC.md §17.1): one Ed25519 key,
// threshold 1, added to the bootstrap configuration. Its one use is the members' tool
// of a whole-cluster restart (SPEC.md §17.8, restart_cluster.go), which signs the
// recovery plan with it.

// memberKey returns the member key of run seed.
func memberKey(run uint64) ed25519.PrivateKey {
	h := sha256.Sum256([]byte(fmt.Sprintf("swarm/member/%d", run)))
	return ed25519.NewKeyFromSeed(h[:])
}

// addMembers makes the run's member the one member of cfg, with threshold 1.
func (s *sim) addMembers(cfg *spec.Config) {
	var pub spec.PublicKey
	copy(pub[:], s.member.Public().(ed25519.PublicKey))
	cfg.Members, cfg.Threshold = []spec.PublicKey{pub}, 1
}

// withMembers rewrites the configure inputs of a bootstrap StepInput so that the
// configuration carries the member (broker.Bootstrap assembles one without members);
// any other StepInput is returned unchanged.
func (s *sim) withMembers(raw []byte) []byte {
	var in spec.StepInput
	if spec.Decode(raw, &in, spec.MaxFrameBytes) != nil {
		return raw
	}
	changed := false
	for i := range in.Inputs {
		var c spec.Configure
		var cfg spec.Config
		if in.Inputs[i].Kind != spec.KindConfigure || spec.Decode(in.Inputs[i].Body, &c, spec.MaxMessageBytes) != nil ||
			spec.Decode(c.Config, &cfg, spec.MaxMessageBytes) != nil {
			continue
		}
		s.addMembers(&cfg)
		c.Config = spec.Encode(&cfg)
		in.Inputs[i].Body = spec.Encode(&c)
		changed = true
	}
	if !changed {
		return raw
	}
	return spec.Encode(&in)
}
