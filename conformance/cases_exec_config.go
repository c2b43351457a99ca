package conformance

import (
	"crypto/sha256"

	"github.com/splitbft/splitbft/spec"
)

// This file holds exec's configure share rules (SPEC.md §11.2, G1–G3 = F5), its
// group-key-deal checks, and its new-view cases (§11.6).

// shareFrom wraps the group private key gpriv for recipient as the exec whose box
// private key is dealerPriv would (§11.2), claiming group key claimed.
func (g *Gen) shareFrom(dealerPriv []byte, recipient spec.PublicKey, gpriv []byte, claimed spec.PublicKey) spec.GroupKeyShare {
	dpub := x25519Base(dealerPriv)
	shared, err := x25519(dealerPriv, recipient)
	if err != nil {
		panic(err)
	}
	key := hkdf32(shared, nil, []byte(spec.LabelGroupWrap), dpub[:], recipient[:], claimed[:])
	n := g.nonce()
	ad := append([]byte(spec.LabelGroupWrapAD), claimed[:]...)
	return spec.GroupKeyShare{Dealer: dpub, Recipient: recipient, GroupKey: claimed, Nonce: n, Sealed: seal(key, n, gpriv, ad)}
}

// ownBox is the box key of the exec under test.
func (g *Gen) ownBox() spec.PublicKey { return x25519Base(g.execBox[g.ID]) }

// lowOrderX25519 is the X25519 public key u = 1, of small order: every X25519 with it
// is all zeros, which §12.1 makes an error.
var lowOrderX25519 = spec.PublicKey{0x01}

func execConfigCases() []Case {
	cs := []Case{
		{Name: "G-accept-self-dealt", Rule: "G3", Replica: 1, NoConfigure: true,
			Comment: "a share dealt by this exec's own box key (Dealer = Recipient) opens and is accepted",
			Build: func(g *Gen) {
				g.Final(g.configureShares(g.shareFrom(g.execBox[1], g.ownBox(), g.group, g.Config.ExecGroupKey)))
				g.Accept()
			}},
		{Name: "G-accept-dealer-0", Rule: "G3", Replica: 1, NoConfigure: true,
			Comment: "a share dealt by exec 0 is accepted",
			Build: func(g *Gen) {
				g.Final(g.configureShares(g.shareFrom(g.execBox[0], g.ownBox(), g.group, g.Config.ExecGroupKey)))
				g.Accept()
			}},
		{Name: "F5-empty-sealed", Rule: "F5", Replica: 1, NoConfigure: true,
			Comment: "a valid configuration whose share has an empty Sealed field: F5 applies §11.2's share rules (bad-share, not bad-config)",
			Build: func(g *Gen) {
				s := g.ownShare[0]
				s.Sealed = nil
				g.Final(g.configureShares(s))
				g.Reject(spec.CodeBadShare)
			}},
		{Name: "G1-no-share", Rule: "G1", Replica: 1, NoConfigure: true,
			Comment: "an exec configure without a share",
			Build: func(g *Gen) {
				g.Final(g.configureShares())
				g.Reject(spec.CodeBadShare)
			}},
		{Name: "G1-two-shares", Rule: "G1", Replica: 1, NoConfigure: true,
			Comment: "an exec configure with two (valid) shares",
			Build: func(g *Gen) {
				g.Final(g.configureShares(g.ownShare[0], g.shareFrom(g.execBox[0], g.ownBox(), g.group, g.Config.ExecGroupKey)))
				g.Reject(spec.CodeBadShare)
			}},
		{Name: "G1-other-recipient", Rule: "G1", Replica: 1, NoConfigure: true,
			Comment: "exec 2's share delivered to exec 1",
			Build: func(g *Gen) {
				g.Final(g.configureShares(g.wrapGroupKey(2)))
				g.Reject(spec.CodeBadShare)
			}},
		{Name: "G1-other-group-key", Rule: "G1", Replica: 1, NoConfigure: true,
			Comment: "a share of another group key pair (consistent in itself) whose GroupKey is not cfg.ExecGroupKey",
			Build: func(g *Gen) {
				other := sha256.Sum256([]byte("conformance/other-group"))
				g.Final(g.configureShares(g.shareFrom(g.execBox[2], g.ownBox(), other[:], x25519Base(other[:]))))
				g.Reject(spec.CodeBadShare)
			}},
		{Name: "G1-before-F", Rule: "F2", Replica: 1, NoConfigure: true,
			Comment: "F1–F4 precede F5: a version-2 configuration without a share is bad-config",
			Build: func(g *Gen) {
				g.Final(In(spec.KindConfigure, &spec.Configure{Config: g.configWith(func(c *spec.Config) { c.Version = 2 })}))
				g.Reject(spec.CodeBadConfig)
			}},
		{Name: "G2-client-dealer", Rule: "G2", Replica: 1, NoConfigure: true,
			Comment: "a share dealt (correctly wrapped) by client 100's box key, which is not an exec's",
			Build: func(g *Gen) {
				g.Final(g.configureShares(g.shareFrom(g.clients[0].BoxPriv, g.ownBox(), g.group, g.Config.ExecGroupKey)))
				g.Reject(spec.CodeBadShare)
			}},
		{Name: "G2-group-dealer", Rule: "G2", Replica: 1, NoConfigure: true,
			Comment: "a share dealt (correctly wrapped) with the group key pair itself as dealer",
			Build: func(g *Gen) {
				g.Final(g.configureShares(g.shareFrom(g.group, g.ownBox(), g.group, g.Config.ExecGroupKey)))
				g.Reject(spec.CodeBadShare)
			}},
		{Name: "G3-tampered", Rule: "G3", Replica: 1, NoConfigure: true,
			Comment: "the fixture's share with one bit of the sealed key changed",
			Build: func(g *Gen) {
				s := g.ownShare[0]
				s.Sealed = append([]byte{}, s.Sealed...)
				s.Sealed[3] ^= 0x10
				g.Final(g.configureShares(s))
				g.Reject(spec.CodeBadShare)
			}},
		{Name: "G3-dealer-field", Rule: "G3", Replica: 1, NoConfigure: true,
			Comment: "a share wrapped by exec 2 whose Dealer field names exec 3: the wrap key differs, it does not open",
			Build: func(g *Gen) {
				s := g.ownShare[0]
				s.Dealer = x25519Base(g.execBox[3])
				g.Final(g.configureShares(s))
				g.Reject(spec.CodeBadShare)
			}},
		{Name: "G3-wrong-ad", Rule: "G3", Replica: 1, NoConfigure: true,
			Comment: "a share sealed with the associated data lacking G",
			Build: func(g *Gen) {
				G := g.Config.ExecGroupKey
				dealer := g.execBox[2]
				dpub, rpub := x25519Base(dealer), g.ownBox()
				shared, _ := x25519(dealer, rpub)
				key := hkdf32(shared, nil, []byte(spec.LabelGroupWrap), dpub[:], rpub[:], G[:])
				n := g.nonce()
				s := spec.GroupKeyShare{Dealer: dpub, Recipient: rpub, GroupKey: G, Nonce: n, Sealed: seal(key, n, g.group, []byte(spec.LabelGroupWrapAD))}
				g.Final(g.configureShares(s))
				g.Reject(spec.CodeBadShare)
			}},
		{Name: "G3-wrong-private-key", Rule: "G3", Replica: 1, NoConfigure: true,
			Comment: "a share that opens to a 32-byte key g' with X25519(g', basepoint) != GroupKey",
			Build: func(g *Gen) {
				other := sha256.Sum256([]byte("conformance/other-group"))
				g.Final(g.configureShares(g.shareFrom(g.execBox[2], g.ownBox(), other[:], g.Config.ExecGroupKey)))
				g.Reject(spec.CodeBadShare)
			}},
		{Name: "G3-short-key", Rule: "G3", Replica: 1, NoConfigure: true,
			Comment: "a share that opens to 31 bytes",
			Build: func(g *Gen) {
				g.Final(g.configureShares(g.shareFrom(g.execBox[2], g.ownBox(), g.group[:31], g.Config.ExecGroupKey)))
				g.Reject(spec.CodeBadShare)
			}},
		{Name: "G3-low-order-dealer", Rule: "G3", Replica: 1, NoConfigure: true,
			Comment: "exec 3 is enrolled with the low-order box key u = 1 (valid per §6.2); a share naming it as dealer cannot open (all-zero X25519, §12.1)",
			Build: func(g *Gen) {
				cfg := g.configWith(func(c *spec.Config) { c.Replicas[3].Exec.Body.BoxKey = lowOrderX25519 })
				s := g.ownShare[0]
				s.Dealer = lowOrderX25519
				g.Final(In(spec.KindConfigure, &spec.Configure{Config: cfg, Share: []spec.GroupKeyShare{s}}))
				g.Reject(spec.CodeBadShare)
			}},
		{Name: "A3-group-key-deal-configured", Rule: "A3", Replica: 1,
			Comment: "a group-key-deal after configuration",
			Build: func(g *Gen) {
				g.Final(In(spec.KindGroupKeyDeal, &spec.GroupKeyDeal{Execs: g.execBodies()}))
				g.Reject(spec.CodeConfigured)
			}},
	}
	deal := func(name, what string, mod func(g *Gen, bs []spec.EnrollmentBody) []spec.EnrollmentBody) Case {
		return Case{Name: "GKD-" + name, Rule: "GKD", Replica: 1, NoConfigure: true,
			Comment: "group-key-deal (§11.2) before configure is refused with bad-config: " + what,
			Build: func(g *Gen) {
				g.Final(In(spec.KindGroupKeyDeal, &spec.GroupKeyDeal{Execs: mod(g, g.execBodies())}))
				g.Reject(spec.CodeBadConfig)
			}}
	}
	cs = append(cs,
		Case{Name: "GKD-accept", Rule: "A2", Replica: 1, NoConfigure: true,
			Comment: "group-key-deal before configure listing the four exec enrollments (this exec's with the fixture build name: like F3, the deal's own-enrollment check is read as not comparing Build) emits the shares",
			Build: func(g *Gen) {
				g.Final(In(spec.KindGroupKeyDeal, &spec.GroupKeyDeal{Execs: g.execBodies()}))
				g.Accept(spec.KindGroupKeyShares)
			}},
		Case{Name: "GKD-then-configure", Rule: "G3", Replica: 1, NoConfigure: true,
			Comment: "after dealing its own group key, the exec is configured with the fixture's share of cfg.ExecGroupKey (the configure share, not the dealt key, is the group key)",
			Build: func(g *Gen) {
				g.Setup(In(spec.KindGroupKeyDeal, &spec.GroupKeyDeal{Execs: g.execBodies()}))
				g.Final(g.Configure())
				g.Accept()
			}},
		deal("own-missing", "the exec's own enrollment is not listed", func(g *Gen, bs []spec.EnrollmentBody) []spec.EnrollmentBody {
			return append(bs[:1:1], bs[2:]...)
		}),
		deal("prep-entry", "an entry has Role prep (with a box key)", func(g *Gen, bs []spec.EnrollmentBody) []spec.EnrollmentBody {
			bs[3].Role = spec.RolePrep
			return bs
		}),
		deal("zero-box-key", "an entry has a zero box key", func(g *Gen, bs []spec.EnrollmentBody) []spec.EnrollmentBody {
			bs[2].BoxKey = spec.PublicKey{}
			return bs
		}),
		deal("repeated-box-key", "two entries have the same box key", func(g *Gen, bs []spec.EnrollmentBody) []spec.EnrollmentBody {
			bs[3].BoxKey = bs[2].BoxKey
			return bs
		}),
		deal("empty", "no entry at all", func(g *Gen, bs []spec.EnrollmentBody) []spec.EnrollmentBody {
			return nil
		}),
	)
	return cs
}

// execBodies are the exec enrollment bodies of the fixture configuration, in replica
// order (the exec under test's with the fixture build name).
func (g *Gen) execBodies() []spec.EnrollmentBody {
	var bs []spec.EnrollmentBody
	for i := range g.Config.Replicas {
		bs = append(bs, g.Config.Replicas[i].Exec.Body)
	}
	return bs
}

func execNewViewCases() []Case {
	var cs []Case
	for _, b := range badNVs() {
		b := b
		cs = append(cs, Case{Name: nRule(b.rule) + "-" + b.rule + "-" + b.name, Rule: nRule(b.rule), Replica: 2,
			Comment: "exec 2 in view 0 gets a NEW-VIEW for view 1 that fails " + b.rule + ": " + b.what,
			Build: func(g *Gen) {
				g.Final(inNV(b.make(g)))
				g.Reject(b.code)
			}})
	}
	cs = append(cs, []Case{
		{Name: "N-accept", Rule: "N4", Replica: 2,
			Comment: "a valid NEW-VIEW for view 1",
			Build: func(g *Gen) {
				g.Final(inNV(g.NewView(1, g.genesisVCs(1, 0, 2, 3))))
				g.Accept()
			}},
		{Name: "N-accept-no-recompute", Rule: "N4", Replica: 2,
			Comment: "exec does not recompute O: [1: null] although the view-changes prepared nothing",
			Build: func(g *Gen) {
				g.Final(inNV(g.nvO(1, g.genesisVCs(1, 0, 2, 3), []spec.Slot{{View: 1, Seq: 1, Digest: spec.NullBatchDigest(), Replica: 1}})))
				g.Accept()
			}},
		{Name: "N3-current-view", Rule: "N3", Replica: 2,
			Comment: "a NEW-VIEW for view 0 at an exec in view 0 is stale",
			Build: func(g *Gen) {
				g.Final(inNV(g.NewView(0, g.genesisVCs(0, 1, 2, 3))))
				g.Reject(spec.CodeStale)
			}},
		{Name: "N3-repeat", Rule: "N3", Replica: 2,
			Comment: "the NEW-VIEW for view 1 twice",
			Build: func(g *Gen) {
				nv := g.NewView(1, g.genesisVCs(1, 0, 2, 3))
				g.Setup(inNV(nv))
				g.Final(inNV(nv))
				g.Reject(spec.CodeStale)
			}},
		{Name: "N3-skip-accept", Rule: "N3", Replica: 2,
			Comment: "the NEW-VIEW for view 2 after the one for view 1",
			Build: func(g *Gen) {
				g.Setup(inNV(g.NewView(1, g.genesisVCs(1, 0, 2, 3))))
				g.Final(inNV(g.NewView(2, g.genesisVCs(2, 0, 1, 3))))
				g.Accept()
			}},
		{Name: "N-adopts-checkpoint", Rule: "E5", Replica: 2,
			Comment: "the NEW-VIEW's best view-change carries stable checkpoint 4: exec adopts it, a commit for seq 4 is stale",
			Build: func(g *Gen) {
				g.Setup(inNV(g.NewView(1, g.vcsWith(0, g.ViewChange(1, 0, g.CheckpointCert(4, tag("state-a"), 0, 2, 3))))))
				g.Final(inCommit(g.Commit(1, 4, tag("batch-a"), 0)))
				g.Reject(spec.CodeStale)
			}},
	}...)
	return cs
}
