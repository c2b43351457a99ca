package operator

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/splitbft/splitbft/attest"
	"github.com/splitbft/splitbft/client"
	"github.com/splitbft/splitbft/spec"
)

// assembled forms a configuration of tmpl from fresh in-process enclaves drawn from
// seed: two seeds give two valid configurations of one template, as when a replica
// restarts alone and forms a cluster of its own.
func assembled(t *testing.T, tmpl *Template, seed uint64) []byte {
	t.Helper()
	encl, enr := testReplicas(t, tmpl, seed)
	shares, err := DealGroupKey(encl[0][spec.RoleExec], 0, enr)
	if err != nil {
		t.Fatal(err)
	}
	g, err := CheckShares(shares, 0, enr)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := Assemble(tmpl, enr, nil, g)
	if err != nil {
		t.Fatal(err)
	}
	return spec.Encode(cfg)
}

// serveConfigs points every replica's status address of tmpl at a server answering
// GET /config with serve[i] (nil: 503, as a replica that has not formed).
func serveConfigs(t *testing.T, tmpl *Template, serve [][]byte) {
	t.Helper()
	for i := range tmpl.Replicas {
		body := serve[i]
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if body == nil || r.URL.Path != "/config" {
				http.Error(w, "not formed", http.StatusServiceUnavailable)
				return
			}
			w.Write(body)
		}))
		t.Cleanup(srv.Close)
		tmpl.Replicas[i].Status = strings.TrimPrefix(srv.URL, "http://")
	}
}

// TestFetchConfigIgnoresMinority checks that a client takes the configuration f+1
// replicas serve and is not blocked by a replica serving another valid one (a replica
// restarted alone), garbage, or nothing; and that it refuses when no configuration has
// f+1 copies or two valid ones do.
func TestFetchConfigIgnoresMinority(t *testing.T) {
	tmpl := validTemplate(t)
	good, other := assembled(t, tmpl, 1), assembled(t, tmpl, 2)
	garbage := []byte{0x83, 0x01}
	allow := attest.VerifierFunc(func([]byte) (attest.Report, error) { return attest.Report{}, errors.New("no ego evidence here") })
	tests := []struct {
		name  string
		serve [][]byte
		want  []byte // nil: an error
		err   string
	}{
		{"all agree", [][]byte{good, good, good, good}, good, ""},
		{"one replica formed alone", [][]byte{other, good, good, good}, good, ""},
		{"f+1 copies, rest down or garbage", [][]byte{good, nil, garbage, good}, good, ""},
		{"only f copies", [][]byte{good, nil, nil, other}, nil, "not formed"},
		{"two valid configurations with f+1 each", [][]byte{good, good, other, other}, nil, "two different valid configurations"},
		{"f+1 copies of garbage", [][]byte{garbage, garbage, nil, good}, nil, "does not decode"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tmpl := validTemplate(t)
			serveConfigs(t, tmpl, tc.serve)
			cfg, err := FetchConfig(context.Background(), tmpl, allow, 5*time.Second)
			if tc.want == nil {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %v, want an error containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, spec.Encode(cfg)); diff != "" {
				t.Errorf("wrong configuration (-want +got):\n%s", diff)
			}
		})
	}
}

// TestKVRegisteredKeys: kv checks the credentials against the configuration's
// registration of their id, keys included: a client registered with another
// signing or box key (removed and added again with new keys, say) is told so,
// before it connects to be refused.
func TestKVRegisteredKeys(t *testing.T) {
	ident := func(id uint64, seed string) client.Identity {
		t.Helper()
		c, err := client.NewIdentity(id, spec.TestStream("operator-kv-registered-"+seed, 1))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	own, other := ident(5, "own"), ident(5, "other")
	cfg := &spec.Config{Epoch: 3, Clients: []spec.ClientConfig{ident(1, "one").Registration(), own.Registration()}}
	if err := registered(cfg, own); err != nil {
		t.Fatalf("the registered keys: %v", err)
	}
	if err := registered(cfg, other); err == nil || !strings.Contains(err.Error(), "client 5 is registered with another key in the cluster's configuration of epoch 3: sign key") {
		t.Fatalf("another signing key: %v", err)
	}
	boxOnly := own
	boxOnly.BoxPrivate = other.BoxPrivate
	if err := registered(cfg, boxOnly); err == nil || !strings.Contains(err.Error(), "client 5 is registered with another key in the cluster's configuration of epoch 3: box key") {
		t.Fatalf("another box key: %v", err)
	}
	if err := registered(cfg, ident(7, "seven")); err == nil || !strings.Contains(err.Error(), "client 7 is not registered in the cluster's configuration of epoch 3 (registered clients: 1, 5)") {
		t.Fatalf("an unregistered client: %v", err)
	}
}
