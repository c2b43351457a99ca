package operator

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestFetchChainFallsBackOnlyOn404: a replica that does not serve /chain (404, an
// older version) is read through /config as a genesis copy; one that answers /chain
// 503 (recovering the whole cluster) is not, although its /config answers, since a
// recovery finishing between the two requests would make the recovered epoch's
// configuration pass for a genesis copy.
func TestFetchChainFallsBackOnlyOn404(t *testing.T) {
	for _, tc := range []struct {
		chainCode int
		fallback  bool
	}{{http.StatusNotFound, true}, {http.StatusServiceUnavailable, false}} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch r.URL.Path {
			case "/chain":
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
			t.Fatalf("/chain %d: fell back to /config %t (err %v), want %t", tc.chainCode, got, err, tc.fallback)
		}
	}
}
