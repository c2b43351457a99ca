package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
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
// cluster's size, registers its identities with its keys, and allows no dev-insecure
// evidence when the gateway runs in an enclave (SPEC.md §16.2).
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
		{name: "identity missing", mod: func(c *spec.Config) { c.Clients = c.Clients[:2] }, want: "does not register this gateway's client identities"},
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
		_, err := checkConfig(raw, use, own, c.enclave, nil)
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("seed %d: %s: %v, want %q", seed, c.name, err, c.want)
		}
	}
}

// TestFetchConfig: f+1 identical copies that check are needed; a forged copy served by
// f+1 replicas is refused, and two valid ones are ambiguous.
func TestFetchConfig(t *testing.T) {
	const seed = 32
	good, own := gatewayConfig(t, seed, "")
	other, _ := gatewayConfig(t, seed, "other")
	forged := *good
	forged.Clients = good.Clients[:1] // registers none of the gateway's identities
	for _, c := range []struct {
		name   string
		served [4]*spec.Config // nil: 503
		want   string          // "" = good is returned
	}{
		{"f+1 good, f+1 forged", [4]*spec.Config{good, &forged, good, &forged}, ""},
		{"one good", [4]*spec.Config{good, nil, nil, &forged}, errNotFormed.Error()},
		{"only forged", [4]*spec.Config{&forged, &forged, good, nil}, "no configuration served by f+1 replicas is acceptable"},
		{"two valid", [4]*spec.Config{good, other, good, other}, "two different valid configurations"},
	} {
		cl := &cluster{N: 4, F: 1}
		for _, cfg := range c.served {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if cfg == nil || r.URL.Path != "/config" {
					http.Error(w, "not ready", http.StatusServiceUnavailable)
					return
				}
				w.Write(spec.Encode(cfg))
			}))
			defer srv.Close()
			cl.Replicas = append(cl.Replicas, clusterReplica{Status: strings.TrimPrefix(srv.URL, "http://")})
		}
		got, err := fetchConfig(context.Background(), cl, own, false, nil)
		switch {
		case c.want == "" && (err != nil || spec.ConfigDigest(got) != spec.ConfigDigest(good)):
			t.Errorf("seed %d: %s: %v", seed, c.name, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("seed %d: %s: %v, want %q", seed, c.name, err, c.want)
		}
	}
}
