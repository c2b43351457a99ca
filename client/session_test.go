package client

import (
	"bytes"
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/splitbft/splitbft/spec"
)

func TestSealOpenRoundTrip(t *testing.T) {
	fx := newFixture(t, 1, 1)
	s := fx.session(t)
	ops := [][]byte{PutOp([]byte("k"), []byte("v")), GetOp([]byte("k")), []byte{0x01}}
	req, ts, err := s.Prepare(ops)
	if err != nil {
		t.Fatal(err)
	}
	r, got := fx.openOps(t, req)
	if ts != 1 || r.Body.Timestamp != 1 || r.Body.Client != fx.id.ID {
		t.Fatalf("ts=%d body=%+v", ts, r.Body)
	}
	if d := cmp.Diff(ops, got); d != "" {
		t.Fatalf("opened ops differ (-sent +opened):\n%s", d)
	}
	// The AEAD binds the op's own timestamp: op 0 does not open as timestamp 2.
	k, _ := requestKey(fx.groupKey, fx.id.BoxKey(), fx.cd, fx.id.ID)
	if _, err := open(k, r.Body.Ops[0].Nonce, r.Body.Ops[0].Ciphertext, requestAD(fx.cd, fx.id.ID, 2)); err == nil {
		t.Fatal("op opened under another timestamp")
	}
	// Every op passes R3: 17 ≤ len(ciphertext) ≤ MaxOpBytes.
	for _, op := range r.Body.Ops {
		if len(op.Ciphertext) < 17 || uint64(len(op.Ciphertext)) > fx.cfg.MaxOpBytes {
			t.Fatalf("ciphertext length %d", len(op.Ciphertext))
		}
	}
}

func TestReplyKeySymmetric(t *testing.T) {
	fx := newFixture(t, 1, 2)
	for r := range fx.cfg.N {
		a, err1 := replyKey(fx.id.BoxPrivate, fx.cfg.Replicas[r].Exec.Body.BoxKey, fx.cd, fx.id.ID, r)
		b, err2 := replyKey(fx.execBox[r], fx.id.BoxKey(), fx.cd, fx.id.ID, r)
		if err1 != nil || err2 != nil || a != b {
			t.Fatalf("replica %d: client and exec derive different reply keys", r)
		}
	}
	if _, err := x25519(fx.id.BoxPrivate, spec.PublicKey{}); !errors.Is(err, errLowOrder) {
		t.Fatalf("zero point: err=%v, want low order", err)
	}
}

func TestCompletesOnFPlusOneMatching(t *testing.T) {
	fx := newFixture(t, 1, 3)
	s := fx.session(t)
	_, ts, err := s.Prepare([][]byte{GetOp([]byte("a")), GetOp([]byte("b"))})
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		reply []byte
		want  error
		done  bool
	}{
		{fx.reply(0, ts, 0, ok("A"), ok("B")), nil, false},
		{fx.reply(3, ts, 0, ok("A"), ok("WRONG")), nil, false},                          // one faulty exec: equal first result, other list
		{fx.replyFor(2, ts, 2, 0, ok("A")), ErrMalformedReply, false},                   // one result for two operations: not counted
		{fx.replyFor(2, ts, 2, 0, ok("A"), ok("B"), ok("C")), ErrMalformedReply, false}, // three: not counted either
		{fx.replyFor(2, ts, 1, 0, ok("A")), ErrUnknownTimestamp, false},                 // no reply per operation any more
		{fx.reply(1, ts, 0, ok("A"), ok("B")), nil, true},                               // f+1 equal lists
	}
	for i, st := range steps {
		c, done, err := s.HandleReply(st.reply)
		if !errors.Is(err, st.want) || (st.want == nil && err != nil) || done != st.done {
			t.Fatalf("step %d: done=%v err=%v, want done=%v err %v", i, done, err, st.done, st.want)
		}
		if d := cmp.Diff(Completion{Timestamp: ts, Results: []spec.Result{ok("A"), ok("B")}}, c); done && d != "" {
			t.Fatalf("step %d: completion (-want +got):\n%s", i, d)
		}
	}
	if _, _, ok := s.Outstanding(); ok {
		t.Fatal("request still outstanding after completion")
	}
	if _, _, err := s.HandleReply(fx.reply(2, ts, 0, ok("A"), ok("B"))); !errors.Is(err, ErrUnknownTimestamp) {
		t.Fatalf("late reply after completion: %v", err)
	}
}

// TestSixteenOpsOneReplyEach: a request of sixteen operations is decided by f+1
// matching replies, one per replica, with all sixteen results in order; a faulty
// replica's list that differs in one position counts for nothing, not even for the
// positions where it agrees.
func TestSixteenOpsOneReplyEach(t *testing.T) {
	const seed = 63
	fx := newFixtureOps(t, 1, seed, 16)
	s := fx.session(t)
	ops := make([][]byte, 16)
	want := make([]spec.Result, 16)
	for j := range ops {
		ops[j] = GetOp([]byte{byte('a' + j)})
		want[j] = ok(string(rune('A' + j)))
	}
	_, ts, err := s.Prepare(ops)
	if err != nil {
		t.Fatalf("seed %d: %v", seed, err)
	}
	lie := slices.Clone(want)
	lie[7] = spec.Result{Status: spec.StatusNotFound, Value: want[7].Value} // one position differs
	for i, st := range []struct {
		reply []byte
		want  error
	}{
		{fx.reply(3, ts, 0, lie...), nil},                            // faulty replica 3
		{fx.replyFor(1, ts, 16, 0, want[:15]...), ErrMalformedReply}, // fifteen results: not counted
		{fx.reply(0, ts, 0, want...), nil},                           // does not match replica 3's list
		{fx.reply(3, ts, 0, want...), ErrDuplicateReplica},           // replica 3 answered already
	} {
		if _, done, err := s.HandleReply(st.reply); done || !errors.Is(err, st.want) || (st.want == nil && err != nil) {
			t.Fatalf("seed %d step %d: done=%v err=%v, want not done and %v", seed, i, done, err, st.want)
		}
	}
	if got := s.Answered(); !reflect.DeepEqual(got, []uint64{0, 3}) {
		t.Fatalf("seed %d: answered %v, want [0 3]", seed, got)
	}
	c, done, err := s.HandleReply(fx.reply(2, ts, 0, want...))
	if err != nil || !done {
		t.Fatalf("seed %d: second correct reply: done=%v err=%v, want the completion", seed, done, err)
	}
	if d := cmp.Diff(Completion{Timestamp: ts, Results: want}, c); d != "" {
		t.Fatalf("seed %d: completion (-want +got):\n%s", seed, d)
	}
}

// TestNeverAcceptsWrongResult plays f faulty execs that send arbitrary (and colluding)
// wrong result lists, wrong at random positions, repeatedly, interleaved at random with
// correct replies: the session either completes with the correct results or not at all.
func TestNeverAcceptsWrongResult(t *testing.T) {
	for _, f := range []uint64{1, 2} {
		for seed := uint64(0); seed < 40; seed++ {
			fx := newFixture(t, f, 100+seed)
			rng := rand.New(rand.NewPCG(seed, f))
			s := fx.session(t)
			_, ts, err := s.Prepare([][]byte{GetOp([]byte("x")), GetOp([]byte("y"))})
			if err != nil {
				t.Fatal(err)
			}
			faulty := map[uint64]bool{}
			for uint64(len(faulty)) < f {
				faulty[rng.Uint64N(fx.cfg.N)] = true
			}
			evil := func() spec.Result { return ok([]string{"good", "evil", "evil2"}[rng.IntN(3)]) }
			var replies [][]byte
			for r := range fx.cfg.N {
				if faulty[r] {
					replies = append(replies, fx.reply(r, ts, 0, evil(), ok("evil")), fx.reply(r, ts, 0, ok("evil2"), evil()))
					continue
				}
				if rng.IntN(3) > 0 { // some correct replies are lost
					replies = append(replies, fx.reply(r, ts, 0, ok("good"), ok("good")))
				}
			}
			rng.Shuffle(len(replies), func(i, j int) { replies[i], replies[j] = replies[j], replies[i] })
			for _, rep := range replies {
				c, done, _ := s.HandleReply(rep)
				if done {
					for _, res := range c.Results {
						if string(res.Value) != "good" {
							t.Fatalf("f=%d %s: accepted %q", f, seedName(seed), res.Value)
						}
					}
					break
				}
			}
		}
	}
}

func TestRejectsBadReplies(t *testing.T) {
	fx := newFixture(t, 1, 4)
	s := fx.session(t)
	_, ts, err := s.Prepare([][]byte{GetOp([]byte("a"))})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.HandleReply(fx.reply(1, ts, 0, ok("A"))); err != nil {
		t.Fatal(err)
	}
	valid := fx.reply(2, ts, 0, ok("A"))
	mutate := func(f func(r *spec.Reply)) []byte {
		var r spec.Reply
		if err := spec.Decode(valid, &r, 1<<20); err != nil {
			t.Fatal(err)
		}
		f(&r)
		return spec.Encode(&r)
	}
	// A faulty exec 2 sealing a malformed result list under its real key.
	k, _ := replyKey(fx.execBox[2], fx.id.BoxKey(), fx.cd, fx.id.ID, 2)
	garbage := mutate(func(r *spec.Reply) {
		r.Ciphertext = seal(k, r.Nonce, []byte{0x82, 0x00}, replyAD(fx.cd, fx.id.ID, ts, 2, 0))
	})
	// The one-result replies of old: enc(Result) as the plaintext, or the list sealed
	// under the old AD label "splitbft/v1/reply".
	bare := fx.sealedReply(2, ts, 0, spec.Encode(&spec.Result{Status: spec.StatusOK, Value: []byte("A")}))
	oldLabel := mutate(func(r *spec.Reply) {
		ad := spec.AppendAD(nil, "splitbft/v1/reply", fx.cd, fx.id.ID, ts, 2, 0)
		r.Ciphertext = seal(k, r.Nonce, spec.Encode(&spec.ReplyResults{Results: []spec.Result{ok("A")}}), ad)
	})
	cases := []struct {
		name  string
		reply []byte
		want  error
	}{
		{"not cbor", []byte{0xff}, ErrMalformedReply},
		{"trailing bytes", append(bytes.Clone(valid), 0), ErrMalformedReply},
		{"other client", mutate(func(r *spec.Reply) { r.Client = 8 }), ErrWrongClient},
		{"replica out of range", mutate(func(r *spec.Reply) { r.Replica = 4 }), ErrUnknownReplica},
		{"timestamp before", mutate(func(r *spec.Reply) { r.Timestamp = ts - 1 }), ErrUnknownTimestamp},
		{"timestamp after", mutate(func(r *spec.Reply) { r.Timestamp = ts + 1 }), ErrUnknownTimestamp},
		{"tampered ciphertext", mutate(func(r *spec.Reply) { r.Ciphertext[0] ^= 1 }), ErrUndecryptable},
		{"short ciphertext", mutate(func(r *spec.Reply) { r.Ciphertext = r.Ciphertext[:3] }), ErrUndecryptable},
		{"view rewritten", mutate(func(r *spec.Reply) { r.View = 9 }), ErrUndecryptable},
		{"replica rewritten", mutate(func(r *spec.Reply) { r.Replica = 3 }), ErrUndecryptable},
		{"other nonce", mutate(func(r *spec.Reply) { r.Nonce[0] ^= 1 }), ErrUndecryptable},
		{"malformed result", garbage, ErrMalformedReply},
		{"a bare Result", bare, ErrMalformedReply},
		{"no results", fx.replyFor(2, ts, 1, 0), ErrMalformedReply},
		{"two results for one operation", fx.replyFor(2, ts, 1, 0, ok("A"), ok("A")), ErrMalformedReply},
		{"old AD label", oldLabel, ErrUndecryptable},
		{"duplicate replica", fx.reply(1, ts, 0, ok("A")), ErrDuplicateReplica},
		{"duplicate replica, other value", fx.reply(1, ts, 0, ok("B")), ErrDuplicateReplica},
	}
	for _, tc := range cases {
		before := snapshot(s)
		c, done, err := s.HandleReply(tc.reply)
		if !errors.Is(err, tc.want) || done || c.Results != nil {
			t.Errorf("%s: done=%v err=%v, want %v", tc.name, done, err, tc.want)
		}
		if d := cmp.Diff(before, snapshot(s), allFields); d != "" {
			t.Errorf("%s: session state changed (-before +after):\n%s", tc.name, d)
		}
	}
	if _, done, err := s.HandleReply(valid); err != nil || !done {
		t.Fatalf("valid reply after rejections: done=%v err=%v", done, err)
	}
	if _, _, err := s.HandleReply(valid); !errors.Is(err, ErrUnknownTimestamp) {
		t.Fatalf("no request outstanding: %v", err)
	}
}

// snapshot copies the session's mutable state for comparison.
// allFields lets cmp compare the unexported fields of a snapshot.
var allFields = cmp.Exporter(func(reflect.Type) bool { return true })

func snapshot(s *Session) any {
	var out any
	if s.out != nil {
		cp := *s.out
		cp.lists = nil
		for _, l := range s.out.lists {
			l.plain, l.results, l.views = bytes.Clone(l.plain), slices.Clone(l.results), slices.Clone(l.views)
			cp.lists = append(cp.lists, l)
		}
		out = cp
	}
	return []any{s.next, s.viewHint, out}
}

func TestTimestamps(t *testing.T) {
	fx := newFixture(t, 1, 5)
	s := fx.session(t)
	one := [][]byte{GetOp([]byte("a"))}
	three := [][]byte{GetOp([]byte("a")), GetOp([]byte("b")), GetOp([]byte("c"))}
	_, ts1, err := s.Prepare(three)
	if err != nil || ts1 != 1 {
		t.Fatalf("first: ts=%d err=%v", ts1, err)
	}
	if _, _, err := s.Prepare(one); !errors.Is(err, ErrOutstanding) {
		t.Fatalf("second while outstanding: %v", err)
	}
	s.Abandon()
	_, ts2, err := s.Prepare(one)
	if err != nil || ts2 != 4 {
		t.Fatalf("after abandoning a 3-op request: ts=%d err=%v, want 4", ts2, err)
	}
	s.Abandon()
	if err := s.SetNextTimestamp(4); !errors.Is(err, ErrTimestampOrder) {
		t.Fatalf("moving back: %v", err)
	}
	if err := s.SetNextTimestamp(1000); err != nil {
		t.Fatal(err)
	}
	if _, ts, _ := s.Prepare(one); ts != 1000 {
		t.Fatalf("ts=%d, want 1000", ts)
	}
	s.Abandon()
	if err := s.SetNextTimestamp(math.MaxUint64 - 1); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Prepare(three); !errors.Is(err, ErrTimestampExhausted) {
		t.Fatalf("overflow: %v", err)
	}
	if _, ts, err := s.Prepare([][]byte{GetOp([]byte("a")), GetOp([]byte("b"))}); err != nil || ts != math.MaxUint64-1 {
		t.Fatalf("last timestamps: ts=%d err=%v", ts, err)
	}
	s.Abandon()
	if _, _, err := s.Prepare(one); !errors.Is(err, ErrTimestampExhausted) {
		t.Fatalf("after the last timestamp: %v", err)
	}
}

func TestPrepareLimits(t *testing.T) {
	fx := newFixture(t, 1, 6)
	s := fx.session(t)
	big := make([]byte, fx.cfg.MaxOpBytes-aeadOverhead+1)
	cases := []struct {
		name string
		ops  [][]byte
		want error
	}{
		{"no ops", nil, ErrOpCount},
		{"too many ops", make([][]byte, fx.cfg.MaxRequestOps+1), ErrOpCount},
		{"empty op", [][]byte{{}}, ErrOpSize},
		{"op too large", [][]byte{big}, ErrOpSize},
	}
	for _, tc := range cases {
		if _, _, err := s.Prepare(tc.ops); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
		if s.NextTimestamp() != 1 || s.out != nil {
			t.Errorf("%s: session changed", tc.name)
		}
	}
	if _, _, err := s.Prepare([][]byte{big[1:]}); err != nil {
		t.Fatalf("largest op: %v", err)
	}
}

func TestNewSessionChecksRegistration(t *testing.T) {
	fx := newFixture(t, 1, 7)
	other, _ := NewIdentity(7, newReader(99))
	if _, err := NewSession(fx.cfg, other, fx.rnd); err == nil {
		t.Fatal("accepted an identity with other keys")
	}
	other.ID = 8
	if _, err := NewSession(fx.cfg, other, fx.rnd); err == nil {
		t.Fatal("accepted an unregistered identity")
	}
}

func TestPrimaryHint(t *testing.T) {
	fx := newFixture(t, 1, 8)
	s := fx.session(t)
	_, ts, _ := s.Prepare([][]byte{GetOp([]byte("a"))})
	s.HandleReply(fx.reply(3, ts, 9, ok("A"))) // a faulty exec claims view 9
	s.HandleReply(fx.reply(1, ts, 2, ok("A")))
	if s.PrimaryHint() != 2 {
		t.Fatalf("primary hint %d, want 2 (lowest view among the deciding replies)", s.PrimaryHint())
	}
}

// FuzzHandleReply: arbitrary reply bytes never panic the session, and a rejected reply
// leaves its state unchanged.
func FuzzHandleReply(f *testing.F) {
	fx := newFixture(f, 1, 9)
	f.Add(fx.reply(1, 1, 0, ok("A"), ok("B")))
	f.Add([]byte{0x86, 0x07, 0x01, 0x01, 0x00})
	f.Fuzz(func(t *testing.T, reply []byte) {
		s := fx.session(t)
		if _, _, err := s.Prepare([][]byte{GetOp([]byte("a")), GetOp([]byte("b"))}); err != nil {
			t.Fatal(err)
		}
		before := snapshot(s)
		if _, _, err := s.HandleReply(reply); err != nil {
			if d := cmp.Diff(before, snapshot(s), allFields); d != "" {
				t.Fatalf("rejected reply (%v) changed the session (-before +after):\n%s", err, d)
			}
		}
	})
}

// TestAnswered checks the replicas a timed-out request reports as having answered:
// only valid replies count, each replica once, in increasing order.
func TestAnswered(t *testing.T) {
	fx := newFixture(t, 1, 7)
	s := fx.session(t)
	if got := s.Answered(); got != nil {
		t.Fatalf("nothing outstanding: answered %v", got)
	}
	_, ts, err := s.Prepare([][]byte{GetOp([]byte("a")), GetOp([]byte("b"))})
	if err != nil {
		t.Fatal(err)
	}
	nf := spec.Result{Status: spec.StatusNotFound}
	for _, rep := range [][]byte{
		fx.reply(3, ts, 0, nf, ok("x")),
		fx.reply(1, ts, 0, nf, nf),
		fx.replyFor(2, ts, 2, 0, nf), // one result for two operations: counts for nobody
		fx.replyFor(0, ts, 1, 0, nf), // not the request's last operation's timestamp: nor does this
		{0xff},                       // garbage counts for nobody
	} {
		s.HandleReply(rep)
	}
	if got := s.Answered(); !reflect.DeepEqual(got, []uint64{1, 3}) {
		t.Fatalf("answered %v, want [1 3]", got)
	}
}

// TestLateReplyNotOpened: a late reply to an already decided request is not opened (a
// corrupted one is rejected as late, not as undecryptable) and counts for nothing in
// the next request, while a reply to the outstanding request that does not open is
// rejected and leaves its replica free to answer again.
func TestLateReplyNotOpened(t *testing.T) {
	fx := newFixture(t, 1, 7)
	s := fx.session(t)
	_, ts, err := s.Prepare([][]byte{GetOp([]byte("a")), GetOp([]byte("b"))})
	if err != nil {
		t.Fatal(err)
	}
	corrupt := func(reply []byte) []byte {
		var r spec.Reply
		if err := spec.Decode(reply, &r, spec.MaxBodyBytes(spec.KindReply)); err != nil {
			t.Fatal(err)
		}
		r.Ciphertext[0] ^= 1
		return spec.Encode(&r)
	}
	for i, st := range []struct {
		reply []byte
		want  error
		done  bool
	}{
		{fx.reply(0, ts, 0, ok("A"), ok("B")), nil, false},
		{corrupt(fx.reply(1, ts, 0, ok("A"), ok("B"))), ErrUndecryptable, false}, // outstanding: opened
		{fx.reply(1, ts, 0, ok("A"), ok("B")), nil, true},                        // replica 1 may still answer
	} {
		if _, done, err := s.HandleReply(st.reply); done != st.done || !errors.Is(err, st.want) || (st.want == nil && err != nil) {
			t.Fatalf("step %d: done=%v err=%v, want done=%v and %v", i, done, err, st.done, st.want)
		}
	}
	_, ts2, err := s.Prepare([][]byte{GetOp([]byte("c"))})
	if err != nil {
		t.Fatal(err)
	}
	for _, late := range [][]byte{corrupt(fx.reply(2, ts, 0, ok("A"), ok("B"))), fx.reply(2, ts, 0, ok("A"), ok("B"))} {
		if _, done, err := s.HandleReply(late); done || err != errEarlierRequest {
			t.Fatalf("late reply: done=%v err=%v, want errEarlierRequest (not opened)", done, err)
		}
	}
	if got := s.Answered(); len(got) != 0 {
		t.Fatalf("Answered() = %v: the late replies were for the earlier request", got)
	}
	if _, done, err := s.HandleReply(fx.reply(2, ts2, 0, ok("C"))); done || err != nil {
		t.Fatalf("replica 2 on the new request: done=%v err=%v", done, err)
	}
}
