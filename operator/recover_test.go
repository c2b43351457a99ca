package operator

import (
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/splitbft/splitbft/spec"
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

// TestAdmitSubmitter: retries of one admission in one epoch are the same request (the
// same timestamp, so it executes once, SPEC §17.5 step 3); another epoch or other
// operations make a new one; a replica without a broker client says so.
func TestAdmitSubmitter(t *testing.T) {
	dir := t.TempDir() + "/c"
	tmpl, err := Init(dir, testOptions(), spec.TestStream("submitter", 1))
	if err != nil {
		t.Fatal(err)
	}
	id, err := LoadBrokerClient(dir, tmpl, 2)
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := chainFixtureCfg(t, tmpl)
	s := &admitSubmitter{id: id}
	ops := [][]byte{[]byte("op-a"), []byte("op-b")}
	first, err := s.submit(cfg, ops)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := s.submit(cfg, [][]byte{[]byte("op-a"), []byte("op-b")})
	other, _ := s.submit(cfg, ops[:1])
	if string(first) != string(again) || string(first) == string(other) {
		t.Fatal("a retry is not the same request, or other operations are")
	}
	var q spec.Request
	if err := spec.Decode(first, &q, spec.MaxBodyBytes(spec.KindRequest)); err != nil || q.Body.Client != tmpl.Replicas[2].BrokerClient || len(q.Body.Ops) != 2 {
		t.Fatalf("request %+v (%v): want client %d with 2 operations", q.Body, err, tmpl.Replicas[2].BrokerClient)
	}
	none := &admitSubmitter{err: errors.New("no broker client")}
	if _, err := none.submit(cfg, ops); err == nil {
		t.Fatal("a replica without a broker client submitted")
	}
}

// chainFixtureCfg is a valid configuration registering tmpl's clients.
func chainFixtureCfg(t *testing.T, tmpl *Template) (*spec.Config, error) {
	t.Helper()
	_, enr := testReplicas(t, tmpl, 3)
	cfg, err := Assemble(tmpl, enr, nil, spec.PublicKey{7, 7})
	if err != nil {
		t.Fatal(err)
	}
	return cfg, nil
}
