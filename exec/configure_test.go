package exec_test

import (
	"testing"

	"github.com/splitbft/splitbft/exec"
	"github.com/splitbft/splitbft/exec/kv"
	"github.com/splitbft/splitbft/spec"
)

// lowOrderX25519 is u = 1, a point of order 4: X25519 with it is all zeros.
var lowOrderX25519 = spec.PublicKey{1}

// TestGroupKeyDeal checks the deal's shares open for each recipient (as the recipient
// would open them) to the g read from the dealer's stream, the rules of §11.2, and that
// a later deal reuses g.
func TestGroupKeyDeal(t *testing.T) {
	c := newUnconfigured(t, 21, defaultParams())
	for i, s := range c.shares {
		if s.Dealer != c.enr[0].Body.BoxKey || s.Recipient != c.enr[i].Body.BoxKey || s.GroupKey != c.G {
			t.Fatalf("share %d header %+v", i, s)
		}
		key := kdf(mustX25519(c.execBox[i], s.Dealer[:]), nil, []byte("splitbft/v1/group-key-wrap"), s.Dealer[:], s.Recipient[:], s.GroupKey[:])
		g, err := xopen(key, s.Nonce, s.Sealed, cat([]byte("splitbft/v1/group-key-share"), c.G[:]))
		if err != nil || string(g) != string(c.g) {
			t.Fatalf("share %d does not open to g: %v", i, err)
		}
	}
	bodies := func(mod func([]spec.EnrollmentBody) []spec.EnrollmentBody) spec.Input {
		var b []spec.EnrollmentBody
		for i := range c.enr {
			b = append(b, c.enr[i].Body)
		}
		return in(spec.KindGroupKeyDeal, &spec.GroupKeyDeal{Execs: mod(b)})
	}
	x := c.execs[1]
	cases := map[string]func([]spec.EnrollmentBody) []spec.EnrollmentBody{
		"empty":         func([]spec.EnrollmentBody) []spec.EnrollmentBody { return nil },
		"own missing":   func(b []spec.EnrollmentBody) []spec.EnrollmentBody { return append(b[:1], b[2:]...) },
		"own sign key":  func(b []spec.EnrollmentBody) []spec.EnrollmentBody { b[1].SignKey = spec.PublicKey{9}; return b },
		"own replica":   func(b []spec.EnrollmentBody) []spec.EnrollmentBody { b[1].Replica = 2; return b },
		"prep role":     func(b []spec.EnrollmentBody) []spec.EnrollmentBody { b[2].Role = spec.RolePrep; return b },
		"zero box key":  func(b []spec.EnrollmentBody) []spec.EnrollmentBody { b[2].BoxKey = spec.PublicKey{}; return b },
		"duplicate box": func(b []spec.EnrollmentBody) []spec.EnrollmentBody { b[2].BoxKey = b[3].BoxKey; return b },
		"listed twice":  func(b []spec.EnrollmentBody) []spec.EnrollmentBody { return append(b, b[1]) },
		"low order box": func(b []spec.EnrollmentBody) []spec.EnrollmentBody { b[3].BoxKey = lowOrderX25519; return b },
	}
	for name, mod := range cases {
		t.Run(name, func(t *testing.T) { expectReject(t, x, bodies(mod), spec.CodeBadConfig) })
	}
	// Rejected deals read no randomness: exec 1's first accepted deal still draws g
	// right after its Init keys. The own entry's Build is not compared.
	outs := expectAccept(t, x, bodies(func(b []spec.EnrollmentBody) []spec.EnrollmentBody {
		b[1].Build = []byte("exec-other")
		return b[1:2]
	}))
	mirror := execRand(21, 1)
	readN(mirror, 64)
	g1 := x25519Pub(readN(mirror, 32))
	var gs spec.GroupKeyShares
	mustDecode(t, outs[0].Body, &gs)
	if len(gs.Shares) != 1 || gs.Shares[0].GroupKey != g1 {
		t.Fatal("first accepted deal did not use the 32 bytes after Init")
	}
	// A second deal reuses g.
	outs = expectAccept(t, x, bodies(func(b []spec.EnrollmentBody) []spec.EnrollmentBody { return b }))
	mustDecode(t, outs[0].Body, &gs)
	if len(gs.Shares) != 4 || gs.Shares[3].GroupKey != g1 || gs.Shares[3].Recipient != c.enr[3].Body.BoxKey {
		t.Fatal("second deal did not reuse g")
	}
	// An exec that was never initialised has no enrollment among any list.
	fresh := exec.New(execRand(21, 9), kv.New())
	expectReject(t, fresh, bodies(func(b []spec.EnrollmentBody) []spec.EnrollmentBody { return b }), spec.CodeBadConfig)
}

// TestConfigureRules checks F1–F3 (bad-config) and G1–G3 (bad-share).
func TestConfigureRules(t *testing.T) {
	c := newUnconfigured(t, 22, defaultParams())
	x := c.execs[2]
	share := c.shares[2]
	withCfg := func(mod func(*spec.Config)) []byte {
		var cfg spec.Config
		mustDecode(t, c.cfgRaw, &cfg)
		mod(&cfg)
		return spec.Encode(&cfg)
	}
	conf := func(cfg []byte, shares ...spec.GroupKeyShare) spec.Input {
		return in(spec.KindConfigure, &spec.Configure{Config: cfg, Share: shares})
	}
	smallOrder := spec.PublicKey{1} // the Ed25519 identity point: small order
	other := exec.New(execRand(22, 99), kv.New())
	rawOther, _ := other.Init(spec.Encode(&spec.InitRequest{Role: spec.RoleExec, Replica: 2}))
	var otherEnr spec.Enrollment
	mustDecode(t, rawOther, &otherEnr)
	badConfig := map[string]spec.Input{
		"F1 garbage":         conf([]byte{0x01}, share),
		"F1 trailing":        conf(append(append([]byte{}, c.cfgRaw...), 0), share),
		"F2 version":         conf(withCfg(func(k *spec.Config) { k.Version = 2 }), share),
		"F2 window":          conf(withCfg(func(k *spec.Config) { k.Window = 15 }), share),
		"F2 small-order key": conf(withCfg(func(k *spec.Config) { k.Clients[0].SignKey = smallOrder }), share),
		"F2 dev-insecure":    conf(withCfg(func(k *spec.Config) { k.AllowDevInsecure = false }), share),
		"F3 other enclave":   conf(withCfg(func(k *spec.Config) { k.Replicas[2].Exec = otherEnr }), share),
	}
	for name, input := range badConfig {
		t.Run(name, func(t *testing.T) { expectReject(t, x, input, spec.CodeBadConfig) })
	}
	tampered := share
	tampered.Sealed = append([]byte{}, share.Sealed...)
	tampered.Sealed[3] ^= 0x40
	otherG := withCfg(func(k *spec.Config) { k.ExecGroupKey = c.clients[0].boxPub; k.Clients[0].BoxKey = c.G })
	notDealer := share
	notDealer.Dealer = c.clients[1].boxPub
	// A share correctly sealed by exec 3 (the test holds its box key) for a g' that is
	// not the private key of G.
	wrongG := c.forgeShare(3, 2, make([]byte, 32))
	badShare := map[string]spec.Input{
		"G1 no share":        conf(c.cfgRaw),
		"G1 two shares":      conf(c.cfgRaw, share, share),
		"G1 other recipient": conf(c.cfgRaw, c.shares[1]),
		"G1 group key":       conf(otherG, share),
		"G2 dealer":          conf(c.cfgRaw, notDealer),
		"G3 tampered":        conf(c.cfgRaw, tampered),
		"G3 wrong g":         conf(c.cfgRaw, wrongG),
	}
	for name, input := range badShare {
		t.Run(name, func(t *testing.T) { expectReject(t, x, input, spec.CodeBadShare) })
	}
	// An exec that never ran Init cannot find itself in any configuration.
	fresh := exec.New(execRand(22, 98), kv.New())
	expectReject(t, fresh, conf(c.cfgRaw, share), spec.CodeBadConfig)
	// A share dealt by another exec (here exec 3, forged by the test with exec 3's key)
	// is accepted, with this exec enrolled under another accepted build name (F3 does
	// not compare Build).
	otherBuild := withCfg(func(k *spec.Config) {
		k.Replicas[2].Exec.Body.Build = []byte("exec-other")
		k.Builds = append(k.Builds, spec.BuildPolicy{Role: spec.RoleExec, Build: []byte("exec-other")})
	})
	outs := expectAccept(t, x, conf(otherBuild, c.forgeShare(3, 2, c.g)))
	if st := status(t, outs); !st.Configured || st.Replica != 2 || st.Stable != 0 || st.Last != 0 || st.View != 0 || !st.ViewActive {
		t.Fatalf("status after configure %+v", st)
	}
}

// forgeShare seals g for exec recipient as exec dealer would (§11.2), from the test's
// copy of the dealer's box key.
func (c *cluster) forgeShare(dealer, recipient uint64, g []byte) spec.GroupKeyShare {
	d, r := c.enr[dealer].Body.BoxKey, c.enr[recipient].Body.BoxKey
	key := kdf(mustX25519(c.execBox[dealer], r[:]), nil, []byte("splitbft/v1/group-key-wrap"), d[:], r[:], c.G[:])
	n := c.nonce()
	return spec.GroupKeyShare{Dealer: d, Recipient: r, GroupKey: c.G, Nonce: n,
		Sealed: xseal(key, n, g, cat([]byte("splitbft/v1/group-key-share"), c.G[:]))}
}
