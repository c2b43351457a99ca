package conformance

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/splitbft/splitbft/spec"
)

// This file holds the cases of SPEC.md §8.1: the input preamble A1–A4 and the
// configure rules F1–F4, for every role (F5 is exec's, in cases_exec_config.go).

// foreignKinds are, per role, kinds the role does not accept (§9.1, §10.1, §11.1).
var foreignKinds = map[spec.Role][]uint64{
	spec.RolePrep: {spec.KindPrepare, spec.KindCommit, spec.KindBatch, spec.KindSuspect, spec.KindStateChunk, spec.KindGroupKeyDeal, spec.KindStatus, 200},
	spec.RoleConf: {spec.KindProposal, spec.KindViewChange, spec.KindCommit, spec.KindClientBatch, spec.KindStateRequest, spec.KindGroupKeyDeal, spec.KindReject, 99},
	spec.RoleExec: {spec.KindProposal, spec.KindPrepare, spec.KindPrePrepare, spec.KindViewChange, spec.KindSuspect, spec.KindClientBatch, spec.KindRequest, spec.KindReply},
}

// ownKind is, per role, a normal-case kind the role accepts, with a valid body.
func (g *Gen) ownInput(r spec.Role) spec.Input {
	switch r {
	case spec.RolePrep:
		return inProposal(g.Proposal(0, 1, g.batchOf(0, 1)))
	case spec.RoleConf:
		return inPP(g.PrePrepare(0, 1, tag("batch")))
	}
	return inCommit(g.Commit(0, 1, tag("batch"), 0))
}

// bodyOf returns a plausible valid body for kind (used where only the kind matters).
func (g *Gen) bodyOf(kind uint64) []byte {
	switch kind {
	case spec.KindProposal:
		return spec.Encode(ptr(g.Proposal(0, 1, g.batchOf(0, 1))))
	case spec.KindPrepare:
		return spec.Encode(ptr(g.Prepare(0, 1, tag("batch"), 2)))
	case spec.KindPrePrepare:
		return spec.Encode(ptr(g.PrePrepare(0, 1, tag("batch"))))
	case spec.KindCommit:
		return spec.Encode(ptr(g.Commit(0, 1, tag("batch"), 2)))
	case spec.KindBatch, spec.KindClientBatch:
		return spec.Encode(ptr(g.batchOf(0, 1)))
	case spec.KindSuspect:
		return spec.Encode(&spec.Suspect{View: 0})
	case spec.KindViewChange:
		return spec.Encode(ptr(g.genesisVCs(1, 2)[0]))
	case spec.KindRequest:
		return spec.Encode(ptr(g.Request(0, 1, PutOp("k", "v"))))
	case spec.KindStateRequest:
		return spec.Encode(&spec.StateRequest{Seq: 4, State: tag("s"), Replica: 2})
	case spec.KindStateChunk:
		return spec.Encode(&spec.StateChunk{Seq: 4, State: tag("s"), Count: 1, Size: 1, Ciphertext: make([]byte, 17)})
	case spec.KindGroupKeyDeal:
		return spec.Encode(&spec.GroupKeyDeal{})
	case spec.KindStatus:
		return spec.Encode(&spec.Status{})
	case spec.KindReject:
		return spec.Encode(&spec.Rejection{})
	case spec.KindReply:
		return spec.Encode(&spec.Reply{})
	}
	return []byte{0x80}
}

func preambleCases(r spec.Role) []Case {
	var cs []Case
	for _, k := range foreignKinds[r] {
		k := k
		cs = append(cs, Case{Name: "A1-unknown-kind-" + spec.KindName(k), Rule: "A1", Replica: 1,
			Comment: fmt.Sprintf("kind %s (%d) is not accepted by %s", spec.KindName(k), k, spec.RoleName(r)),
			Build: func(g *Gen) {
				g.Final(raw(k, g.bodyOf(k)))
				g.Reject(spec.CodeUnknownKind)
			}})
	}
	cs = append(cs,
		Case{Name: "A1-unknown-kind-before-configure", Rule: "A1", Replica: 1, NoConfigure: true,
			Comment: "A1 precedes A2: a kind the role does not accept, before configure, is unknown-kind",
			Build: func(g *Gen) {
				k := foreignKinds[r][0]
				g.Final(raw(k, g.bodyOf(k)))
				g.Reject(spec.CodeUnknownKind)
			}},
		Case{Name: "A2-not-configured", Rule: "A2", Replica: 1, NoConfigure: true,
			Comment: "a valid normal-case input before configure",
			Build: func(g *Gen) {
				g.Final(g.ownInput(r))
				g.Reject(spec.CodeNotConfigured)
			}},
		Case{Name: "A2-not-configured-checkpoint", Rule: "A2", Replica: 1, NoConfigure: true,
			Comment: "a valid CHECKPOINT before configure",
			Build: func(g *Gen) {
				g.Final(inCP(g.Checkpoint(4, tag("s"), 0)))
				g.Reject(spec.CodeNotConfigured)
			}},
		Case{Name: "A2-not-configured-malformed", Rule: "A2", Replica: 1, NoConfigure: true,
			Comment: "A2 precedes A4: a malformed CHECKPOINT body before configure is not-configured",
			Build: func(g *Gen) {
				g.Final(raw(spec.KindCheckpoint, []byte{0x82, 0x00}))
				g.Reject(spec.CodeNotConfigured)
			}},
		Case{Name: "A3-configured-twice", Rule: "A3", Replica: 1,
			Comment: "the same configure a second time",
			Build: func(g *Gen) {
				g.Final(g.Configure())
				g.Reject(spec.CodeConfigured)
			}},
		Case{Name: "A3-configured-garbage", Rule: "A3", Replica: 1,
			Comment: "A3 precedes A4: a malformed configure body after configuration is configured",
			Build: func(g *Gen) {
				g.Final(raw(spec.KindConfigure, []byte{0xff}))
				g.Reject(spec.CodeConfigured)
			}},
		Case{Name: "A4-configure-malformed", Rule: "A4", Replica: 1, NoConfigure: true,
			Comment: "a configure body that is not a Configure (truncated array)",
			Build: func(g *Gen) {
				g.Final(raw(spec.KindConfigure, []byte{0x82, 0x40}))
				g.Reject(spec.CodeMalformed)
			}},
	)
	for _, m := range malformedCheckpoints() {
		m := m
		cs = append(cs, Case{Name: "A4-checkpoint-" + m.name, Rule: "A4", Replica: 1,
			Comment: "a CHECKPOINT body that fails §2.3: " + m.what,
			Build: func(g *Gen) {
				g.Final(raw(spec.KindCheckpoint, m.mutate(spec.Encode(ptr(g.Checkpoint(4, tag("s"), 0))))))
				g.Reject(spec.CodeMalformed)
			}})
	}
	return cs
}

type malformation struct {
	name, what string
	mutate     func(b []byte) []byte
}

// cat concatenates byte slices into a new slice.
func cat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// malformedCheckpoints mutates the encoding of Checkpoint{Body{Seq 4, State, Replica
// 0}, Sig}, which is 82 83 04 58 20 <32> 00 58 40 <64> (offsets: state at 5, replica
// at 37, signature header at 38, signature at 40).
func malformedCheckpoints() []malformation {
	return []malformation{
		{"truncated", "one byte short", func(b []byte) []byte { return b[:len(b)-1] }},
		{"trailing", "one trailing byte", func(b []byte) []byte { return cat(b, []byte{0x00}) }},
		{"empty", "no bytes at all", func(b []byte) []byte { return []byte{} }},
		{"non-shortest-uint", "Replica 0 encoded as 0x18 0x00", func(b []byte) []byte { return cat(b[:37], []byte{0x18, 0x00}, b[38:]) }},
		{"non-shortest-bytes-len", "State length encoded as 0x59 0x00 0x20", func(b []byte) []byte { return cat(b[:3], []byte{0x59, 0x00, 0x20}, b[5:]) }},
		{"non-shortest-array", "top-level array head 0x98 0x02", func(b []byte) []byte { return cat([]byte{0x98, 0x02}, b[1:]) }},
		{"indefinite-array", "top-level array of indefinite length", func(b []byte) []byte { return cat([]byte{0x9f}, b[1:], []byte{0xff}) }},
		{"indefinite-bytes", "signature as an indefinite-length byte string", func(b []byte) []byte {
			return cat(b[:38], []byte{0x5f, 0x58, 0x40}, b[40:], []byte{0xff})
		}},
		{"wrong-arity", "CheckpointBody with four elements", func(b []byte) []byte { return cat(b[:1], []byte{0x84}, b[2:38], []byte{0x00}, b[38:]) }},
		{"short-digest", "State of 31 bytes", func(b []byte) []byte { return cat(b[:3], []byte{0x58, 0x1f}, b[5:36], b[37:]) }},
		{"long-signature", "signature of 65 bytes", func(b []byte) []byte { return cat(b[:38], []byte{0x58, 0x41}, b[40:], []byte{0x00}) }},
		{"text-string", "State as a text string", func(b []byte) []byte { return cat(b[:3], []byte{0x78, 0x20}, b[5:]) }},
		{"bool-for-uint", "Seq as true", func(b []byte) []byte { return cat(b[:2], []byte{0xf5}, b[3:]) }},
		{"negative-int", "Replica as -1", func(b []byte) []byte { return cat(b[:37], []byte{0x20}, b[38:]) }},
		{"null-signature", "signature as null", func(b []byte) []byte { return cat(b[:38], []byte{0xf6}) }},
		{"tagged", "the document wrapped in tag 6", func(b []byte) []byte { return cat([]byte{0xc6}, b) }},
		{"map", "the body as a map", func(b []byte) []byte { return cat([]byte{0xa1}, b[1:]) }},
		{"over-cap", "1025 bytes, over the 1 KiB cap (a byte string)", func(b []byte) []byte { return cat([]byte{0x59, 0x03, 0xfe}, make([]byte, 1022)) }},
	}
}

func configureCases(r spec.Role) []Case {
	last := "F4"
	if r == spec.RoleExec {
		last = "G3"
	}
	cs := []Case{
		{Name: "F-configure-accept", Rule: last, Replica: 1, NoConfigure: true,
			Comment: "the fixture's valid configuration (with the exec share where needed) is accepted",
			Build: func(g *Gen) {
				g.Final(g.Configure())
				g.Accept()
			}},
		{Name: "F1-config-garbage", Rule: "F1", Replica: 1, NoConfigure: true,
			Comment: "Configure.Config is not a Config document",
			Build: func(g *Gen) {
				g.Final(In(spec.KindConfigure, &spec.Configure{Config: []byte{0x01, 0x02}, Share: g.ownShare}))
				g.Reject(spec.CodeBadConfig)
			}},
		{Name: "F1-config-trailing", Rule: "F1", Replica: 1, NoConfigure: true,
			Comment: "Configure.Config is a valid Config followed by one byte",
			Build: func(g *Gen) {
				g.Final(In(spec.KindConfigure, &spec.Configure{Config: cat(spec.Encode(g.Config), []byte{0}), Share: g.ownShare}))
				g.Reject(spec.CodeBadConfig)
			}},
		{Name: "F2-version-2", Rule: "F2", Replica: 1, NoConfigure: true,
			Comment: "a configuration of wire version 2 (§14)",
			Build: func(g *Gen) {
				g.Final(g.configureWith(func(c *spec.Config) { c.Version = 2 }))
				g.Reject(spec.CodeBadConfig)
			}},
		{Name: "F2-n-not-3f1", Rule: "F2", Replica: 1, NoConfigure: true,
			Comment: "a configuration with N = 5, F = 1",
			Build: func(g *Gen) {
				g.Final(g.configureWith(func(c *spec.Config) {
					c.N = 5
					c.Replicas = append(c.Replicas, c.Replicas[3])
					c.Replicas[4].ID = 4
				}))
				g.Reject(spec.CodeBadConfig)
			}},
		{Name: "F2-window-not-multiple", Rule: "F2", Replica: 1, NoConfigure: true,
			Comment: "a configuration with L = 18, not a multiple of K = 4",
			Build: func(g *Gen) {
				g.Final(g.configureWith(func(c *spec.Config) { c.Window = 18 }))
				g.Reject(spec.CodeBadConfig)
			}},
		{Name: "F2-dev-insecure-not-allowed", Rule: "F2", Replica: 1, NoConfigure: true,
			Comment: "dev-insecure evidence in a configuration with AllowDevInsecure false",
			Build: func(g *Gen) {
				g.Final(g.configureWith(func(c *spec.Config) { c.AllowDevInsecure = false }))
				g.Reject(spec.CodeBadConfig)
			}},
		{Name: "F2-small-order-client-key", Rule: "F2", Replica: 1, NoConfigure: true,
			Comment: "a client signing key that is the identity point (small order): refused by the key admission rule of §3.3",
			Build: func(g *Gen) {
				g.Final(g.configureWith(func(c *spec.Config) { c.Clients[1].SignKey = smallOrderKey }))
				g.Reject(spec.CodeBadConfig)
			}},
		{Name: "F2-non-canonical-enclave-key", Rule: "F2", Replica: 1, NoConfigure: true,
			Comment: "replica 3's conf key encoded non-canonically (y = p + 3; the point itself has large order): refused by §3.3",
			Build: func(g *Gen) {
				g.Final(g.configureWith(func(c *spec.Config) { c.Replicas[3].Conf.Body.SignKey = nonCanonicalKey }))
				g.Reject(spec.CodeBadConfig)
			}},
		{Name: "F2-duplicate-sign-key", Rule: "F2", Replica: 1, NoConfigure: true,
			Comment: "a client registered with replica 0's prep signing key (keys must be pairwise distinct)",
			Build: func(g *Gen) {
				g.Final(g.configureWith(func(c *spec.Config) { c.Clients[0].SignKey = c.Replicas[0].Prep.Body.SignKey }))
				g.Reject(spec.CodeBadConfig)
			}},
		{Name: "F3-other-sign-key", Rule: "F3", Replica: 1, NoConfigure: true,
			Comment: "the configuration enrolls another signing key for this enclave's (role, replica)",
			Build: func(g *Gen) {
				g.Final(g.configureWith(func(c *spec.Config) { c.Enrollment(r, 1).Body.SignKey = freshKey("f3") }))
				g.Reject(spec.CodeBadConfig)
			}},
		{Name: "F3-enrolled-in-other-slot", Rule: "F3", Replica: 1, NoConfigure: true,
			Comment: "this enclave's keys are enrolled at replica 2 and replica 2's at replica 1",
			Build: func(g *Gen) {
				g.Final(g.configureWith(func(c *spec.Config) {
					a, b := c.Enrollment(r, 1), c.Enrollment(r, 2)
					a.Body.SignKey, b.Body.SignKey = b.Body.SignKey, a.Body.SignKey
					a.Body.BoxKey, b.Body.BoxKey = b.Body.BoxKey, a.Body.BoxKey
				}))
				g.Reject(spec.CodeBadConfig)
			}},
		{Name: "F3-build-not-compared", Rule: "F3", Replica: 1, NoConfigure: true,
			Comment: "F3 does not compare Build: this enclave enrolled under another (accepted) build name is configured",
			Build: func(g *Gen) {
				g.Final(g.configureWith(func(c *spec.Config) {
					name := []byte(spec.RoleName(r) + "-other")
					c.Enrollment(r, 1).Body.Build = name
					c.Builds = append(c.Builds, spec.BuildPolicy{Role: r, Build: name})
					slices.SortStableFunc(c.Builds, func(a, b spec.BuildPolicy) int { return cmp.Compare(a.Role, b.Role) })
				}))
				g.Accept()
			}},
	}
	if r == spec.RoleExec {
		cs = append(cs, Case{Name: "F3-other-box-key", Rule: "F3", Replica: 1, NoConfigure: true,
			Comment: "the configuration enrolls another X25519 box key for this exec",
			Build: func(g *Gen) {
				g.Final(g.configureWith(func(c *spec.Config) { c.Replicas[1].Exec.Body.BoxKey = freshKey("f3-box") }))
				g.Reject(spec.CodeBadConfig)
			}})
		return cs
	}
	cs = append(cs, Case{Name: "F4-share-present", Rule: "F4", Replica: 1, NoConfigure: true,
		Comment: "prep and conf take no group key share",
		Build: func(g *Gen) {
			share := spec.GroupKeyShare{Dealer: g.Config.Replicas[2].Exec.Body.BoxKey, Recipient: g.Config.Replicas[1].Exec.Body.BoxKey,
				GroupKey: g.Config.ExecGroupKey, Sealed: make([]byte, 48)}
			g.Final(g.configureShares(share))
			g.Reject(spec.CodeBadConfig)
		}})
	return cs
}
