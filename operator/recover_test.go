package operator

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestServeRecover: the recover endpoint answers loopback clients only, and says
// what is wrong with a bad role, an unknown build, or a replica not running yet.
func TestServeRecover(t *testing.T) {
	tmpl := validTemplate(t)
	rp := &replica{t: tmpl, opt: ReplicaOptions{ID: 1}, log: slog.New(slog.DiscardHandler), n: &node{id: 1, t: tmpl}}
	rp.n.recover = rp.serveRecover
	h := rp.n.handler()
	for _, tc := range []struct {
		name, remote, query string
		code                int
		body                string
	}{
		{"remote", "192.0.2.7:4000", "role=prep", http.StatusForbidden, "loopback only"},
		{"bad role", "127.0.0.1:4000", "role=broker", http.StatusBadRequest, "prep, conf or exec"},
		{"unknown build", "127.0.0.1:4000", "role=prep&build=prep-z", http.StatusInternalServerError, `unknown prep build "prep-z"`},
		{"not running", "[::1]:4000", "role=conf", http.StatusInternalServerError, "not running yet"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, RecoverPath+"?"+tc.query, nil)
			req.RemoteAddr = tc.remote
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != tc.code || !strings.Contains(w.Body.String(), tc.body) {
				t.Fatalf("%d %q, want %d with %q", w.Code, w.Body.String(), tc.code, tc.body)
			}
		})
	}
}
