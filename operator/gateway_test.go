package operator

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/splitbft/splitbft/spec"
)

// TestTemplateGateways checks init's gateway entries (--redis-port) and every rule of
// checkGateways (SPEC.md §16.2: loopback only; client ids of its own that are not in
// clients, since the gateway generates their keys; a gateway build policy).
func TestTemplateGateways(t *testing.T) {
	opt := testOptions()
	opt.RedisPort, opt.GatewayClients = 6380, 2
	good := func() *Template {
		tmpl, ids, err := NewTemplate(opt, spec.TestStream("template", 2))
		if err != nil {
			t.Fatal(err)
		}
		// The registered clients are the kv clients and one broker client per replica
		// (SPEC.md §13.4); none is a gateway's.
		if n := int(tmpl.N); len(ids) != opt.Clients || len(tmpl.Clients) != opt.Clients+n {
			t.Fatalf("%d identities, %d registered, want %d and %d: none for the gateways", len(ids), len(tmpl.Clients), opt.Clients, opt.Clients+n)
		}
		for _, c := range tmpl.Clients {
			for _, r := range tmpl.Replicas {
				if slices.Contains(r.GatewayClients, c.ID) {
					t.Fatalf("client %d is registered and also replica %d's gateway's", c.ID, r.ID)
				}
			}
		}
		return tmpl
	}
	tmpl := good()
	if r := tmpl.Replicas[3]; r.Redis != "127.0.0.1:6383" || len(r.GatewayClients) != 2 || r.GatewayClients[0] != uint64(opt.Clients+7) {
		t.Fatalf("replica 3 gateway %q %v", r.Redis, r.GatewayClients)
	}
	for _, tc := range []struct {
		name string
		mod  func(t *Template)
		want string
	}{
		{"not loopback", func(t *Template) { t.Replicas[1].Redis = "10.0.0.1:6380" }, "not a loopback address"},
		{"bad address", func(t *Template) { t.Replicas[1].Redis = "nohost" }, "redis"},
		{"no clients", func(t *Template) { t.Replicas[1].GatewayClients = nil }, "needs 1..256 gateway_clients"},
		{"clients without address", func(t *Template) { t.Replicas[1].Redis = "" }, "without a redis address"},
		{"registered client", func(t *Template) { t.Replicas[1].GatewayClients[0] = t.Clients[0].ID }, "is also in clients"},
		{"not increasing", func(t *Template) { t.Replicas[1].GatewayClients[1] = t.Replicas[1].GatewayClients[0] }, "not in increasing order"},
		{"no gateway policy", func(t *Template) { t.Builds = t.Builds[:len(t.Builds)-1] }, `build policy with role "gateway"`},
		{"bad gateway policy", func(t *Template) { t.Builds[len(t.Builds)-1].UniqueID = Hex{1} }, "not 0 or 32 bytes"},
		{"shared client", func(t *Template) { t.Replicas[2].GatewayClients[0] = t.Replicas[1].GatewayClients[0] }, "is also replica 1's"},
	} {
		tmpl := good()
		tc.mod(tmpl)
		err := tmpl.Validate()
		if !errors.Is(err, ErrTemplate) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an ErrTemplate containing %q", tc.name, err, tc.want)
		}
	}
}

// TestParseGatewayInfo reads the counters out of an INFO reply and ignores the rest.
func TestParseGatewayInfo(t *testing.T) {
	st := parseGatewayInfo("# Server\r\nredis_version:7.2.0\r\n# Stats\r\nsplitbft_gateway_commands:12\r\nsplitbft_gateway_fast_read_hits:3\r\nsplitbft_gateway_bad:x\r\n")
	if len(st) != 2 || st["commands"] != 12 || st["fast_read_hits"] != 3 {
		t.Fatalf("parsed %v", st)
	}
}

// TestClusterGateway runs `splitbft init --redis-port` and four `splitbft replica`
// processes, each of which starts its Redis gateway (SPEC.md §16), then talks RESP to
// two different gateways and checks status and the gateway counters.
func TestClusterGateway(t *testing.T) {
	if testing.Short() {
		t.Skip("starts 20 processes; skipped in -short mode")
	}
	pc := &procCluster{t: t, wrap: func(_ int, argv []string) []string { return argv }}
	base := freeBase(t, 16)
	pc.start(4, "--base-port", strconv.Itoa(base), "--redis-port", strconv.Itoa(base+12))
	gw := func(i int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(base+12+i)) }
	var got string
	for deadline := time.Now().Add(90 * time.Second); got != "+OK\r\n"; {
		got, _ = respExchange(gw(1), "SET gk gv\r\n")
		if time.Now().After(deadline) {
			t.Fatalf("gateway of replica 1 never answered SET with +OK (last %q)", got)
		}
		time.Sleep(200 * time.Millisecond) // waiting for formation and the gateway process
	}
	if got, err := respExchange(gw(2), "GET gk\r\n"); err != nil || got != "$2\r\ngv\r\n" {
		t.Fatalf("GET through replica 2's gateway: %q, %v", got, err)
	}
	st, err := FetchGatewayStats(context.Background(), gw(2), 2*time.Second)
	if err != nil || st["commands"] < 1 || st["fast_read_hits"]+st["fast_read_fallbacks"] < 1 {
		t.Fatalf("gateway 2 counters %v, %v", st, err)
	}
	for _, e := range pc.status() {
		if e.Status == nil || e.Status.Gateway == nil {
			t.Fatalf("replica %d status shows no gateway: %+v", e.Replica, e.Status)
		}
	}
}

// respExchange sends raw RESP to addr and returns what arrives within a second.
func respExchange(addr, req string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write([]byte(req)); err != nil {
		return "", err
	}
	buf := make([]byte, 512)
	n, err := c.Read(buf)
	return string(buf[:n]), err
}

// TestGatewayMetrics checks the metric families made from the gateway's counters.
func TestGatewayMetrics(t *testing.T) {
	var got []string
	gatewayMetrics(GatewayStats{"connections": 2, "commands": 7}, func(name, typ, _ string, v float64) {
		got = append(got, fmt.Sprintf("%s %s %g", name, typ, v))
	})
	want := []string{"splitbft_gateway_commands counter 7", "splitbft_gateway_connections gauge 2"}
	if strings.Join(got, ";") != strings.Join(want, ";") {
		t.Fatalf("got %v, want %v", got, want)
	}
}

// TestClusterGatewayTLS runs four replicas whose gateways serve TLS under their
// attested keys (SPEC.md §16.2): VerifyGateway checks replica 1's gateway and returns
// its certificate, a client pinning it talks RESP over TLS, and a gateway presenting
// another gateway's certificate (the template pointing at replica 2's) is refused.
func TestClusterGatewayTLS(t *testing.T) {
	if testing.Short() {
		t.Skip("starts 20 processes; skipped in -short mode")
	}
	pc := &procCluster{t: t, wrap: func(_ int, argv []string) []string { return argv }}
	base := freeBase(t, 16)
	pc.start(4, "--base-port", strconv.Itoa(base), "--redis-port", strconv.Itoa(base+12), "--redis-tls")
	tmpl, err := LoadTemplate(pc.dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var vg *VerifiedGateway
	for deadline := time.Now().Add(90 * time.Second); vg == nil; {
		vg, err = VerifyGateway(ctx, tmpl, 1, nil, 2*time.Second)
		if err != nil && time.Now().After(deadline) {
			t.Fatalf("gateway 1 never verified: %v", err)
		}
		time.Sleep(200 * time.Millisecond) // waiting for formation and the gateway process
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(vg.CertPEM) || !vg.Insecure {
		t.Fatalf("certificate %q, insecure %v", vg.CertPEM, vg.Insecure)
	}
	c, err := tls.Dial("tcp", tmpl.Replicas[1].Redis, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS13})
	if err != nil {
		t.Fatalf("TLS with the verified certificate pinned: %v", err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := c.Write([]byte("SET tk tv\r\n")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	if n, err := c.Read(buf); err != nil || string(buf[:n]) != "+OK\r\n" {
		t.Fatalf("SET over pinned TLS: %q, %v", buf[:n], err)
	}
	for _, e := range pc.status() { // status reads the counters over TLS
		if e.Status == nil || e.Status.Gateway == nil {
			t.Fatalf("replica %d status shows no gateway: %+v", e.Replica, e.Status)
		}
	}
	swapped := *tmpl
	swapped.Replicas = slices.Clone(tmpl.Replicas)
	swapped.Replicas[1].Redis = tmpl.Replicas[2].Redis
	if _, err := VerifyGateway(ctx, &swapped, 1, nil, 2*time.Second); err == nil || !strings.Contains(err.Error(), "not the attested TLS key") {
		t.Fatalf("another gateway's certificate: %v, want a refusal naming the TLS key", err)
	}
}
