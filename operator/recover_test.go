package operator

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
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

// TestRecoverSlot: replica i recovers only in its own slots (t mod n == i), once per
// slot, and not within a slot of the last epoch change (SPEC §17.6), so at most one
// replica recovers at a time.
func TestRecoverSlot(t *testing.T) {
	slot := time.Minute
	base := time.Unix(0, 0).Add(400 * slot) // slot 400: 400 mod 4 == 0
	old := base.Add(-time.Hour)
	for _, tc := range []struct {
		name    string
		now     time.Time
		id      uint64
		last    int64
		epochAt time.Time
		ok      bool
	}{
		{"own slot", base.Add(time.Second), 0, -1, old, true},
		{"another's slot", base.Add(time.Second), 1, -1, old, false},
		{"next replica's slot", base.Add(slot + time.Second), 1, -1, old, true},
		{"already this slot", base.Add(30 * time.Second), 0, 400, old, false},
		{"epoch changed within a slot", base.Add(time.Second), 0, -1, base.Add(-30 * time.Second), false},
	} {
		if _, ok := recoverSlot(tc.now, slot, 4, tc.id, tc.last, tc.epochAt); ok != tc.ok {
			t.Errorf("%s: %v, want %v", tc.name, ok, tc.ok)
		}
	}
}
