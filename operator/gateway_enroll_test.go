package operator

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/splitbft/splitbft/attest"
	"github.com/splitbft/splitbft/gateway"
	"github.com/splitbft/splitbft/spec"
)

// gatewayFixture is a template whose four replicas run gateways of two identities,
// and each gateway's enrollment (dev-insecure), made from seed.
func gatewayFixture(t *testing.T, seed uint64) (*Template, []*gateway.Enrolled) {
	t.Helper()
	opt := testOptions()
	opt.RedisPort, opt.GatewayClients = 6380, 2
	tmpl, _, err := NewTemplate(opt, spec.TestStream("gateway-template", seed))
	if err != nil {
		t.Fatal(err)
	}
	var gws []*gateway.Enrolled
	for i, rt := range tmpl.Replicas {
		e, err := gateway.Enroll(spec.TestStream(fmt.Sprintf("gateway-%d", i), seed), uint64(i), rt.GatewayClients,
			[]string{"127.0.0.1"}, time.Unix(1.7e9, 0), attest.DevInsecure{})
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		gws = append(gws, e)
	}
	return tmpl, gws
}

// servePeers points replica i's status address (i ≠ 0) at a server answering GET
// /gateway-enrollment with serve(i).
func servePeers(t *testing.T, tmpl *Template, serve func(i int) *spec.GatewayAttestation) {
	t.Helper()
	for i := 1; i < int(tmpl.N); i++ {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/gateway-enrollment" {
				http.NotFound(w, r)
				return
			}
			w.Write(spec.Encode(serve(i)))
		}))
		t.Cleanup(srv.Close)
		tmpl.Replicas[i].Status = strings.TrimPrefix(srv.URL, "http://")
	}
}

// TestFormationRegistersGateways: formation gathers every gateway's attestation and
// the configuration registers each gateway's generated identities with their keys
// (SPEC.md §16.2, §13.4), and a client's view of the configuration accepts it.
func TestFormationRegistersGateways(t *testing.T) {
	const seed = 21
	tmpl, gws := gatewayFixture(t, seed)
	servePeers(t, tmpl, func(i int) *spec.GatewayAttestation { return &gws[i].Attestation })
	f := &Former{T: tmpl, ID: 0, Log: slog.New(slog.DiscardHandler), Every: time.Millisecond, Gateway: &gws[0].Attestation}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	gw, err := f.GatherGateways(ctx, f.Gateway)
	if err != nil {
		t.Fatalf("seed %d: %v", seed, err)
	}
	encl, enr := testReplicas(t, tmpl, seed)
	shares, err := DealGroupKey(encl[0][spec.RoleExec], 0, enr)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := Assemble(tmpl, enr, gw, shares[0].GroupKey)
	if err != nil {
		t.Fatalf("seed %d: %v", seed, err)
	}
	if len(cfg.Clients) != len(tmpl.Clients)+8 {
		t.Fatalf("seed %d: %d clients registered, want %d and 8 gateway identities", seed, len(cfg.Clients), len(tmpl.Clients))
	}
	for i, e := range gws {
		for _, id := range e.Identities {
			if c := cfg.Client(id.ID); c == nil || *c != id.Registration() {
				t.Errorf("seed %d: gateway %d identity %d registered as %+v", seed, i, id.ID, c)
			}
		}
	}
	if _, err := checkCopy(tmpl, nil, spec.Encode(cfg)); err != nil {
		t.Errorf("seed %d: a client refuses the configuration: %v", seed, err)
	}
	if _, err := Assemble(tmpl, enr, gw[1:], shares[0].GroupKey); err == nil || !strings.Contains(err.Error(), "the template assigns") {
		t.Errorf("seed %d: assembled without one gateway identity: %v", seed, err)
	}
}

// TestFormationRefusesGateways: a peer's gateway attestation that breaks GW2–GW6 of
// SPEC.md §16.2 ends formation with an error that says why.
func TestFormationRefusesGateways(t *testing.T) {
	const seed = 22
	for _, c := range []struct {
		name string
		mod  func(tmpl *Template, a *spec.GatewayAttestation)
		want string
	}{
		{"other replica's ids", func(_ *Template, a *spec.GatewayAttestation) { a.Enrollment.ClientIDs = []uint64{1, 2} }, "the template assigns"},
		{"other replica", func(_ *Template, a *spec.GatewayAttestation) { a.Enrollment.Replica = 3 }, "enrollment for replica 3"},
		{"zero box key", func(_ *Template, a *spec.GatewayAttestation) { a.Enrollment.BoxKeys[0] = spec.PublicKey{} }, "zero box key"},
		{"no TLS key", func(_ *Template, a *spec.GatewayAttestation) { a.Enrollment.TLSKey = nil }, "TLS key of 0 bytes"},
		{"dev-insecure not allowed", func(tmpl *Template, _ *spec.GatewayAttestation) { tmpl.AllowDevInsecure = false }, "AllowDevInsecure is false"},
		{"forged evidence", func(_ *Template, a *spec.GatewayAttestation) {
			a.Evidence = spec.Evidence{Format: spec.EvidenceEgoSGX, Data: []byte("q")}
		}, "report not verified"},
	} {
		tmpl, gws := gatewayFixture(t, seed)
		bad := gws[2].Attestation
		c.mod(tmpl, &bad)
		servePeers(t, tmpl, func(i int) *spec.GatewayAttestation {
			if i == 2 {
				return &bad
			}
			return &gws[i].Attestation
		})
		f := &Former{T: tmpl, ID: 0, Log: slog.New(slog.DiscardHandler), Every: time.Millisecond}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, err := f.GatherGateways(ctx, &gws[0].Attestation)
		cancel()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("seed %d: %s: %v, want an error containing %q", seed, c.name, err, c.want)
		}
	}
}

// TestReadGatewayAttestation: the gateway's first frame is read strictly, and a gateway
// that publishes nothing in time is given up on.
func TestReadGatewayAttestation(t *testing.T) {
	_, gws := gatewayFixture(t, 23)
	var good bytes.Buffer
	spec.WriteFrame(&good, &spec.Frame{Op: spec.FrameResult, Body: spec.Encode(&gws[1].Attestation)})
	var wrongOp, garbage bytes.Buffer
	spec.WriteFrame(&wrongOp, &spec.Frame{Op: spec.FrameError, Body: spec.Encode(&gws[1].Attestation)})
	spec.WriteFrame(&garbage, &spec.Frame{Op: spec.FrameResult, Body: []byte{0x83, 1, 2}})
	for _, c := range []struct {
		name string
		in   io.Reader
		want string
	}{
		{"good", &good, ""},
		{"empty", strings.NewReader(""), "published no enrollment: EOF"},
		{"wrong op", &wrongOp, "has op 4"},
		{"garbage", &garbage, "does not decode"},
	} {
		a, err := ReadGatewayAttestation(c.in)
		switch {
		case c.want == "" && (err != nil || a.Enrollment.Replica != 1):
			t.Errorf("%s: %v", c.name, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
	r, w := io.Pipe()
	defer w.Close()
	if _, err := readWithin(context.Background(), r, time.Millisecond); err == nil || !strings.Contains(err.Error(), "within") {
		t.Errorf("a silent gateway: %v", err)
	}
}
