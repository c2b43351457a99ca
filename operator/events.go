package operator

import (
	"context"
	"time"

	"github.com/splitbft/splitbft/broker"
	"github.com/splitbft/splitbft/spec"
)

// This file turns what a replica's broker reports (its compartments' latest Status
// outputs and its counters) into log events at info level, each with its cause:
// suspicion of the primary, view changes started and views entered, state transfers
// started and done, and checkpoint stalls. It reads the broker from outside, by
// polling; nothing is logged inside a compartment. A poll sees the latest state only:
// two view changes between polls are one event "entered view 7 (from view 5)".

// Event is one thing worth an operator's attention.
type Event struct {
	Msg   string
	Attrs []any // slog key-value pairs
}

// EventWatch derives Events from successive observations of one replica's broker.
// It is not safe for concurrent use.
type EventWatch struct {
	cfg    *spec.Config
	seen   bool
	status [3]spec.Status
	m      broker.Metrics
	counts EventCounts
}

// EventCounts are the events an EventWatch saw, for the metrics.
type EventCounts struct {
	ViewChanges        uint64 // views prep entered above the first observed one (a jump of 2 counts 2)
	ViewChangesStarted uint64 // view changes conf started
	StateTransfers     uint64 // state transfers exec started
	Stalls             uint64 // checkpoint stalls
	Stalled            bool   // a checkpoint stall lasts
}

// Counts returns the events counted so far.
func (w *EventWatch) Counts() EventCounts { return w.counts }

// NewEventWatch returns a watch for a replica of cluster cfg.
func NewEventWatch(cfg *spec.Config) *EventWatch { return &EventWatch{cfg: cfg} }

// Observe compares st and m with the previous observation and returns the events
// between them (none for the first observation).
func (w *EventWatch) Observe(st [3]spec.Status, m broker.Metrics) []Event {
	if !w.seen {
		w.seen, w.status, w.m = true, st, m
		return nil
	}
	var ev []Event
	ev = append(ev, w.suspicions(st, m)...)
	ev = append(ev, w.views(st, m)...)
	ev = append(ev, w.stateTransfer(st, m)...)
	ev = append(ev, w.stall(st)...)
	w.status, w.m = st, m
	return ev
}

// suspicions reports request timer expiries delivered to conf.
func (w *EventWatch) suspicions(st [3]spec.Status, m broker.Metrics) []Event {
	n := m.Suspects - w.m.Suspects
	if n == 0 {
		return nil
	}
	v := w.status[spec.RoleConf].View
	return []Event{{"suspecting the primary", []any{"view", v, "primary", w.cfg.Primary(v), "suspicions", n,
		"cause", "a client request was not executed before this replica's request timer expired"}}}
}

// views reports conf starting a view change and prep entering a new view.
func (w *EventWatch) views(st [3]spec.Status, m broker.Metrics) []Event {
	var ev []Event
	was, now := w.status[spec.RoleConf], st[spec.RoleConf]
	if !now.ViewActive && (was.ViewActive || now.View > was.View) {
		cause := "VIEW-CHANGE messages from other replicas"
		if m.Suspects > w.m.Suspects {
			cause = "this replica suspected the primary (request timer)"
		}
		w.counts.ViewChangesStarted++
		ev = append(ev, Event{"view change started", []any{"to_view", now.View, "from_view", was.View,
			"new_primary", w.cfg.Primary(now.View), "cause", cause}})
	}
	pw, pn := w.status[spec.RolePrep], st[spec.RolePrep]
	if pn.View > pw.View && pn.ViewActive {
		w.counts.ViewChanges += pn.View - pw.View
		ev = append(ev, Event{"entered view", []any{"view", pn.View, "from_view", pw.View, "primary", w.cfg.Primary(pn.View),
			"cause", "a valid NEW-VIEW (2f+1 VIEW-CHANGEs)"}})
	}
	return ev
}

// stateTransfer reports exec starting and finishing a state transfer.
func (w *EventWatch) stateTransfer(st [3]spec.Status, m broker.Metrics) []Event {
	was, now := w.status[spec.RoleExec], st[spec.RoleExec]
	switch {
	case now.NeedState && !was.NeedState:
		w.counts.StateTransfers++
		return []Event{{"state transfer started", []any{"executed", now.Last, "stable_checkpoint", now.Stable,
			"cause", "a stable checkpoint above the last executed batch is certified; fetching its state from another exec"}}}
	case was.NeedState && !now.NeedState:
		return []Event{{"state transfer done", []any{"executed", now.Last, "stable_checkpoint", now.Stable,
			"state_requests", m.StateRequests - w.m.StateRequests}}}
	}
	return nil
}

// stall reports exec running two checkpoint intervals past its stable checkpoint (its
// checkpoints are not getting 2f+1 matching signatures), and prep's window filling up,
// once each until the stall ends.
func (w *EventWatch) stall(st [3]spec.Status) []Event {
	k, l := w.cfg.CheckpointInterval, w.cfg.Window
	exec, prep := st[spec.RoleExec], st[spec.RolePrep]
	var cause string
	switch {
	case prep.Last >= prep.Stable+l:
		cause = "prep's window is full: no batch above the stable checkpoint + L can be ordered until a checkpoint becomes stable"
	case exec.Last >= exec.Stable+2*k:
		cause = "exec's checkpoints above the stable one have not gathered 2f+1 matching CHECKPOINTs"
	}
	switch {
	case cause != "" && !w.counts.Stalled:
		w.counts.Stalled = true
		w.counts.Stalls++
		return []Event{{"checkpoint stall", []any{"executed", exec.Last, "stable_checkpoint", exec.Stable,
			"prep_last", prep.Last, "prep_stable", prep.Stable, "k", k, "l", l, "cause", cause}}}
	case cause == "" && w.counts.Stalled:
		w.counts.Stalled = false
		return []Event{{"checkpoint stall over", []any{"executed", exec.Last, "stable_checkpoint", exec.Stable}}}
	}
	return nil
}

// logEvents polls the broker every period until ctx ends and logs every event.
func (rp *replica) logEvents(ctx context.Context, cfg *spec.Config, period time.Duration) {
	w := NewEventWatch(cfg)
	for sleepCtx(ctx, period) == nil {
		s := rp.n.take(ctx)
		if !s.running {
			continue
		}
		for _, e := range w.Observe(s.status, s.metrics) {
			rp.log.Info(e.Msg, e.Attrs...)
		}
		c := w.Counts()
		rp.n.set(func(n *node) { n.events = c })
	}
}
