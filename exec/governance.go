package exec

import (
	"bytes"
	"slices"

	"github.com/splitbft/splitbft/spec"
)

// This file is the governance proposal of SPEC.md §17.2 (rules GP1–GP3): member
// signatures from the current configuration, and the eight change ops applied in order
// to the base configuration.

// maxChanges is the most changes one proposal may carry (GP3).
const maxChanges = 256

// applyProposal applies GP1–GP3 to p and the changes' effect on base.
//
// GP2 is read strictly: every signature must name a distinct member and verify, and
// there must be at least Threshold of them; a proposal carrying a bad signature is
// rejected even if enough others are good.
func (e *Exec) applyProposal(base *spec.Config, p *spec.ConfigProposal) uint64 {
	if p.Body.Epoch != e.cfg.Epoch { // GP1
		return spec.CodeStale
	}
	if !e.validMemberSigs(p) { // GP2
		return spec.CodeBadSignature
	}
	if len(p.Body.Changes) < 1 || len(p.Body.Changes) > maxChanges { // GP3
		return spec.CodeBadConfig
	}
	for i := range p.Body.Changes {
		if !applyChange(base, &p.Body.Changes[i]) {
			return spec.CodeBadConfig
		}
	}
	return 0
}

// validMemberSigs is GP2.
func (e *Exec) validMemberSigs(p *spec.ConfigProposal) bool {
	m := e.cfg.Members
	if e.cfg.Threshold < 1 || uint64(len(p.Sigs)) < e.cfg.Threshold || len(p.Sigs) > len(m) {
		return false
	}
	seen := map[uint64]bool{}
	for _, s := range p.Sigs {
		if s.Member >= uint64(len(m)) || seen[s.Member] {
			return false
		}
		seen[s.Member] = true
	}
	body := spec.Encode(&p.Body)
	for _, s := range p.Sigs {
		if !verifySig(m[s.Member], spec.DomainProposal, e.cd, body, s.Sig) {
			return false
		}
	}
	return true
}

// applyChange applies one change to base if it is well-formed for base: its op's
// condition holds and every field its op does not use is zero or empty.
func applyChange(base *spec.Config, c *spec.Change) bool {
	if !unusedZero(c) {
		return false
	}
	switch c.Op {
	case spec.ChangeAddClient:
		return addClient(base, c.Client)
	case spec.ChangeRemoveClient:
		i := slices.IndexFunc(base.Clients, func(cc spec.ClientConfig) bool { return cc.ID == c.Client.ID })
		if i < 0 {
			return false
		}
		base.Clients = slices.Delete(base.Clients, i, i+1)
	case spec.ChangeAddBuild:
		if buildIndex(base, &c.Build) >= 0 {
			return false
		}
		base.Builds = append(base.Builds, c.Build)
	case spec.ChangeRemoveBuild:
		i := buildIndex(base, &c.Build)
		if i < 0 {
			return false
		}
		base.Builds = slices.Delete(base.Builds, i, i+1)
	case spec.ChangeSetAddress:
		if c.Replica >= base.N || len(c.Address) < 1 || len(c.Address) > 256 {
			return false
		}
		base.Replicas[c.Replica].Address = bytes.Clone(c.Address)
	default:
		return applyMemberChange(base, c)
	}
	return true
}

// applyMemberChange applies add-member, remove-member and set-threshold.
func applyMemberChange(base *spec.Config, c *spec.Change) bool {
	i := slices.Index(base.Members, c.Key)
	switch c.Op {
	case spec.ChangeAddMember:
		if i >= 0 {
			return false
		}
		base.Members = append(base.Members, c.Key)
	case spec.ChangeRemoveMember:
		if i < 0 {
			return false
		}
		base.Members = slices.Delete(base.Members, i, i+1)
	case spec.ChangeSetThreshold:
		base.Threshold = c.Replica
	default:
		return false
	}
	return true
}

// addClient inserts cc in ID order unless its ID is registered; the candidate's
// validation checks its keys.
func addClient(base *spec.Config, cc spec.ClientConfig) bool {
	i, found := slices.BinarySearchFunc(base.Clients, cc.ID, func(a spec.ClientConfig, id uint64) int {
		switch {
		case a.ID < id:
			return -1
		case a.ID > id:
			return 1
		}
		return 0
	})
	if found {
		return false
	}
	base.Clients = slices.Insert(base.Clients, i, cc)
	return true
}

// buildIndex returns the index of the policy equal to p in base.Builds, or −1.
func buildIndex(base *spec.Config, p *spec.BuildPolicy) int {
	enc := spec.Encode(p)
	return slices.IndexFunc(base.Builds, func(b spec.BuildPolicy) bool { return bytes.Equal(spec.Encode(&b), enc) })
}

// unusedZero reports whether every field of c that its Op does not use is zero or
// empty (false for an unknown Op).
func unusedZero(c *spec.Change) bool {
	z := spec.Change{Op: c.Op}
	switch c.Op {
	case spec.ChangeAddClient:
		z.Client = c.Client
	case spec.ChangeRemoveClient:
		z.Client.ID = c.Client.ID
	case spec.ChangeAddBuild, spec.ChangeRemoveBuild:
		z.Build = c.Build
	case spec.ChangeSetAddress:
		z.Replica, z.Address = c.Replica, c.Address
	case spec.ChangeAddMember, spec.ChangeRemoveMember:
		z.Key = c.Key
	case spec.ChangeSetThreshold:
		z.Replica = c.Replica
	default:
		return false
	}
	return bytes.Equal(spec.Encode(&z), spec.Encode(c))
}
