package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/splitbft/splitbft/attest"
	"github.com/splitbft/splitbft/broker"
	"github.com/splitbft/splitbft/gateway"
	"github.com/splitbft/splitbft/internal/testcluster"
	"github.com/splitbft/splitbft/spec"
)

// gatewayConfig returns a valid dev-insecure configuration that registers the
// identities of a gateway enrolled from seed, and that gateway's enrollment.
func gatewayConfig(t *testing.T, seed uint64, name string) (*spec.Config, *spec.GatewayEnrollment) {
	t.Helper()
	tc, err := testcluster.New(seed, testcluster.Options{Clients: []uint64{100}, Name: name, Admit: broker.AdmitKey})
	if err != nil {
		t.Fatal(err)
	}
	e, err := gateway.Enroll(spec.TestStream("gateway", seed), 1, []uint64{200, 201}, []string{"127.0.0.1"}, time.Unix(1.7e9, 0), attest.DevInsecure{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := tc.Config
	cfg.Clients = append(slices.Clone(cfg.Clients), e.Attestation.Enrollment.Registrations()...)
	return cfg, &e.Attestation.Enrollment
}

// TestCheckConfig: the gateway accepts a configuration only when it is valid, of the
// cluster's size (checkGenesis), registers its identities with its keys, and allows no
// dev-insecure evidence when the gateway runs in an enclave (checkReached, SPEC.md
// §16.2).
func TestCheckConfig(t *testing.T) {
	const seed = 31
	cfg, own := gatewayConfig(t, seed, "")
	cl := &cluster{N: 4, F: 1}
	for _, c := range []struct {
		name    string
		mod     func(c *spec.Config)
		cl      *cluster
		enclave bool
		raw     []byte
		want    string // "" = accepted
	}{
		{name: "accepted"},
		{name: "identity missing", mod: func(c *spec.Config) { c.Clients = c.Clients[:2] }, want: "does not register this gateway's client identities with its keys (epoch 0)"},
		{name: "other box key", mod: func(c *spec.Config) { c.Clients[2].BoxKey[0] ^= 1 }, want: "does not register"},
		{name: "other size", cl: &cluster{N: 7, F: 2}, want: "n=4 f=1, cluster.json n=7 f=2"},
		{name: "dev-insecure in an enclave", enclave: true, want: "allows dev-insecure evidence"},
		{name: "invalid", mod: func(c *spec.Config) { c.Version = 2 }, want: "invalid config"},
		{name: "not canonical", raw: []byte{0x81, 0x00}, want: "does not decode"},
	} {
		c2 := *cfg
		c2.Clients = slices.Clone(cfg.Clients)
		if c.mod != nil {
			c.mod(&c2)
		}
		raw, use := spec.Encode(&c2), cl
		if c.raw != nil {
			raw = c.raw
		}
		if c.cl != nil {
			use = c.cl
		}
		got, err := checkGenesis(raw, use)
		if err == nil {
			err = checkReached(got, own, c.enclave, nil)
		}
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("seed %d: %s: %v, want %q", seed, c.name, err, c.want)
		}
	}
}

// TestFetchConfig: f+1 identical copies that check are needed; a copy served by f+1
// replicas that does not register the gateway makes it wait (errNotRegistered), an
// invalid one is refused, and two valid ones are ambiguous. These replicas serve no
// chain, only GET /config.
func TestFetchConfig(t *testing.T) {
	const seed = 32
	good, own := gatewayConfig(t, seed, "")
	other, _ := gatewayConfig(t, seed, "other")
	forged := *good
	forged.Clients = good.Clients[:1] // registers none of the gateway's identities
	invalid := *good
	invalid.N = 7 // another size than cluster.json's
	later := *other
	later.Epoch = 5
	for _, c := range []struct {
		name   string
		served [4]*spec.Config // nil: 503
		want   error           // nil: good is returned
	}{
		{"f+1 good, one forged", [4]*spec.Config{good, &forged, good, nil}, nil},
		{"f+1 good, f+1 without the gateway", [4]*spec.Config{good, &forged, good, &forged}, errAmbiguous},
		{"one good", [4]*spec.Config{good, nil, nil, &forged}, errNotFormed},
		{"f+1 without the gateway", [4]*spec.Config{&forged, &forged, good, nil}, errNotRegistered},
		{"f+1 invalid", [4]*spec.Config{&invalid, &invalid, good, nil}, errBad},
		{"two valid", [4]*spec.Config{good, other, good, other}, errAmbiguous},
	} {
		cl := &cluster{N: 4, F: 1}
		for _, cfg := range c.served {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				switch {
				case cfg != nil && r.URL.Path == "/chain":
					w.Write(spec.Encode(&chainBody{Genesis: spec.Encode(cfg)}))
				case cfg != nil && r.URL.Path == "/config": // not a genesis copy: never asked
					w.Write(spec.Encode(&later))
				default:
					http.Error(w, "not ready", http.StatusServiceUnavailable)
				}
			}))
			defer srv.Close()
			cl.Replicas = append(cl.Replicas, clusterReplica{Status: strings.TrimPrefix(srv.URL, "http://")})
		}
		got, err := fetchConfig(context.Background(), cl, own, false, nil, nil)
		switch {
		case c.want == nil && (err != nil || spec.ConfigDigest(got) != spec.ConfigDigest(good)):
			t.Errorf("seed %d: %s: %v", seed, c.name, err)
		case c.want == errBad && (err == nil || !strings.Contains(err.Error(), "no configuration served by f+1 replicas is acceptable")):
			t.Errorf("seed %d: %s: %v, want it to say that no configuration is acceptable", seed, c.name, err)
		case c.want != nil && c.want != errBad && !errors.Is(err, c.want):
			t.Errorf("seed %d: %s: %v, want %v", seed, c.name, err, c.want)
		}
	}
}

// stepAfter returns a valid epoch change after prev to prev changed by mod, voted by
// three of tc's four execs, and the configuration it leads to.
func stepAfter(t *testing.T, tc *testcluster.Cluster, prev *spec.Config, mod func(*spec.Config)) (spec.Step, *spec.Config) {
	t.Helper()
	var next spec.Config
	if err := spec.Decode(spec.Encode(prev), &next, spec.MaxMessageBytes); err != nil {
		t.Fatal(err)
	}
	mod(&next)
	next.Epoch, next.Prev, next.StartSeq, next.StartState = prev.Epoch+1, spec.ConfigDigest(prev), prev.StartSeq+4, spec.Digest{byte(prev.Epoch + 1)}
	ec := spec.EpochChange{Config: spec.Encode(&next)}
	for _, i := range []uint64{0, 1, 3} {
		b := spec.EpochVoteBody{Next: spec.ConfigDigest(&next), Replica: i}
		sig := tc.SignRaw(testcluster.Slot{Role: spec.RoleExec, Replica: i}, spec.SignedBytes(spec.DomainEpochVote, spec.ConfigDigest(prev), spec.Encode(&b)))
		ec.Votes = append(ec.Votes, spec.EpochVote{Body: b, Sig: sig})
	}
	return spec.ChangeStep(ec), &next
}

// TestFetchConfigFollowsChain: a gateway started again (new identities) serves under
// the configuration that the chain from the genesis f+1 replicas serve reaches, once
// an epoch change registers its identities (SPEC.md §16.2, "A restarted gateway"),
// even if only one replica serves that step; it waits while no step that verifies
// does, and a gateway whose identities a later epoch replaced does not serve under the
// older configuration.
func TestFetchConfigFollowsChain(t *testing.T) {
	const seed = 33
	tc, err := testcluster.New(seed, testcluster.Options{Clients: []uint64{100}, Admit: broker.AdmitKey})
	if err != nil {
		t.Fatal(err)
	}
	enroll := func(s uint64) *spec.GatewayEnrollment {
		e, err := gateway.Enroll(spec.TestStream("gateway", s), 1, []uint64{200, 201}, []string{"127.0.0.1"}, time.Unix(1.7e9, 0), attest.DevInsecure{})
		if err != nil {
			t.Fatal(err)
		}
		return &e.Attestation.Enrollment
	}
	old, restarted := enroll(seed), enroll(seed+1)
	register := func(g *spec.GatewayEnrollment) func(*spec.Config) {
		return func(c *spec.Config) {
			c.Clients = append(slices.DeleteFunc(slices.Clone(c.Clients), func(cc spec.ClientConfig) bool { return cc.ID >= 200 }), g.Registrations()...)
		}
	}
	genesis := tc.Config
	register(old)(genesis) // formed with the old gateway
	admit, epoch1 := stepAfter(t, tc, genesis, register(restarted))
	later, epoch2 := stepAfter(t, tc, epoch1, func(*spec.Config) {}) // keys unchanged
	forgedEC := *admit.Change
	forgedEC.Votes = slices.Clone(forgedEC.Votes)
	forgedEC.Votes[1].Sig[0] ^= 1
	forged := spec.ChangeStep(forgedEC)
	body := func(s ...spec.Step) []byte { return spec.Encode(&chainBody{Genesis: spec.Encode(genesis), Changes: s}) }
	for _, c := range []struct {
		name  string
		own   *spec.GatewayEnrollment
		serve [4][]byte // nil: 503
		want  *spec.Config
		err   error
	}{
		{"admitted, served by all", restarted, [4][]byte{body(admit), body(admit), body(admit), body(admit)}, epoch1, nil},
		{"admitted, one serves the step", restarted, [4][]byte{body(), body(admit, later), body(), nil}, epoch2, nil},
		{"not admitted yet", restarted, [4][]byte{body(), body(), nil, body()}, nil, errNotRegistered},
		{"forged admission", restarted, [4][]byte{body(forged), body(forged), body(), body()}, nil, errNotRegistered},
		{"replaced gateway", old, [4][]byte{body(admit), body(), body(), nil}, nil, errNotRegistered},
		{"not replaced", old, [4][]byte{body(), body(), nil, nil}, genesis, nil},
		{"no step for the old gateway", old, [4][]byte{body(later), body(), nil, nil}, genesis, nil}, // does not verify from the genesis
	} {
		cl := &cluster{N: 4, F: 1, Replicas: make([]clusterReplica, 4)}
		for i, b := range c.serve {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if b == nil || r.URL.Path != "/chain" {
					http.Error(w, "not serving", http.StatusServiceUnavailable)
					return
				}
				w.Write(b)
			}))
			defer srv.Close()
			cl.Replicas[i].Status = strings.TrimPrefix(srv.URL, "http://")
		}
		got, err := fetchConfig(context.Background(), cl, c.own, false, nil, nil)
		switch {
		case c.err == nil && (err != nil || spec.ConfigDigest(got) != spec.ConfigDigest(c.want)):
			t.Errorf("seed %d: %s: %v, want the configuration of epoch %d", seed, c.name, describe(got, err), c.want.Epoch)
		case c.err != nil && !errors.Is(err, c.err):
			t.Errorf("seed %d: %s: %v, want %v", seed, c.name, err, c.err)
		}
	}
}

// errBad marks a case in which fetchConfig refuses every copy served by f+1.
var errBad = errors.New("bad")

// TestFetchConfigCache: with a cache, the steps verified at an earlier poll are not
// verified again (a long chain is verified once while the gateway waits): a chain
// whose first step no longer verifies (here forged) is followed from the cached
// configuration; without the cache the same answers reach nothing.
func TestFetchConfigCache(t *testing.T) {
	const seed = 35
	tc, own, genesis, admit, epoch1 := admittingChain(t, seed)
	later, epoch2 := stepAfter(t, tc, epoch1, func(*spec.Config) {})
	forgedEC := *admit.Change
	forgedEC.Votes = slices.Clone(forgedEC.Votes)
	forgedEC.Votes[0].Sig[0] ^= 1
	cl, serve := switchable(t)
	body := spec.Encode(&chainBody{Genesis: spec.Encode(genesis), Changes: []spec.Step{admit}})
	serve.Store(&body)
	cache := &chainCache{}
	if got, err := fetchConfig(context.Background(), cl, own, false, nil, cache); err != nil || spec.ConfigDigest(got) != spec.ConfigDigest(epoch1) {
		t.Fatalf("seed %d: first poll: %s, want epoch 1", seed, describe(got, err))
	}
	body = spec.Encode(&chainBody{Genesis: spec.Encode(genesis), Changes: []spec.Step{spec.ChangeStep(forgedEC), later}})
	serve.Store(&body)
	if got, err := fetchConfig(context.Background(), cl, own, false, nil, cache); err != nil || spec.ConfigDigest(got) != spec.ConfigDigest(epoch2) {
		t.Fatalf("seed %d: second poll with the cache: %s, want epoch 2 (verified from the cached epoch 1)", seed, describe(got, err))
	}
	if _, err := fetchConfig(context.Background(), cl, own, false, nil, nil); !errors.Is(err, errNotRegistered) {
		t.Fatalf("seed %d: the same answers without a cache: %v, want errNotRegistered (the forged first step stops the chain)", seed, err)
	}
}

// admittingChain returns a test cluster, a gateway enrollment from seed, a genesis
// configuration that does not register it, and the valid epoch change (with the
// configuration of epoch 1) that does.
func admittingChain(t *testing.T, seed uint64) (*testcluster.Cluster, *spec.GatewayEnrollment, *spec.Config, spec.Step, *spec.Config) {
	t.Helper()
	tc, err := testcluster.New(seed, testcluster.Options{Clients: []uint64{100}, Admit: broker.AdmitKey})
	if err != nil {
		t.Fatal(err)
	}
	e, err := gateway.Enroll(spec.TestStream("gateway", seed), 1, []uint64{200, 201}, []string{"127.0.0.1"}, time.Unix(1.7e9, 0), attest.DevInsecure{})
	if err != nil {
		t.Fatal(err)
	}
	own := &e.Attestation.Enrollment
	admit, epoch1 := stepAfter(t, tc, tc.Config, func(c *spec.Config) { c.Clients = append(slices.Clone(c.Clients), own.Registrations()...) })
	return tc, own, tc.Config, admit, epoch1
}

// switchable returns a cluster of four replicas whose status ports all answer what
// the returned pointer holds at the time of the request.
func switchable(t *testing.T) (*cluster, *atomic.Pointer[[]byte]) {
	var serve atomic.Pointer[[]byte]
	cl := &cluster{N: 4, F: 1}
	for range 4 {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(*serve.Load()) }))
		t.Cleanup(srv.Close)
		cl.Replicas = append(cl.Replicas, clusterReplica{Status: strings.TrimPrefix(srv.URL, "http://")})
	}
	return cl, &serve
}

// describe says which configuration fetchConfig returned, or its error.
func describe(cfg *spec.Config, err error) string {
	if err != nil {
		return err.Error()
	}
	return fmt.Sprintf("the configuration of epoch %d", cfg.Epoch)
}

// notes collects what waitConfig writes to stderr and signals each write.
type notes struct {
	mu    sync.Mutex
	lines []string
	wrote chan struct{}
}

func (n *notes) Write(p []byte) (int, error) {
	n.mu.Lock()
	n.lines = append(n.lines, string(p))
	n.mu.Unlock()
	select {
	case n.wrote <- struct{}{}:
	default:
	}
	return len(p), nil
}

// TestWaitConfig: a restarted gateway waits while the configuration does not register
// it, says so once with the command that re-admits it, and returns the configuration
// of the epoch that admits it once a replica serves that step; two valid genesis
// copies make it wait too (it chooses neither), until its wait ends.
func TestWaitConfig(t *testing.T) {
	const seed = 34
	defer func(d time.Duration) { pollSlow = d }(pollSlow)
	pollSlow = 5 * time.Millisecond
	_, own, genesis, admit, epoch1 := admittingChain(t, seed)
	cl, serve := switchable(t)
	plain := spec.Encode(&chainBody{Genesis: spec.Encode(genesis)})
	serve.Store(&plain)
	out := &notes{wrote: make(chan struct{}, 1)}
	type result struct {
		cfg *spec.Config
		err error
	}
	done := make(chan result, 1)
	go func() {
		cfg, err := waitConfig(context.Background(), cl, 1, own, false, time.Minute, out)
		done <- result{cfg, err}
	}()
	select {
	case <-out.wrote:
	case r := <-done:
		t.Fatalf("seed %d: waitConfig returned (%v) while the configuration does not register the gateway", seed, describe(r.cfg, r.err))
	}
	withStep := spec.Encode(&chainBody{Genesis: spec.Encode(genesis), Changes: []spec.Step{admit}})
	serve.Store(&withStep)
	r := <-done
	if r.err != nil || spec.ConfigDigest(r.cfg) != spec.ConfigDigest(epoch1) {
		t.Fatalf("seed %d: %s, want the configuration of epoch 1", seed, describe(r.cfg, r.err))
	}
	if len(out.lines) != 1 || !strings.Contains(out.lines[0], "--readmit-gateway 1") {
		t.Errorf("seed %d: stderr %q, want one line naming --readmit-gateway 1", seed, out.lines)
	}

	// Two valid genesis copies, each served by two replicas.
	other, _ := gatewayConfig(t, seed, "other")
	otherBody := spec.Encode(&chainBody{Genesis: spec.Encode(other)})
	split := &cluster{N: 4, F: 1}
	for i := range 4 {
		body := withStep
		if i%2 == 1 {
			body = otherBody
		}
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(body) }))
		defer srv.Close()
		split.Replicas = append(split.Replicas, clusterReplica{Status: strings.TrimPrefix(srv.URL, "http://")})
	}
	out = &notes{wrote: make(chan struct{}, 1)}
	_, err := waitConfig(context.Background(), split, 1, own, false, time.Second, out)
	if !errors.Is(err, errAmbiguous) || len(out.lines) != 1 || !strings.Contains(out.lines[0], "waiting") {
		t.Errorf("seed %d: two valid copies: %v, stderr %q; want errAmbiguous after waiting, said once", seed, err, out.lines)
	}
}
