package operator

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestConfigNotServedWhileRecovering: a replica recovering the whole cluster answers
// GET /config with 503, like GET /chain (SPEC §17.8), so that a client does not take
// the configuration of the epoch being recovered for a genesis copy; once recovered
// it serves its configuration again.
func TestConfigNotServedWhileRecovering(t *testing.T) {
	n := &node{cfgRaw: []byte{0xa0}}
	for _, tc := range []struct {
		recovering bool
		code       int
	}{{true, http.StatusServiceUnavailable}, {false, http.StatusOK}} {
		n.recovering = tc.recovering
		w := httptest.NewRecorder()
		n.handler().ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/config", nil))
		if w.Code != tc.code {
			t.Errorf("recovering %v: GET /config answered %d, want %d", tc.recovering, w.Code, tc.code)
		}
	}
}
