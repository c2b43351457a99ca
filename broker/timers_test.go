package broker

import (
	"slices"
	"testing"

	"github.com/splitbft/splitbft/spec"
)

// suspects returns the views of the Suspect inputs conf received.
func suspects(t *testing.T, f *fakeEnclave) []uint64 {
	var vs []uint64
	for _, in := range f.inputs() {
		if in.Kind == spec.KindSuspect {
			var s spec.Suspect
			if err := spec.Decode(in.Body, &s, 64); err != nil {
				t.Fatal(err)
			}
			vs = append(vs, s.View)
		}
	}
	return vs
}

// confMovesOnSuspect makes the fake conf behave like conf-v1 on suspect (§10.4).
func confMovesOnSuspect(f *fakeEnclave, in spec.Input) []spec.Output {
	if in.Kind == spec.KindSuspect {
		f.st.View++
		f.st.ViewActive = false
	}
	return nil
}

func TestRequestTimerSuspectsWithBackoff(t *testing.T) {
	h := newHarness(t, 1, Options{RequestTimeoutTicks: 5})
	conf := h.enc[spec.RoleConf]
	conf.script = confMovesOnSuspect
	raw, _ := h.w.request(t, 0, 1)
	h.r.HandleClient(raw)
	h.r.Flush()
	coSuspect(h, 2, 0) // f other brokers suspect view 0 too (suspicion gating)
	h.ticks(4)
	if got := suspects(t, conf); len(got) != 0 {
		t.Fatalf("suspected early: %v", got)
	}
	h.ticks(1)
	if got := suspects(t, conf); !slices.Equal(got, []uint64{0}) {
		t.Fatalf("after timeout: %v", got)
	}
	// No NEW-VIEW arrives. The view-change timer does not run before q VIEW-CHANGEs
	// for view 1 are known (so that replicas do not race to different views) …
	h.ticks(50)
	if got := suspects(t, conf); len(got) != 1 {
		t.Fatalf("view-change timer ran without a quorum of view changes: %v", got)
	}
	// … then it runs, doubled (10 ticks), and suspects view 1.
	for _, p := range []uint64{0, 2, 3} {
		h.peer(p, spec.KindViewChange, h.w.viewChange(p, 1))
	}
	h.ticks(9)
	if got := suspects(t, conf); len(got) != 1 {
		t.Fatalf("view-change timer fired early: %v", got)
	}
	h.ticks(1)
	if got := suspects(t, conf); !slices.Equal(got, []uint64{0, 1}) {
		t.Fatalf("view-change timer: %v", got)
	}
	// Doubled again: 20 ticks, once q view changes for view 2 are known.
	for _, p := range []uint64{0, 2, 3} {
		h.peer(p, spec.KindViewChange, h.w.viewChange(p, 2))
	}
	h.ticks(19)
	if got := suspects(t, conf); len(got) != 2 {
		t.Fatalf("second back-off fired early: %v", got)
	}
	h.ticks(1)
	if got := suspects(t, conf); !slices.Equal(got, []uint64{0, 1, 2}) {
		t.Fatalf("second back-off: %v", got)
	}
}

func TestReplyStopsTimer(t *testing.T) {
	h := newHarness(t, 1, Options{RequestTimeoutTicks: 5})
	conf := h.enc[spec.RoleConf]
	conf.script = confMovesOnSuspect
	raw, _ := h.w.request(t, 0, 7)
	h.r.HandleClient(raw)
	h.enc[spec.RoleExec].script = func(f *fakeEnclave, in spec.Input) []spec.Output {
		return []spec.Output{{Kind: spec.KindReply, Body: spec.Encode(&spec.Reply{Client: h.w.clients[0].ID, Timestamp: 7})}}
	}
	h.peer(2, spec.KindCommit, &spec.Commit{})
	h.r.Flush()
	if h.r.Sizes().Pending != 0 {
		t.Fatal("reply did not stop the timer")
	}
	// A replay of the answered request (or an older one) starts no timer.
	h.r.HandleClient(raw)
	old, _ := h.w.request(t, 0, 3)
	h.r.HandleClient(old)
	h.ticks(20)
	if got := suspects(t, conf); len(got) != 0 || h.r.Sizes().Pending != 0 {
		t.Fatalf("suspects %v pending %d", got, h.r.Sizes().Pending)
	}
	if m := h.r.Metrics(); m.Forwarded != 2 || m.StaleRequests != 1 {
		t.Fatalf("forwarded %d, stale %d: a replay of the answered request must still be forwarded (the client may need the cached replies); an older one is dropped at the edge", m.Forwarded, m.StaleRequests)
	}
}

// TestJoinViewChange: f+1 validly signed VIEW-CHANGEs for higher views make the broker
// suspect its conf's view; f of them, or badly signed ones, do not.
func TestJoinViewChange(t *testing.T) {
	h := newHarness(t, 1, Options{})
	conf := h.enc[spec.RoleConf]
	conf.script = confMovesOnSuspect
	bad := h.w.viewChange(3, 1)
	bad.Sig[5] ^= 1
	h.peer(3, spec.KindViewChange, bad)
	h.peer(2, spec.KindViewChange, h.w.viewChange(2, 1))
	h.r.Flush()
	if got := suspects(t, conf); len(got) != 0 {
		t.Fatalf("joined with f valid view changes: %v", got)
	}
	h.peer(3, spec.KindViewChange, h.w.viewChange(3, 2))
	h.r.Flush()
	if got := suspects(t, conf); !slices.Equal(got, []uint64{0}) {
		t.Fatalf("join: %v", got)
	}
	// conf is now in view 1 (changing); VCs for 1 and 2 are not both above 1.
	h.r.Flush()
	if got := suspects(t, conf); len(got) != 1 {
		t.Fatalf("joined again: %v", got)
	}
}

// TestPendingBounded: the timer table never exceeds PendingLimit.
func TestPendingBounded(t *testing.T) {
	h := newHarness(t, 1, Options{PendingLimit: 3})
	for i := range 8 {
		raw, _ := h.w.request(t, i, 1)
		h.r.HandleClient(raw)
	}
	if h.r.Sizes().Pending != 3 || h.r.Metrics().QueueDrops != 5 {
		t.Fatalf("pending %d drops %d", h.r.Sizes().Pending, h.r.Metrics().QueueDrops)
	}
}

// TestTransferSummaryStopsTimers: exec's transfer summary (SPEC.md §11.7) stops the
// timer of every request the transfer covered and advances what the broker counts as
// answered, so a delayed copy of a covered request starts no timer; a request newer
// than the summary keeps its timer. A summary from another compartment is garbage.
func TestTransferSummaryStopsTimers(t *testing.T) {
	h := newHarness(t, 1, Options{RequestTimeoutTicks: 5})
	conf, exec, prep := h.enc[spec.RoleConf], h.enc[spec.RoleExec], h.enc[spec.RolePrep]
	conf.script = confMovesOnSuspect
	c0, c1 := h.w.clients[0].ID, h.w.clients[1].ID
	raw, _ := h.w.request(t, 0, 7)
	newer, _ := h.w.request(t, 1, 30)
	h.r.HandleClient(raw)
	h.r.HandleClient(newer)
	summary := func(c ...spec.ClientDone) []spec.Output {
		return []spec.Output{{Kind: spec.KindTransferSummary, Body: spec.Encode(&spec.TransferSummary{Seq: 8, Clients: c})}}
	}
	prep.script = func(*fakeEnclave, spec.Input) []spec.Output {
		return summary(spec.ClientDone{Client: c1, Timestamp: 99})
	}
	h.peer(2, spec.KindCheckpoint, h.w.checkpoint(2, 4, spec.Digest{})) // a Step of prep (and conf, exec)
	h.r.Flush()
	if h.r.Sizes().Pending != 2 || h.r.Metrics().Garbage != 1 {
		t.Fatalf("a summary from prep: %d timers, garbage %d", h.r.Sizes().Pending, h.r.Metrics().Garbage)
	}
	exec.script = func(*fakeEnclave, spec.Input) []spec.Output {
		return summary(spec.ClientDone{Client: c0, Timestamp: 7}, spec.ClientDone{Client: c1, Timestamp: 29})
	}
	exec.st.Last = 8
	h.peer(2, spec.KindCommit, &spec.Commit{}) // the transfer completes
	h.r.Flush()
	exec.script = nil
	if h.r.Sizes().Pending != 1 {
		t.Fatalf("%d timers after the summary, want 1 (client 1's newer request)", h.r.Sizes().Pending)
	}
	h.r.HandleClient(raw) // the delayed copy of the covered request
	if h.r.Sizes().Pending != 1 {
		t.Fatal("a delayed copy of a covered request started a timer")
	}
	coSuspect(h, 2, 0)
	h.ticks(5)
	if got := suspects(t, conf); !slices.Equal(got, []uint64{0}) {
		t.Fatalf("the uncovered request's timer: suspects %v, want [0]", got)
	}
}

// TestPrimaryDoesNotSuspectItself: the broker of the primary of conf's view runs no
// request timer into a suspicion (as in PBFT, only backups do); once its replica is a
// backup in a later view, its timers suspect as usual.
func TestPrimaryDoesNotSuspectItself(t *testing.T) {
	h := newHarness(t, 0, Options{RequestTimeoutTicks: 5})
	conf := h.enc[spec.RoleConf]
	conf.script = confMovesOnSuspect
	raw, _ := h.w.request(t, 0, 1)
	h.r.HandleClient(raw)
	h.r.Flush()
	h.ticks(50)
	if got := suspects(t, conf); len(got) != 0 {
		t.Fatalf("the primary suspected its own view: %v", got)
	}
	// A NEW-VIEW makes replica 1 the primary (conf view 1, active): the timer, restarted
	// with the view, now suspects view 1.
	conf.st.View = 1
	h.peer(2, spec.KindPrepare, &spec.Prepare{}) // a Step of conf reports view 1, active
	h.r.Flush()
	conf.steps = nil
	coSuspect(h, 2, 1)
	h.ticks(4)
	if got := suspects(t, conf); len(got) != 0 {
		t.Fatalf("suspected before the restarted timeout: %v", got)
	}
	h.ticks(1)
	if got := suspects(t, conf); !slices.Equal(got, []uint64{1}) {
		t.Fatalf("as a backup: suspects %v, want [1]", got)
	}
}

// TestLaggingReplicaDoesNotSuspect: while the local exec is behind — f+1 peers' hints
// report a stable checkpoint above what it executed, or it needs state — the request
// timers wait; f such hints are not enough, and once it is no longer behind a timer
// expires a full timeout later.
func TestLaggingReplicaDoesNotSuspect(t *testing.T) {
	h := newHarness(t, 1, Options{RequestTimeoutTicks: 5, HintTicks: 1000})
	conf := h.enc[spec.RoleConf]
	conf.script = confMovesOnSuspect
	raw, _ := h.w.request(t, 0, 1)
	h.r.HandleClient(raw)
	h.peer(2, KindHint, &Hint{ExecLast: 40, Stable: 32, Active: true, Suspect: true}) // and suspects view 0
	h.peer(3, KindHint, &Hint{ExecLast: 40, Stable: 32})
	h.ticks(20)
	if got := suspects(t, conf); len(got) != 0 {
		t.Fatalf("suspected while f+1 peers are a checkpoint ahead: %v", got)
	}
	h.peer(3, KindHint, &Hint{}) // only f peers ahead now
	h.ticks(4)
	if got := suspects(t, conf); len(got) != 0 {
		t.Fatalf("suspected before a full timeout after catching up: %v", got)
	}
	h.ticks(1)
	if got := suspects(t, conf); !slices.Equal(got, []uint64{0}) {
		t.Fatalf("with f peers ahead only: suspects %v, want [0]", got)
	}

	h = newHarness(t, 1, Options{RequestTimeoutTicks: 5, HintTicks: 1000})
	conf, exec := h.enc[spec.RoleConf], h.enc[spec.RoleExec]
	conf.script = confMovesOnSuspect
	h.r.HandleClient(raw)
	exec.st.NeedState, exec.st.Stable = true, 16
	h.peer(2, spec.KindCommit, &spec.Commit{}) // a Step of exec reports NeedState
	h.r.Flush()
	h.ticks(20)
	if got := suspects(t, conf); len(got) != 0 || h.r.Sizes().Pending != 1 {
		t.Fatalf("while waiting for state: suspects %v, %d timers", got, h.r.Sizes().Pending)
	}
}

// coSuspect has peer p's broker report, in a hint, that it suspects view v.
func coSuspect(h *harness, p, v uint64) {
	h.peer(p, KindHint, &Hint{View: v, Active: true, Suspect: true})
}

// hintsSent decodes the hints the replica sent to peer p.
func hintsSent(t *testing.T, h *harness, p uint64) []Hint {
	var out []Hint
	for _, s := range h.net.sent {
		var m PeerMsg
		if s.to != p || spec.Decode(s.msg, &m, maxPeerMsgBytes) != nil || m.Kind != KindHint {
			continue
		}
		var hint Hint
		if err := spec.Decode(m.Body, &hint, 64); err != nil {
			t.Fatal(err)
		}
		out = append(out, hint)
	}
	return out
}

// TestSuspicionGating (SPEC.md §13.3 obligation 5): an expired request timer is
// announced to every peer at once (Hint.Suspect) but turns into suspect{v} only when f
// other brokers suspect view v too. Hints for another view, from an inactive conf, or
// without Suspect do not count; f brokers' suspicion without an own expired timer
// does nothing.
func TestSuspicionGating(t *testing.T) {
	h := newHarness(t, 1, Options{RequestTimeoutTicks: 5, HintTicks: 1000})
	conf := h.enc[spec.RoleConf]
	conf.script = confMovesOnSuspect
	coSuspect(h, 3, 0) // a lying broker: no timer of ours has expired
	h.ticks(50)
	if got := suspects(t, conf); len(got) != 0 {
		t.Fatalf("f brokers' suspicion alone made the broker suspect: %v", got)
	}
	h.peer(3, KindHint, &Hint{})
	raw, _ := h.w.request(t, 0, 1)
	h.r.HandleClient(raw)
	h.ticks(4)
	if got := hintsSent(t, h, 2); len(got) != 0 {
		t.Fatalf("hinted before the timer expired: %+v", got)
	}
	h.ticks(1)
	if got := hintsSent(t, h, 2); len(got) != 1 || !got[0].Suspect || got[0].View != 0 {
		t.Fatalf("at expiry the peers were not told at once: %+v", got)
	}
	for _, hint := range []Hint{
		{View: 1, Active: true, Suspect: true},  // another view
		{View: 0, Active: false, Suspect: true}, // conf not active
		{View: 0, Active: true},                 // not suspecting
	} {
		h.peer(2, KindHint, &hint)
		h.ticks(20)
		if got := suspects(t, conf); len(got) != 0 {
			t.Fatalf("hint %+v counted: suspects %v", hint, got)
		}
	}
	if h.r.Metrics().Expiries != 1 {
		t.Fatalf("%d expiries announced, want 1", h.r.Metrics().Expiries)
	}
	coSuspect(h, 2, 0)
	h.ticks(1)
	if got := suspects(t, conf); !slices.Equal(got, []uint64{0}) {
		t.Fatalf("with f+1 suspecting brokers: suspects %v, want [0]", got)
	}
}

// TestLoneConfReturnsToService (SPEC.md §10.4, §13.3 obligation 5): while conf is
// active in view v and another conf's validly signed VIEW-CHANGE for a view above v is
// known, the broker delivers suspect{v} once that has lasted LoneViewTicks and its exec
// executed something meanwhile. Its own VIEW-CHANGE, a badly signed one, or the time
// alone without progress do not count.
func TestLoneConfReturnsToService(t *testing.T) {
	h := newHarness(t, 1, Options{RequestTimeoutTicks: 5, LoneViewTicks: 30})
	conf, exec := h.enc[spec.RoleConf], h.enc[spec.RoleExec]
	conf.script = confMovesOnSuspect
	bad := h.w.viewChange(3, 1)
	bad.Sig[0] ^= 1
	h.peer(3, spec.KindViewChange, bad)
	h.peer(1, spec.KindViewChange, h.w.viewChange(1, 1)) // its own conf's (a replay)
	h.ticks(40)
	progress := func() {
		exec.st.Last++
		h.peer(2, spec.KindCommit, &spec.Commit{})
		h.r.Flush()
	}
	progress()
	h.ticks(40)
	if got := suspects(t, conf); len(got) != 0 {
		t.Fatalf("suspected without another conf's valid VIEW-CHANGE: %v", got)
	}
	h.peer(3, spec.KindViewChange, h.w.viewChange(3, 1))
	h.ticks(40)
	if got := suspects(t, conf); len(got) != 0 {
		t.Fatalf("suspected without execution progress: %v", got)
	}
	progress()
	h.ticks(1)
	if got := suspects(t, conf); !slices.Equal(got, []uint64{0}) || h.r.Metrics().LoneJoins != 1 {
		t.Fatalf("after %d ticks with progress: suspects %v, lone joins %d", 41, got, h.r.Metrics().LoneJoins)
	}
}

// TestLoneTimerNeedsFullPeriod: the lone period starts when the VIEW-CHANGE becomes
// known, and progress alone before LoneViewTicks have passed does not suspect.
func TestLoneTimerNeedsFullPeriod(t *testing.T) {
	h := newHarness(t, 1, Options{RequestTimeoutTicks: 5, LoneViewTicks: 30})
	conf, exec := h.enc[spec.RoleConf], h.enc[spec.RoleExec]
	conf.script = confMovesOnSuspect
	h.peer(3, spec.KindViewChange, h.w.viewChange(3, 1))
	h.ticks(1) // the lone period starts at this tick
	for range 29 {
		exec.st.Last++
		h.peer(2, spec.KindCommit, &spec.Commit{})
		h.ticks(1)
	}
	if got := suspects(t, conf); len(got) != 0 {
		t.Fatalf("suspected before LoneViewTicks: %v", got)
	}
	h.ticks(1)
	if got := suspects(t, conf); !slices.Equal(got, []uint64{0}) {
		t.Fatalf("after LoneViewTicks with progress: suspects %v, want [0]", got)
	}
}

// TestSuspicionStaysAnnounced: a broker that delivered suspect{v} keeps telling its
// peers it suspects v (Hint.Suspect) while its conf stays in v, although delivering
// it restarted its timers: a peer whose timer expired a moment later must still find
// f others suspecting (without this, it waited for the next expiry, a backoff later).
func TestSuspicionStaysAnnounced(t *testing.T) {
	h := newHarness(t, 1, Options{RequestTimeoutTicks: 5, HintTicks: 10})
	conf := h.enc[spec.RoleConf] // its default script stays in view 0, as a dead conf does
	raw, _ := h.w.request(t, 0, 1)
	h.r.HandleClient(raw)
	h.ticks(5)
	coSuspect(h, 2, 0)
	h.ticks(1)
	if got := suspects(t, conf); !slices.Equal(got, []uint64{0}) {
		t.Fatalf("with f+1 suspecting brokers: suspects %v, want [0]", got)
	}
	h.net.sent = nil
	h.ticks(20) // periodic hints, the timers restarted and not expired again
	got := hintsSent(t, h, 3)
	if len(got) == 0 {
		t.Fatal("no periodic hint sent")
	}
	if last := got[len(got)-1]; !last.Suspect || last.View != 0 {
		t.Fatalf("after suspecting view 0, the broker's hint says %+v, want Suspect for view 0", last)
	}
}
