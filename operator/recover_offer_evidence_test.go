package operator

import (
	"bytes"
	"errors"
	"testing"

	"github.com/splitbft/splitbft/attest"
	"github.com/splitbft/splitbft/spec"
)

// reportsByEvidence is an attest.Verifier that returns recorded reports.
type reportsByEvidence map[string]attest.Report

func (m reportsByEvidence) Verify(ev []byte) (attest.Report, error) {
	if r, ok := m[string(ev)]; ok {
		return r, nil
	}
	return attest.Report{}, errors.New("quote signature does not verify")
}

// TestOfferEvidenceBoundToEpoch: a recovering replica's fresh enclaves were started
// with the digest of the configuration being recovered as challenge (SPEC §17.8), so
// the members' tool admits ego-sgx evidence whose report data binds that digest, under
// that configuration's build policies, and refuses evidence bound to another
// challenge (the zero challenge of a formation). The first version checked with the
// zero challenge and the formation template's policies, and refused every real
// enclave's offer.
func TestOfferEvidenceBoundToEpoch(t *testing.T) {
	signer := bytes.Repeat([]byte{0x5a}, 32)
	product := append([]byte{1}, make([]byte, 15)...)
	cfg := &spec.Config{Name: []byte("t"), Epoch: 3}
	tmpl := &Template{N: 4, F: 1, Replicas: make([]ReplicaTemplate, 4)}
	builds := [3]string{"prep-a", "conf-b", "exec"}
	tmpl.Replicas[2] = ReplicaTemplate{ID: 2, Prep: builds[0], Conf: builds[1], Exec: builds[2]}
	for r := spec.RolePrep; r <= spec.RoleExec; r++ {
		cfg.Builds = append(cfg.Builds, spec.BuildPolicy{Role: r, Build: []byte(builds[r]), SignerID: signer, ProductID: 1, MinSVN: 1})
	}
	cd := spec.ConfigDigest(cfg)
	for _, tc := range []struct {
		name      string
		challenge spec.Digest
		ok        bool
	}{
		{"bound to the recovered configuration", cd, true},
		{"bound to the zero challenge", spec.Digest{}, false},
		{"bound to another digest", spec.Digest{1}, false},
	} {
		v := reportsByEvidence{}
		var enr []spec.Enrollment
		for r := spec.RolePrep; r <= spec.RoleExec; r++ {
			body := spec.EnrollmentBody{Role: r, Replica: 2, Build: []byte(builds[r]), SignKey: spec.PublicKey{byte(r + 1)}}
			if r == spec.RoleExec {
				body.BoxKey = spec.PublicKey{9}
			}
			ev := []byte{'q', byte(r)}
			v[string(ev)] = attest.Report{Data: attest.ReportDataFor(&body, tc.challenge), SecurityVersion: 2,
				SignerID: signer, ProductID: product, UniqueID: make([]byte, 32)}
			enr = append(enr, spec.Enrollment{Body: body, Evidence: spec.Evidence{Format: spec.EvidenceEgoSGX, Data: ev}})
		}
		err := checkOfferEnrollments(&RecoverClusterOptions{T: tmpl, Verifier: v}, 2, enr, cfg)
		if (err == nil) != tc.ok {
			t.Errorf("%s: err %v, want ok=%t", tc.name, err, tc.ok)
		}
	}
}

// TestShorterReplay: at equal heads the tool prefers the higher base, then an offer
// without a lead-in, then the lead-in from the higher seq.
func TestShorterReplay(t *testing.T) {
	lead := func(seq uint64) []spec.LeadIn { return []spec.LeadIn{{Base: spec.CheckpointCert{Seq: seq}}} }
	off := func(base uint64, l []spec.LeadIn) *RecoveryOffer {
		return &RecoveryOffer{Base: spec.CheckpointCert{Seq: base}, Lead: l}
	}
	for _, tc := range []struct {
		name string
		a, b *RecoveryOffer
		want bool
	}{
		{"higher base", off(32, nil), off(16, nil), true},
		{"lower base", off(16, nil), off(32, nil), false},
		{"higher base with a lead-in", off(32, lead(8)), off(16, nil), true},
		{"no lead-in over a lead-in", off(32, nil), off(32, lead(16)), true},
		{"a lead-in over none", off(32, lead(16)), off(32, nil), false},
		{"lead-in from higher", off(32, lead(24)), off(32, lead(16)), true},
		{"lead-in from lower", off(32, lead(8)), off(32, lead(16)), false},
		{"equal", off(32, nil), off(32, nil), false},
	} {
		if got := shorterReplay(tc.a, tc.b); got != tc.want {
			t.Errorf("%s: shorterReplay = %t, want %t", tc.name, got, tc.want)
		}
	}
}
