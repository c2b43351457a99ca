package spec

import (
	"strings"
	"testing"
)

// TestVerifyLeadIn: RV6 of SPEC.md §17.8 on a chain E1 (start 0) → E2 (start 20) →
// C (start 40), each rule broken once. Signatures are not this test's subject (the
// verifier accepts all; K1–K5 have their own tests), the rules' structure is.
func TestVerifyLeadIn(t *testing.T) {
	anySig := func(PublicKey, []byte, Signature) bool { return true }
	chain := func(edit func(e1, e2, c *Config)) (*Config, [][]byte) {
		e1 := validConfig()
		e1.Epoch = 1
		e1.Prev[0] = 0x11
		e2 := validConfig()
		e2.Epoch, e2.StartSeq, e2.StartState = 2, 20, Digest{0x20}
		c := validConfig()
		c.Epoch, c.StartSeq, c.StartState = 3, 40, Digest{0x40}
		if edit != nil {
			edit(e1, e2, c)
		}
		e2.Prev = ConfigDigest(e1)
		c.Prev = ConfigDigest(e2)
		return c, [][]byte{Encode(e1), Encode(e2)}
	}
	cert := func(seq uint64) CheckpointCert {
		cc := CheckpointCert{Seq: seq, State: Digest{0x99}}
		for r := uint64(0); r < 3; r++ {
			cc.Proof = append(cc.Proof, Checkpoint{Body: CheckpointBody{Seq: seq, State: cc.State, Replica: r}})
		}
		return cc
	}
	for _, tc := range []struct {
		name string
		edit func(e1, e2, c *Config)
		lead func(raws [][]byte) LeadIn
		base func(c *Config) CheckpointCert // the plan's base; nil: C's genesis certificate
		code uint64
		rule string
	}{
		{name: "two epochs from a checkpoint", lead: func(r [][]byte) LeadIn { return LeadIn{Configs: r, Base: cert(16)} }},
		{name: "from E2's start", lead: func(r [][]byte) LeadIn {
			return LeadIn{Configs: r[1:], Base: CheckpointCert{Seq: 20, State: Digest{0x20}}}
		}},
		{name: "base at E2's start", lead: func(r [][]byte) LeadIn { return LeadIn{Configs: r, Base: cert(16)} },
			edit: func(e1, e2, c *Config) { e2.StartSeq = 16 }},
		{name: "base above E2's start", lead: func(r [][]byte) LeadIn { return LeadIn{Configs: r, Base: cert(32)} },
			code: CodeBadCertificate, rule: "lead-in base"},
		{name: "E2 starts before E1", lead: func(r [][]byte) LeadIn { return LeadIn{Configs: r, Base: cert(16)} },
			edit: func(e1, e2, c *Config) { e1.StartSeq, e1.StartState = 30, Digest{0x30} }, code: CodeBadConfig, rule: "not the one before"},
		{name: "another group key", lead: func(r [][]byte) LeadIn { return LeadIn{Configs: r, Base: cert(16)} },
			edit: func(e1, e2, c *Config) { e1.ExecGroupKey[0] ^= 1 }, code: CodeBadConfig, rule: "group key"},
		{name: "out of order", lead: func(r [][]byte) LeadIn { return LeadIn{Configs: [][]byte{r[1], r[0]}, Base: cert(16)} },
			code: CodeBadConfig, rule: "not the one before"},
		{name: "nine epochs", lead: func(r [][]byte) LeadIn {
			l := LeadIn{Base: cert(16)}
			for range MaxLeadConfigs + 1 {
				l.Configs = append(l.Configs, r[0])
			}
			return l
		}, code: CodeBadConfig, rule: "1 to 8"},
		{name: "plan base not C's genesis", lead: func(r [][]byte) LeadIn { return LeadIn{Configs: r, Base: cert(16)} },
			base: func(c *Config) CheckpointCert { return cert(48) }, code: CodeBadCertificate, rule: "genesis certificate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, raws := chain(tc.edit)
			base := c.GenesisCert()
			if tc.base != nil {
				base = tc.base(c)
			}
			plan := RecoveryPlan{Body: RecoveryPlanBody{Base: base}}
			lead := tc.lead(raws)
			cfgs, code, err := VerifyLeadIn(c, &plan, &lead, anySig, nil)
			switch {
			case tc.code == 0 && err != nil:
				t.Fatalf("rejected: %v", err)
			case tc.code == 0 && len(cfgs) != len(lead.Configs):
				t.Fatalf("%d configurations returned, want %d", len(cfgs), len(lead.Configs))
			case tc.code != 0 && (err == nil || code != tc.code || !strings.Contains(err.Error(), tc.rule)):
				t.Fatalf("got code %s (%v), want %s mentioning %q", CodeName(code), err, CodeName(tc.code), tc.rule)
			}
		})
	}
}
