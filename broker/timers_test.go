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

// TestStateTransferStopsTimers: a completed state transfer (exec's NeedState clears)
// stops every request timer, because the transfer may have covered the request and
// then exec never replies to it; a retransmission by the client starts the timer
// again.
func TestStateTransferStopsTimers(t *testing.T) {
	h := newHarness(t, 1, Options{RequestTimeoutTicks: 5})
	conf, exec := h.enc[spec.RoleConf], h.enc[spec.RoleExec]
	conf.script = confMovesOnSuspect
	raw, _ := h.w.request(t, 0, 7)
	h.r.HandleClient(raw)
	exec.st.NeedState, exec.st.Stable = true, 8
	h.peer(2, spec.KindCommit, &spec.Commit{}) // a Step of exec: it reports NeedState
	h.r.Flush()
	exec.st.NeedState, exec.st.Last = false, 8
	h.peer(2, spec.KindCommit, &spec.Commit{}) // the transfer completed
	h.r.Flush()
	if h.r.Sizes().Pending != 0 {
		t.Fatalf("%d timers still running after a state transfer", h.r.Sizes().Pending)
	}
	h.ticks(20)
	if got := suspects(t, conf); len(got) != 0 {
		t.Fatalf("suspected after a state transfer: %v", got)
	}
	h.r.HandleClient(raw) // the client retransmits: the timer runs again
	h.ticks(5)
	if got := suspects(t, conf); !slices.Equal(got, []uint64{0}) {
		t.Fatalf("retransmitted request: suspects %v", got)
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
	h.peer(2, KindHint, &Hint{ExecLast: 40, Stable: 32})
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
