package operator

import (
	"errors"
	"strings"
	"testing"

	"github.com/splitbft/splitbft/spec"
)

// TestTemplateGateways checks init's gateway entries (--redis-port) and every rule of
// checkGateways (SPEC.md §16.2: loopback only; own registered client ids).
func TestTemplateGateways(t *testing.T) {
	opt := testOptions()
	opt.RedisPort, opt.GatewayClients = 6380, 2
	good := func() *Template {
		tmpl, ids, err := NewTemplate(opt, spec.TestStream("template", 2))
		if err != nil {
			t.Fatal(err)
		}
		if len(ids) != opt.Clients+8 {
			t.Fatalf("%d identities, want %d clients + 2 per gateway", len(ids), opt.Clients)
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
		{"no clients", func(t *Template) { t.Replicas[1].GatewayClients = nil }, "needs gateway_clients"},
		{"clients without address", func(t *Template) { t.Replicas[1].Redis = "" }, "without a redis address"},
		{"unregistered client", func(t *Template) { t.Replicas[1].GatewayClients[0] = 999 }, "not registered"},
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
