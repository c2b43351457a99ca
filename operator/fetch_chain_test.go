package operator

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestFetchChainFallsBack: a replica that does not serve /chain (404, an older
// version; 503, not running yet) is read through /config as a genesis copy; one that
// answers /chain that it recovers the whole cluster is not, although its /config
// answers, since a recovery finishing between the two requests would make the
// recovered epoch's configuration pass for a genesis copy.
func TestFetchChainFallsBack(t *testing.T) {
	for _, tc := range []struct {
		chainCode int
		phase     string
		fallback  bool
	}{{http.StatusNotFound, "", true}, {http.StatusServiceUnavailable, "", true}, {http.StatusServiceUnavailable, PhaseRecovering, false}} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch r.URL.Path {
			case "/chain":
				if tc.phase != "" {
					w.Header().Set(PhaseHeader, tc.phase)
				}
				http.Error(w, "no chain here", tc.chainCode)
			case "/config":
				w.Write([]byte{0x80})
			default:
				http.NotFound(w, r)
			}
		}))
		tmpl := &Template{N: 1, Replicas: []ReplicaTemplate{{Status: strings.TrimPrefix(srv.URL, "http://")}}}
		c, err := fetchChain(context.Background(), tmpl, 0, 2*time.Second)
		srv.Close()
		if got := err == nil && c != nil && string(c.Genesis) == "\x80"; got != tc.fallback {
			t.Fatalf("/chain %d %q: fell back to /config %t (err %v), want %t", tc.chainCode, tc.phase, got, err, tc.fallback)
		}
	}
}
