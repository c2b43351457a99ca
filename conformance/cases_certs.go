package conformance

import "github.com/splitbft/splitbft/spec"

// This file builds the invalid certificates of SPEC.md §5.1 (K1–K5, C1–C6, V1–V6)
// and the invalid NEW-VIEWs of §8.6 (NV1–NV7). The same lists are delivered to prep
// as VIEW-CHANGEs (§9.6) and NEW-VIEWs (§9.7), and to conf and exec as NEW-VIEWs.

// vcCase is a VIEW-CHANGE to view w from conf r (signed correctly) whose content
// breaks one line of §5.1.
type vcCase struct {
	rule, name, what string
	make             func(g *Gen, w, r uint64) spec.ViewChange
}

// preparedFrom is a prepared certificate for (v, n, d) with the primary's header and
// the PREPAREs of the given replicas, all signed correctly.
func (g *Gen) preparedFrom(v, n uint64, d spec.Digest, replicas ...uint64) spec.PreparedCert {
	pc := spec.PreparedCert{Header: g.PrePrepare(v, n, d)}
	for _, r := range replicas {
		pc.Prepares = append(pc.Prepares, g.prepareAs(spec.Slot{View: v, Seq: n, Digest: d, Replica: r}, spec.RolePrep, r, spec.DomainPrepare))
	}
	return pc
}

// genesis is the genesis checkpoint certificate.
func (g *Gen) genesis() spec.CheckpointCert { return g.CheckpointCert(0, spec.Digest{}) }

func stableVC(f func(g *Gen) spec.CheckpointCert) func(g *Gen, w, r uint64) spec.ViewChange {
	return func(g *Gen, w, r uint64) spec.ViewChange { return g.ViewChange(w, r, f(g)) }
}

func preparedVC(f func(g *Gen, w uint64) []spec.PreparedCert) func(g *Gen, w, r uint64) spec.ViewChange {
	return func(g *Gen, w, r uint64) spec.ViewChange { return g.ViewChange(w, r, g.genesis(), f(g, w)...) }
}

// onePC wraps a function building one prepared certificate for view 0.
func onePC(f func(g *Gen) spec.PreparedCert) func(g *Gen, w uint64) []spec.PreparedCert {
	return func(g *Gen, w uint64) []spec.PreparedCert { return []spec.PreparedCert{f(g)} }
}

// badVCs lists VIEW-CHANGEs that are signed correctly but invalid by §5.1 V3–V6.
// Prepared certificates are of view 0 (primary 0) unless said otherwise.
func badVCs() []vcCase {
	s, s2 := tag("state-a"), tag("state-b")
	d, d2 := tag("batch-a"), tag("batch-b")
	return []vcCase{
		{"K1", "genesis-state", "a Seq-0 certificate with a non-zero State", stableVC(func(g *Gen) spec.CheckpointCert {
			return spec.CheckpointCert{Seq: 0, State: s}
		})},
		{"K1", "genesis-proof", "a Seq-0 certificate with one proof checkpoint", stableVC(func(g *Gen) spec.CheckpointCert {
			return spec.CheckpointCert{Seq: 0, Proof: []spec.Checkpoint{g.Checkpoint(0, spec.Digest{}, 0)}}
		})},
		{"K2", "not-multiple", "a checkpoint certificate for Seq 6 (K = 4) with 3 matching proofs", stableVC(func(g *Gen) spec.CheckpointCert {
			return g.CheckpointCert(6, s, 0, 1, 2)
		})},
		{"K2", "short-proof", "a checkpoint certificate with 2 proofs (q = 3)", stableVC(func(g *Gen) spec.CheckpointCert {
			return g.CheckpointCert(4, s, 0, 1)
		})},
		{"K2", "long-proof", "a checkpoint certificate with 4 proofs (exactly q required)", stableVC(func(g *Gen) spec.CheckpointCert {
			return g.CheckpointCert(4, s, 0, 1, 2, 3)
		})},
		{"K2", "no-proof", "a checkpoint certificate for Seq 4 with no proof", stableVC(func(g *Gen) spec.CheckpointCert {
			return spec.CheckpointCert{Seq: 4, State: s}
		})},
		{"K3", "unsorted", "proof replicas 0, 2, 1", stableVC(func(g *Gen) spec.CheckpointCert {
			return g.CheckpointCert(4, s, 0, 2, 1)
		})},
		{"K3", "repeated", "proof replicas 0, 0, 1", stableVC(func(g *Gen) spec.CheckpointCert {
			return g.CheckpointCert(4, s, 0, 0, 1)
		})},
		{"K3", "out-of-range", "proof replicas 0, 1, 4 (n = 4)", stableVC(func(g *Gen) spec.CheckpointCert {
			c := g.CheckpointCert(4, s, 0, 1)
			c.Proof = append(c.Proof, g.cpSigned(spec.CheckpointBody{Seq: 4, State: s, Replica: 4}, 2))
			return c
		})},
		{"K4", "seq", "proof checkpoint 1 is for Seq 8, the certificate for Seq 4", stableVC(func(g *Gen) spec.CheckpointCert {
			c := g.CheckpointCert(4, s, 0, 1, 2)
			c.Proof[1] = g.Checkpoint(8, s, 1)
			return c
		})},
		{"K4", "state", "proof checkpoint 2 names another state", stableVC(func(g *Gen) spec.CheckpointCert {
			c := g.CheckpointCert(4, s, 0, 1, 2)
			c.Proof[2] = g.Checkpoint(4, s2, 2)
			return c
		})},
		{"K5", "flipped", "proof checkpoint 0 has a corrupted signature", stableVC(func(g *Gen) spec.CheckpointCert {
			c := g.CheckpointCert(4, s, 0, 1, 2)
			c.Proof[0].Sig = flip(c.Proof[0].Sig)
			return c
		})},
		{"K5", "conf-key", "proof checkpoint 1 is signed by replica 1's conf key", stableVC(func(g *Gen) spec.CheckpointCert {
			c := g.CheckpointCert(4, s, 0, 1, 2)
			c.Proof[1].Sig = g.Sign(spec.RoleConf, 1, spec.DomainCheckpoint, &c.Proof[1].Body)
			return c
		})},
		{"V3", "invalid-stable", "the Stable certificate is invalid (Seq 8 signed by 2 execs)", stableVC(func(g *Gen) spec.CheckpointCert {
			return g.CheckpointCert(8, s, 1, 3)
		})},
		{"V4", "too-many", "17 prepared certificates (L = 16)", preparedVC(func(g *Gen, w uint64) []spec.PreparedCert {
			var pcs []spec.PreparedCert
			for n := uint64(1); n <= 17; n++ {
				pcs = append(pcs, g.PreparedCert(0, n, d))
			}
			return pcs
		})},
		{"V4", "unsorted", "prepared certificates for Seq 2 then Seq 1", preparedVC(func(g *Gen, w uint64) []spec.PreparedCert {
			return []spec.PreparedCert{g.PreparedCert(0, 2, d), g.PreparedCert(0, 1, d)}
		})},
		{"V4", "repeated", "two prepared certificates for Seq 1", preparedVC(func(g *Gen, w uint64) []spec.PreparedCert {
			return []spec.PreparedCert{g.PreparedCert(0, 1, d), g.PreparedCert(0, 1, d2)}
		})},
		{"V5", "seq-zero", "a prepared certificate for Seq 0 (not above Stable.Seq)", preparedVC(func(g *Gen, w uint64) []spec.PreparedCert {
			return []spec.PreparedCert{g.PreparedCert(0, 0, d)}
		})},
		{"V5", "beyond-window", "a prepared certificate for Seq 17 > Stable.Seq + L", preparedVC(func(g *Gen, w uint64) []spec.PreparedCert {
			return []spec.PreparedCert{g.PreparedCert(0, 17, d)}
		})},
		{"V5", "at-stable", "Stable is (4, S) and a prepared certificate is for Seq 4", func(g *Gen, w, r uint64) spec.ViewChange {
			return g.ViewChange(w, r, g.CheckpointCert(4, s, 0, 1, 2), g.PreparedCert(0, 4, d))
		}},
		{"V5", "view-not-lower", "a prepared certificate of the view-change's own view", preparedVC(func(g *Gen, w uint64) []spec.PreparedCert {
			return []spec.PreparedCert{g.PreparedCert(w, 1, d)}
		})},
		{"V6", "invalid-prepared", "the prepared certificate's header is signed by prep 2 for primary 0", preparedVC(onePC(func(g *Gen) spec.PreparedCert {
			pc := g.PreparedCert(0, 1, d)
			pc.Header.Sig = g.Sign(spec.RolePrep, 2, spec.DomainPrePrepare, &pc.Header.Body)
			return pc
		}))},
		{"C1", "header-not-primary", "the header names replica 1 in view 0 (signed by prep 1)", preparedVC(onePC(func(g *Gen) spec.PreparedCert {
			hs := spec.Slot{View: 0, Seq: 1, Digest: d, Replica: 1}
			pc := spec.PreparedCert{Header: g.ppAs(hs, 1, spec.DomainPrePrepare)}
			for _, r := range []uint64{2, 3} {
				pc.Prepares = append(pc.Prepares, g.Prepare(0, 1, d, r))
			}
			return pc
		}))},
		{"C2", "header-flipped", "the header's signature is corrupted", preparedVC(onePC(func(g *Gen) spec.PreparedCert {
			pc := g.PreparedCert(0, 1, d)
			pc.Header.Sig = flip(pc.Header.Sig)
			return pc
		}))},
		{"C2", "header-prepare-domain", "the header is signed by the primary under the prepare domain", preparedVC(onePC(func(g *Gen) spec.PreparedCert {
			pc := g.PreparedCert(0, 1, d)
			pc.Header.Sig = g.Sign(spec.RolePrep, 0, spec.DomainPrepare, &pc.Header.Body)
			return pc
		}))},
		{"C3", "one-prepare", "one PREPARE (2f = 2 required)", preparedVC(onePC(func(g *Gen) spec.PreparedCert {
			return g.preparedFrom(0, 1, d, 1)
		}))},
		{"C3", "three-prepares", "three PREPAREs (exactly 2f required)", preparedVC(onePC(func(g *Gen) spec.PreparedCert {
			return g.preparedFrom(0, 1, d, 1, 2, 3)
		}))},
		{"C4", "unsorted", "PREPAREs from replicas 2, 1", preparedVC(onePC(func(g *Gen) spec.PreparedCert {
			return g.preparedFrom(0, 1, d, 2, 1)
		}))},
		{"C4", "repeated", "PREPAREs from replicas 1, 1", preparedVC(onePC(func(g *Gen) spec.PreparedCert {
			return g.preparedFrom(0, 1, d, 1, 1)
		}))},
		{"C4", "from-primary", "PREPAREs from replicas 0 (the header's replica), 1", preparedVC(onePC(func(g *Gen) spec.PreparedCert {
			return g.preparedFrom(0, 1, d, 0, 1)
		}))},
		{"C4", "out-of-range", "PREPAREs from replicas 1, 4 (n = 4)", preparedVC(onePC(func(g *Gen) spec.PreparedCert {
			return g.preparedFrom(0, 1, d, 1, 4)
		}))},
		{"C5", "digest", "PREPARE 1 is for another digest", preparedVC(onePC(func(g *Gen) spec.PreparedCert {
			pc := g.PreparedCert(0, 1, d)
			pc.Prepares[1] = g.Prepare(0, 1, d2, pc.Prepares[1].Body.Replica)
			return pc
		}))},
		{"C5", "seq", "PREPARE 0 is for Seq 2", preparedVC(onePC(func(g *Gen) spec.PreparedCert {
			pc := g.PreparedCert(0, 1, d)
			pc.Prepares[0] = g.Prepare(0, 2, d, pc.Prepares[0].Body.Replica)
			return pc
		}))},
		{"C5", "view", "PREPARE 0 is for view 1 (header view 0)", preparedVC(onePC(func(g *Gen) spec.PreparedCert {
			pc := g.PreparedCert(0, 1, d)
			pc.Prepares[0] = g.Prepare(1, 1, d, pc.Prepares[0].Body.Replica)
			return pc
		}))},
		{"C6", "flipped", "PREPARE 1's signature is corrupted", preparedVC(onePC(func(g *Gen) spec.PreparedCert {
			pc := g.PreparedCert(0, 1, d)
			pc.Prepares[1].Sig = flip(pc.Prepares[1].Sig)
			return pc
		}))},
		{"C6", "pre-prepare-domain", "PREPARE 0 is signed under the pre-prepare domain", preparedVC(onePC(func(g *Gen) spec.PreparedCert {
			pc := g.PreparedCert(0, 1, d)
			p := &pc.Prepares[0]
			p.Sig = g.Sign(spec.RolePrep, p.Body.Replica, spec.DomainPrePrepare, &p.Body)
			return pc
		}))},
		{"C6", "conf-key", "PREPARE 1 is signed by the conf of its replica", preparedVC(onePC(func(g *Gen) spec.PreparedCert {
			pc := g.PreparedCert(0, 1, d)
			p := &pc.Prepares[1]
			p.Sig = g.Sign(spec.RoleConf, p.Body.Replica, spec.DomainPrepare, &p.Body)
			return pc
		}))},
	}
}

// goodVCs lists VIEW-CHANGEs that are valid although they are not built the usual way.
func goodVCs() []vcCase {
	s, d := tag("state-a"), tag("batch-a")
	return []vcCase{
		{"K5", "cert-high-replicas", "a checkpoint certificate signed by execs 1, 2, 3 (not the lowest ids) is valid", stableVC(func(g *Gen) spec.CheckpointCert {
			return g.CheckpointCert(4, s, 1, 2, 3)
		})},
		{"C6", "prepares-high-replicas", "a prepared certificate with PREPAREs from 2, 3 (not the lowest ids) is valid", preparedVC(onePC(func(g *Gen) spec.PreparedCert {
			return g.preparedFrom(0, 1, d, 2, 3)
		}))},
		{"V5", "window-edges", "Stable (4, S) with prepared certificates for Seq 5 and Seq 20 = 4 + L", func(g *Gen, w, r uint64) spec.ViewChange {
			return g.ViewChange(w, r, g.CheckpointCert(4, s, 0, 1, 2), g.PreparedCert(0, 5, d), g.PreparedCert(0, 20, d))
		}},
		{"V6", "two-views", "prepared certificates of views 0 and 1 in a view-change to view 2", func(g *Gen, w, r uint64) spec.ViewChange {
			return g.ViewChange(w, r, g.genesis(), g.PreparedCert(0, 1, d), g.PreparedCert(w-1, 2, d))
		}},
	}
}

// nvCase is a NEW-VIEW for view 1 (primary 1) that breaks one line of §8.6, and the
// code every role gives it.
type nvCase struct {
	rule, name, what string
	code             uint64
	make             func(g *Gen) spec.NewView
}

// vcsWith returns genesis VIEW-CHANGEs to view 1 from replicas 0, 2, 3 with vc in
// position i.
func (g *Gen) vcsWith(i int, vc spec.ViewChange) []spec.ViewChange {
	vcs := g.genesisVCs(1, 0, 2, 3)
	vcs[i] = vc
	return vcs
}

// badNVs lists invalid NEW-VIEWs for view 1.
func badNVs() []nvCase {
	d := tag("batch-a")
	null := spec.NullBatchDigest()
	o := func(n uint64, dg spec.Digest) spec.Slot { return spec.Slot{View: 1, Seq: n, Digest: dg, Replica: 1} }
	cs := []nvCase{
		{"NV1", "replica-n", "NEW-VIEW naming replica 4", spec.CodeUnknownSender, func(g *Gen) spec.NewView {
			return g.nvWith(1, 4, g.genesisVCs(1, 0, 2, 3), nil, 0)
		}},
		{"NV2", "not-primary", "NEW-VIEW for view 1 from prep 2", spec.CodeNotPrimary, func(g *Gen) spec.NewView {
			return g.nvWith(1, 2, g.genesisVCs(1, 0, 2, 3), nil, 2)
		}},
		{"NV2", "old-primary", "NEW-VIEW for view 1 from prep 0 (primary of view 0)", spec.CodeNotPrimary, func(g *Gen) spec.NewView {
			return g.nvWith(1, 0, g.genesisVCs(1, 0, 2, 3), nil, 0)
		}},
		{"NV3", "flipped", "NEW-VIEW with a corrupted signature", spec.CodeBadSignature, func(g *Gen) spec.NewView {
			nv := g.NewView(1, g.genesisVCs(1, 0, 2, 3))
			nv.Sig = flip(nv.Sig)
			return nv
		}},
		{"NV3", "conf-key", "NEW-VIEW signed by conf 1 instead of prep 1", spec.CodeBadSignature, func(g *Gen) spec.NewView {
			nv := g.NewView(1, g.genesisVCs(1, 0, 2, 3))
			nv.Sig = g.Sign(spec.RoleConf, 1, spec.DomainNewView, &nv.Body)
			return nv
		}},
		{"NV3", "view-change-domain", "NEW-VIEW body signed by prep 1 under the view-change domain", spec.CodeBadSignature, func(g *Gen) spec.NewView {
			nv := g.NewView(1, g.genesisVCs(1, 0, 2, 3))
			nv.Sig = g.Sign(spec.RolePrep, 1, spec.DomainViewChange, &nv.Body)
			return nv
		}},
		{"NV3", "before-NV4", "NV3 precedes NV4: a badly signed NEW-VIEW with 2 view-changes", spec.CodeBadSignature, func(g *Gen) spec.NewView {
			nv := g.NewView(1, g.genesisVCs(1, 0, 2))
			nv.Sig = flip(nv.Sig)
			return nv
		}},
		{"NV4", "two-vcs", "NEW-VIEW with 2 view-changes (q = 3)", spec.CodeBadCertificate, func(g *Gen) spec.NewView {
			return g.NewView(1, g.genesisVCs(1, 0, 2))
		}},
		{"NV4", "four-vcs", "NEW-VIEW with 4 view-changes (exactly q required)", spec.CodeBadCertificate, func(g *Gen) spec.NewView {
			return g.NewView(1, g.genesisVCs(1, 0, 1, 2, 3))
		}},
		{"NV4", "unsorted", "view-changes from replicas 0, 3, 2", spec.CodeBadCertificate, func(g *Gen) spec.NewView {
			return g.NewView(1, g.genesisVCs(1, 0, 3, 2))
		}},
		{"NV4", "repeated", "view-changes from replicas 0, 2, 2", spec.CodeBadCertificate, func(g *Gen) spec.NewView {
			return g.NewView(1, g.genesisVCs(1, 0, 2, 2))
		}},
		{"NV4", "other-view", "view-change 1 is for view 2", spec.CodeBadCertificate, func(g *Gen) spec.NewView {
			return g.NewView(1, g.vcsWith(1, g.genesisVCs(2, 2)[0]))
		}},
		{"NV4", "before-NV5", "NV4 precedes NV5: view-changes 0, 3, 2 where 0's signature is also corrupted", spec.CodeBadCertificate, func(g *Gen) spec.NewView {
			vcs := g.genesisVCs(1, 0, 3, 2)
			vcs[0].Sig = flip(vcs[0].Sig)
			return g.NewView(1, vcs)
		}},
		{"NV5", "V1-replica-n", "view-changes from replicas 0, 2, 4: V1 fails inside a NEW-VIEW (bad-certificate)", spec.CodeBadCertificate, func(g *Gen) spec.NewView {
			return g.NewView(1, g.vcsWith(2, g.vcSigned(spec.ViewChangeBody{View: 1, Replica: 4, Stable: g.genesis()}, 3)))
		}},
		{"NV5", "V2-flipped", "view-change 1's signature is corrupted: V2 fails inside a NEW-VIEW (bad-certificate)", spec.CodeBadCertificate, func(g *Gen) spec.NewView {
			vcs := g.genesisVCs(1, 0, 2, 3)
			vcs[1].Sig = flip(vcs[1].Sig)
			return g.NewView(1, vcs)
		}},
		{"NV5", "before-NV6", "NV5 precedes NV6: an invalid view-change and an O entry for view 0", spec.CodeBadCertificate, func(g *Gen) spec.NewView {
			vcs := g.genesisVCs(1, 0, 2, 3)
			vcs[1].Sig = flip(vcs[1].Sig)
			return g.nvO(1, vcs, []spec.Slot{{View: 0, Seq: 1, Digest: null, Replica: 1}})
		}},
		{"NV6", "too-long", "O with 17 entries (L = 16)", spec.CodeBadNewView, func(g *Gen) spec.NewView {
			var os []spec.Slot
			for n := uint64(1); n <= 17; n++ {
				os = append(os, o(n, null))
			}
			return g.nvO(1, g.genesisVCs(1, 0, 2, 3), os)
		}},
		{"NV6", "entry-view", "an O entry for view 0", spec.CodeBadNewView, func(g *Gen) spec.NewView {
			return g.nvO(1, g.genesisVCs(1, 0, 2, 3), []spec.Slot{{View: 0, Seq: 1, Digest: null, Replica: 1}})
		}},
		{"NV6", "entry-replica", "an O entry naming replica 0 (signed by prep 0)", spec.CodeBadNewView, func(g *Gen) spec.NewView {
			return g.nvO(1, g.genesisVCs(1, 0, 2, 3), []spec.Slot{{View: 1, Seq: 1, Digest: null, Replica: 0}})
		}},
		{"NV6", "unsorted", "O entries for Seq 2 then 1", spec.CodeBadNewView, func(g *Gen) spec.NewView {
			return g.nvO(1, g.genesisVCs(1, 0, 2, 3), []spec.Slot{o(2, null), o(1, null)})
		}},
		{"NV6", "repeated", "two O entries for Seq 1", spec.CodeBadNewView, func(g *Gen) spec.NewView {
			return g.nvO(1, g.genesisVCs(1, 0, 2, 3), []spec.Slot{o(1, null), o(1, null)})
		}},
		{"NV6", "seq-zero", "an O entry for Seq 0 (not above minS = 0)", spec.CodeBadNewView, func(g *Gen) spec.NewView {
			return g.nvO(1, g.genesisVCs(1, 0, 2, 3), []spec.Slot{o(0, null)})
		}},
		{"NV6", "beyond-window", "an O entry for Seq 17 > minS + L", spec.CodeBadNewView, func(g *Gen) spec.NewView {
			return g.nvO(1, g.genesisVCs(1, 0, 2, 3), []spec.Slot{o(17, null)})
		}},
		{"NV6", "at-minS", "minS = 4 (view-change 0 carries stable (4, S)); an O entry for Seq 4", spec.CodeBadNewView, func(g *Gen) spec.NewView {
			vcs := g.vcsWith(0, g.ViewChange(1, 0, g.CheckpointCert(4, tag("state-a"), 0, 1, 2)))
			return g.nvO(1, vcs, []spec.Slot{o(4, null)})
		}},
		{"NV7", "flipped", "O entry 0's signature is corrupted", spec.CodeBadNewView, func(g *Gen) spec.NewView {
			vcs := g.vcsWith(0, g.ViewChange(1, 0, g.genesis(), g.PreparedCert(0, 1, d)))
			nv := g.nvWith(1, 1, vcs, g.oSigned([]spec.Slot{o(1, d)}), 1)
			nv.Body.PrePrepares[0].Sig = flip(nv.Body.PrePrepares[0].Sig)
			return g.nvWith(1, 1, vcs, nv.Body.PrePrepares, 1)
		}},
		{"NV7", "prepare-domain", "O entry 0 is signed by prep 1 under the prepare domain", spec.CodeBadNewView, func(g *Gen) spec.NewView {
			vcs := g.vcsWith(0, g.ViewChange(1, 0, g.genesis(), g.PreparedCert(0, 1, d)))
			pps := []spec.PrePrepare{g.ppAs(o(1, d), 1, spec.DomainPrepare)}
			return g.nvWith(1, 1, vcs, pps, 1)
		}},
		{"NV7", "other-signer", "O entry 0 is signed by prep 0", spec.CodeBadNewView, func(g *Gen) spec.NewView {
			vcs := g.vcsWith(0, g.ViewChange(1, 0, g.genesis(), g.PreparedCert(0, 1, d)))
			pps := []spec.PrePrepare{g.ppAs(o(1, d), 0, spec.DomainPrePrepare)}
			return g.nvWith(1, 1, vcs, pps, 1)
		}},
	}
	for _, b := range badVCs() {
		b := b
		cs = append(cs, nvCase{"NV5", b.rule + "-" + b.name, "view-change 0 is invalid (" + b.rule + "): " + b.what, spec.CodeBadCertificate,
			func(g *Gen) spec.NewView { return g.NewView(1, g.vcsWith(0, b.make(g, 1, 0))) }})
	}
	return cs
}
