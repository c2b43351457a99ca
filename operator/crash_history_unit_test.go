package operator

import (
	"strings"
	"testing"
	"time"
)

// histStep is one recorded operation of a hand-written history: client c calls op at
// call and gets out at ret ("" : unknown outcome, returns at infinity).
type histStep struct {
	c         int
	verb, key string
	val       string // put, cas, cas-absent: the new value
	exp       string // cas: the expected value
	call, ret int64
	out       string
}

func buildHistory(steps []histStep) *crashHistory {
	h := &crashHistory{}
	for _, s := range steps {
		op := Op{Verb: s.verb, Key: []byte(s.key), Value: []byte(s.val), Expected: []byte(s.exp)}
		h.clock.Store(s.ret - 1)
		h.ret(s.c, op, s.call, s.out)
	}
	h.clock.Store(1000)
	return h
}

// TestCrashHistoryChecks: the crash test's checks accept what a crash may leave
// (an unknown write taking effect or not, later) and reject a lost acknowledged write,
// a value from nowhere and a stale read.
func TestCrashHistoryChecks(t *testing.T) {
	putA := histStep{c: 0, verb: "put", key: "k0", val: "a", call: 1, ret: 2, out: "ok"}
	putB := histStep{c: 1, verb: "put", key: "k0", val: "b", call: 3, ret: 4, out: "ok"}
	lostC := histStep{c: 2, verb: "put", key: "k0", val: "c", call: 5, out: ""}
	del := histStep{c: 0, verb: "del", key: "k0", call: 5, ret: 6, out: `ok "b"`}
	for _, tc := range []struct {
		name      string
		steps     []histStep
		read      string // what a get of k0 at time 100 answers
		readBack  string // checkReadBack's error, "" for none
		linearize bool
	}{
		{"last acknowledged write", []histStep{putA, putB}, `ok "b"`, "", true},
		{"acknowledged write lost", []histStep{putA, putB}, `ok "a"`, "acknowledged write is missing", false},
		{"value from nowhere", []histStep{putA}, `ok "z"`, "acknowledged write is missing", false},
		{"all lost", []histStep{putA}, "notfound", "acknowledged write is missing", false},
		{"unknown write took effect", []histStep{putA, putB, lostC}, `ok "c"`, "", true},
		{"unknown write did not", []histStep{putA, putB, lostC}, `ok "b"`, "", true},
		{"acknowledged delete", []histStep{putA, putB, del}, "notfound", "", true},
		{"delete lost", []histStep{putA, putB, del}, `ok "b"`, "acknowledged write is missing", false},
		{"cas mismatch writes nothing", []histStep{putA, {c: 1, verb: "cas", key: "k0", exp: "x", val: "y", call: 3, ret: 4, out: `mismatch "a"`}}, `ok "y"`, "acknowledged write is missing", false},
		{"concurrent writes, either order", []histStep{{c: 0, verb: "put", key: "k0", val: "a", call: 1, ret: 4, out: "ok"}, {c: 1, verb: "put", key: "k0", val: "b", call: 2, ret: 3, out: "ok"}}, `ok "a"`, "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := buildHistory(tc.steps)
			err := h.checkReadBack("k0", tc.read, 100)
			if (tc.readBack == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.readBack)) {
				t.Fatalf("checkReadBack(%s) = %v, want %q", tc.read, err, tc.readBack)
			}
			h.ret(9, Op{Verb: "get", Key: []byte("k0")}, 100, tc.read)
			if err := h.checkLinearizable(10 * time.Second); (err == nil) != tc.linearize {
				t.Fatalf("linearizable: %v, want %v", err, tc.linearize)
			}
		})
	}
}
