package broker

import (
	"slices"
	"testing"

	"github.com/splitbft/splitbft/spec"
)

// fakeLedger is a Ledger whose durability the test sets by hand (the "fsync").
type fakeLedger struct {
	durable  uint64
	executed []uint64      // Last of every Executed call
	observed []uint64      // kinds observed
	epochs   []spec.Digest // digest of the configuration of every Epoch call
	accepted [][]byte      // every COMMIT reported accepted
}

func (l *fakeLedger) Epoch(_ []byte, _ *spec.Step, next *spec.Config) {
	l.epochs = append(l.epochs, spec.ConfigDigest(next))
}

func (l *fakeLedger) Observe(kind uint64, _ []byte, _ any) { l.observed = append(l.observed, kind) }
func (l *fakeLedger) Executed(last uint64, batch func(spec.Digest) ([]byte, bool)) {
	l.executed = append(l.executed, last)
}
func (l *fakeLedger) Durable() uint64 { return l.durable }
func (l *fakeLedger) Accepted(kind uint64, raw []byte, _ spec.Digest) {
	l.accepted = append(l.accepted, raw)
}

// TestReplyWaitsForDurable: with a Ledger, a reply is released only once the batch it
// answers (exec's Last after the Step that produced it) is durable, in order; the
// ledger learns every COMMIT routed and every advance of exec's Last (SPEC.md §13.5).
func TestReplyWaitsForDurable(t *testing.T) {
	led := &fakeLedger{}
	h := newHarness(t, 1, Options{Ledger: led})
	ts := uint64(0)
	h.enc[spec.RoleExec].script = func(f *fakeEnclave, in spec.Input) []spec.Output {
		f.st.Last++ // each commit executes one batch with one reply
		ts++
		return []spec.Output{{Kind: spec.KindReply, Body: spec.Encode(&spec.Reply{Client: 100, Timestamp: ts, Replica: 1})}}
	}
	step := func() { // one exec Step with one commit
		h.peer(2, spec.KindCommit, &spec.Commit{Body: spec.Slot{Seq: ts + 1, Replica: 2}})
		h.r.Flush()
	}
	released := func() []uint64 {
		var out []uint64
		for _, s := range h.net.replies {
			var rep spec.Reply
			if err := spec.Decode(s.msg, &rep, spec.MaxBodyBytes(spec.KindReply)); err != nil {
				t.Fatal(err)
			}
			out = append(out, rep.Timestamp)
		}
		return out
	}
	for i, c := range []struct {
		steps   int    // exec steps before setting durable
		durable uint64 // then the ledger's durable seq
		want    []uint64
	}{
		{1, 0, nil},               // executed seq 1, nothing durable: held
		{1, 1, []uint64{1}},       // seq 2 executed, seq 1 durable: reply 1 only
		{0, 1, []uint64{1}},       // a Flush without news releases nothing more
		{1, 2, []uint64{1, 2}},    // seq 3 executed, 2 durable
		{0, 3, []uint64{1, 2, 3}}, // the rest
	} {
		for range c.steps {
			step()
		}
		led.durable = c.durable
		h.r.Flush()
		if got := released(); !slices.Equal(got, c.want) {
			t.Fatalf("case %d: released %v, want %v (held %d)", i, got, c.want, h.r.Sizes().Held)
		}
	}
	if !slices.Equal(led.executed, []uint64{1, 2, 3}) {
		t.Fatalf("Executed calls %v, want [1 2 3]", led.executed)
	}
	if !slices.Contains(led.observed, spec.KindCommit) {
		t.Fatalf("the ledger observed %v, no commit", led.observed)
	}
	if h.r.Metrics().Replies != 3 || h.r.Sizes().Held != 0 {
		t.Fatalf("replies %d held %d", h.r.Metrics().Replies, h.r.Sizes().Held)
	}
}

// TestHeldRepliesBounded: replies held for durability are bounded in number and in
// bytes (a reply carries all of a request's results); the oldest are dropped and
// counted, and the newest is kept even when it alone is above the byte bound.
func TestHeldRepliesBounded(t *testing.T) {
	for _, tc := range []struct {
		name                 string
		opt                  Options
		size                 func(ts uint64) int // ciphertext bytes of reply ts
		replies              uint64
		held, drops, release int
	}{
		{"by count", Options{HeldReplies: 2}, func(uint64) int { return 0 }, 5, 2, 3, 2},
		// 1,000 + 2,000 bytes > 2,500: the first goes; then 3,000 alone
		{"by bytes", Options{HeldReplyBytes: 2500}, func(ts uint64) int { return int(1000 * ts) }, 3, 1, 2, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			led := &fakeLedger{}
			tc.opt.Ledger = led
			h := newHarness(t, 1, tc.opt)
			ts := uint64(0)
			h.enc[spec.RoleExec].script = func(f *fakeEnclave, in spec.Input) []spec.Output {
				f.st.Last++
				ts++
				body := spec.Encode(&spec.Reply{Client: 100, Timestamp: ts, Replica: 1, Ciphertext: make([]byte, tc.size(ts))})
				return []spec.Output{{Kind: spec.KindReply, Body: body}}
			}
			for s := range tc.replies {
				h.peer(2, spec.KindCommit, &spec.Commit{Body: spec.Slot{Seq: s + 1, Replica: 2}})
				h.r.Flush()
			}
			if got := h.r.Sizes().Held; got != tc.held {
				t.Fatalf("held %d, want %d", got, tc.held)
			}
			if d := h.r.Metrics().QueueDrops; d != uint64(tc.drops) {
				t.Fatalf("queue drops %d, want %d", d, tc.drops)
			}
			led.durable = tc.replies
			h.r.Flush()
			if len(h.net.replies) != tc.release {
				t.Fatalf("released %d, want %d", len(h.net.replies), tc.release)
			}
		})
	}
}

// TestAcceptedCommitsReported: after an exec Step the broker reports to the Ledger
// exactly the COMMITs exec accepted (no rejection names them), none of a Step whose
// rejections do not match its inputs or in which exec emitted a chain step, and none
// while exec's configuration is not known to be the broker's, until exec accepts a
// configure (SPEC.md §13.5).
func TestAcceptedCommitsReported(t *testing.T) {
	led := &fakeLedger{}
	h := newHarness(t, 1, Options{Ledger: led})
	var seen, idx int
	badKind := false
	h.enc[spec.RoleExec].script = func(f *fakeEnclave, in spec.Input) []spec.Output {
		if len(f.steps) != seen { // a new Step
			seen, idx = len(f.steps), 0
		}
		i := idx
		idx++
		var c spec.Commit
		if in.Kind != spec.KindCommit || spec.Decode(in.Body, &c, spec.MaxBodyBytes(spec.KindCommit)) != nil {
			return nil
		}
		if c.Body.Seq == 12 { // exec emits a chain step in the middle of the Step
			return []spec.Output{{Kind: spec.KindEpochChange, Body: []byte{0}}}
		}
		if c.Body.Seq%2 == 0 {
			return nil
		}
		rj := spec.Rejection{Index: uint64(i), Kind: spec.KindCommit, Code: spec.CodeBadSignature}
		if badKind {
			rj.Kind = spec.KindPrepare
		}
		return []spec.Output{{Kind: spec.KindReject, Body: spec.Encode(&rj)}}
	}
	deliver := func(seqs ...uint64) []uint64 {
		led.accepted = nil
		for _, s := range seqs {
			h.peer(2, spec.KindCommit, &spec.Commit{Body: spec.Slot{Seq: s, Replica: 2}})
		}
		h.r.Flush()
		var got []uint64
		for _, raw := range led.accepted {
			var c spec.Commit
			if err := spec.Decode(raw, &c, spec.MaxBodyBytes(spec.KindCommit)); err != nil {
				t.Fatal(err)
			}
			got = append(got, c.Body.Seq)
		}
		return got
	}
	if got := deliver(1, 2, 3, 4); !slices.Equal(got, []uint64{2, 4}) {
		t.Fatalf("accepted reported %v, want [2 4]", got)
	}
	badKind = true
	if got := deliver(5, 6); got != nil {
		t.Fatalf("a Step with a rejection naming another kind: reported %v, want none", got)
	}
	badKind = false
	h.r.execCD = spec.Digest{} // as after an epoch exec has not accepted yet
	if got := deliver(8); got != nil {
		t.Fatalf("exec's configuration unknown: reported %v, want none", got)
	}
	h.r.enqueue(spec.RoleExec, spec.KindConfigure, spec.Encode(&spec.Configure{Config: spec.Encode(h.r.cfg)}))
	if got := deliver(10); !slices.Equal(got, []uint64{10}) {
		t.Fatalf("after exec accepted configure: reported %v, want [10]", got)
	}
	if got := deliver(14, 12, 16); got != nil {
		t.Fatalf("a Step in which exec emitted an epoch change: reported %v, want none", got)
	}
}
