package operator

import (
	"fmt"
	"io"
	"maps"
	"slices"

	"github.com/splitbft/splitbft/attest"
	"github.com/splitbft/splitbft/spec"
)

// writeMetrics writes a snapshot as the /metrics exposition.
func (n *node) writeMetrics(w io.Writer, s snapshot) error {
	e := NewExposition(w)
	e.Family("splitbft_phase", "gauge", "1 for the replica's current phase (starting, forming, running)")
	for _, p := range []string{PhaseStarting, PhaseForming, PhaseRunning} {
		e.Sample("splitbft_phase", b2f(s.phase == p), Label{"phase", p})
	}
	e.Single("splitbft_dev_insecure", "gauge", "1 if some enclave of the cluster runs without TEE protection (dev-insecure evidence)",
		b2f(s.cfg != nil && attest.InsecureWarning(s.cfg) != ""))
	n.writeEnclaveMetrics(e, s)
	n.writeProtocolMetrics(e, s)
	writeBrokerCounters(e, s)
	writeNetMetrics(e, s)
	return e.Flush()
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// roleLabels returns the role and build labels of compartment r.
func (n *node) roleLabels(r spec.Role) []Label {
	return []Label{{"role", spec.RoleName(r)}, {"build", n.t.Replicas[n.id].Build(r)}}
}

// writeEnclaveMetrics writes per-compartment call latency, liveness and step counts.
func (n *node) writeEnclaveMetrics(e *Exposition, s snapshot) {
	e.Family("splitbft_enclave_call_seconds", "histogram", "wall time of Step calls into each compartment, including the process boundary")
	for r, w := range n.watched {
		if w != nil {
			e.Histogram("splitbft_enclave_call_seconds", w.Latency(), n.roleLabels(spec.Role(r))...)
		}
	}
	e.Family("splitbft_enclave_dead", "gauge", "1 once a compartment failed (it is never restarted: new keys would not be in the configuration)")
	for r, w := range n.watched {
		e.Sample("splitbft_enclave_dead", b2f(w != nil && w.Dead() != nil), n.roleLabels(spec.Role(r))...)
	}
	e.Family("splitbft_enclave_steps_total", "counter", "Step calls per compartment")
	for r := range 3 {
		e.Sample("splitbft_enclave_steps_total", float64(s.metrics.Steps[r]), n.roleLabels(spec.Role(r))...)
	}
	e.Family("splitbft_enclave_inputs_total", "counter", "inputs delivered per compartment")
	for r := range 3 {
		e.Sample("splitbft_enclave_inputs_total", float64(s.metrics.Inputs[r]), n.roleLabels(spec.Role(r))...)
	}
}

// writeProtocolMetrics writes the compartments' progress from their last Status.
func (n *node) writeProtocolMetrics(e *Exposition, s snapshot) {
	e.Family("splitbft_view", "gauge", "the view each compartment reports")
	for r := range 3 {
		e.Sample("splitbft_view", float64(s.status[r].View), Label{"role", spec.RoleName(spec.Role(r))})
	}
	exec := s.status[spec.RoleExec]
	e.Single("splitbft_stable_checkpoint", "gauge", "sequence number of exec's stable checkpoint", float64(exec.Stable))
	e.Single("splitbft_last_executed", "gauge", "sequence number of the last batch exec executed", float64(exec.Last))
	e.Single("splitbft_requests_executed_total", "counter",
		"operations executed by this replica's exec (one reply each, including replies re-sent from its cache)", float64(s.metrics.Replies))
	e.Family("splitbft_batch_size", "summary", "requests per client batch this replica's broker delivered to its prep (as primary)")
	e.Sample("splitbft_batch_size_sum", float64(s.metrics.Requests))
	e.Sample("splitbft_batch_size_count", float64(s.metrics.Batches))
	e.Family("splitbft_rejections_total", "counter", "inputs the compartments rejected, by reject code")
	for _, code := range slices.Sorted(maps.Keys(s.metrics.Rejections)) {
		e.Sample("splitbft_rejections_total", float64(s.metrics.Rejections[code]), Label{"code", spec.CodeName(code)})
	}
}

// writeBrokerCounters writes the broker core's other counters.
func writeBrokerCounters(e *Exposition, s snapshot) {
	m := s.metrics
	for _, c := range []struct {
		name, help string
		v          uint64
	}{
		{"splitbft_client_requests_total", "requests received from clients or forwarded by peers", m.ClientRequests},
		{"splitbft_bad_requests_total", "requests dropped by the broker's R1–R5 filter or undecodable", m.BadRequests},
		{"splitbft_forwarded_requests_total", "requests forwarded to the primary's broker", m.Forwarded},
		{"splitbft_peer_messages_in_total", "peer messages received", m.PeerIn},
		{"splitbft_peer_messages_out_total", "peer messages sent", m.PeerOut},
		{"splitbft_garbage_total", "undecodable or unexpected messages and outputs dropped", m.Garbage},
		{"splitbft_queue_drops_total", "items dropped from a full queue or store", m.QueueDrops},
		{"splitbft_suspects_total", "suspect inputs delivered to conf (gated request timer expiries, joins, returns to service)", m.Suspects},
		{"splitbft_timer_expiries_total", "request timer expiries announced to peers (suspicion gating)", m.Expiries},
		{"splitbft_lone_joins_total", "suspects delivered to move up to a conf alone in a higher view", m.LoneJoins},
		{"splitbft_retransmits_total", "messages re-sent to lagging peers", m.Retransmits},
		{"splitbft_state_requests_total", "state-requests sent", m.StateRequests},
		{"splitbft_host_errors_total", "Step calls that failed at the host level", m.HostErrors[0] + m.HostErrors[1] + m.HostErrors[2]},
	} {
		e.Single(c.name, "counter", c.help, float64(c.v))
	}
}

// writeNetMetrics writes the TCP transport's counters per peer and for clients.
func writeNetMetrics(e *Exposition, s snapshot) {
	peers := s.net.Peers
	for _, c := range []struct {
		name, typ, help string
		get             func(i int) float64
	}{
		{"splitbft_tcp_frames_sent_total", "counter", "frames written to each peer", func(i int) float64 { return float64(peers[i].Sent) }},
		{"splitbft_tcp_frames_dropped_total", "counter", "frames to each peer dropped (queue full, over the cap, or lost with a connection)", func(i int) float64 { return float64(peers[i].Dropped) }},
		{"splitbft_tcp_frames_received_total", "counter", "frames from each peer handed to the broker", func(i int) float64 { return float64(peers[i].Received) }},
		{"splitbft_tcp_garbage_total", "counter", "frames from each peer that were not PeerMsgs (each closed its connection)", func(i int) float64 { return float64(peers[i].Garbage) }},
		{"splitbft_tcp_reconnects_total", "counter", "outbound connections re-established to each peer", func(i int) float64 { return float64(peers[i].Reconnects) }},
		{"splitbft_tcp_dial_errors_total", "counter", "failed dials to each peer", func(i int) float64 { return float64(peers[i].DialErrors) }},
		{"splitbft_tcp_connected", "gauge", "1 while the outbound connection to each peer is up", func(i int) float64 { return b2f(peers[i].Connected) }},
		{"splitbft_tcp_queued", "gauge", "frames waiting for each peer", func(i int) float64 { return float64(peers[i].Queued) }},
	} {
		e.Family(c.name, c.typ, c.help)
		for i := range peers {
			if peers[i].Addr != "" {
				e.Sample(c.name, c.get(i), Label{"peer", fmt.Sprint(i)})
			}
		}
	}
	cl := s.net.Clients
	e.Single("splitbft_tcp_client_connections", "gauge", "live client connections", float64(cl.Conns))
	e.Single("splitbft_tcp_client_requests_total", "counter", "requests received on the client port", float64(cl.Requests))
	e.Single("splitbft_tcp_client_replies_total", "counter", "reply frames queued to clients", float64(cl.Replies))
	e.Single("splitbft_tcp_client_reply_drops_total", "counter", "reply frames dropped on a full client queue", float64(cl.ReplyDrops))
	e.Single("splitbft_tcp_client_garbage_total", "counter", "client connections closed for garbage", float64(cl.Garbage))
	e.Single("splitbft_tcp_bad_hellos_total", "counter", "peer connections closed for a bad, missing or late hello", float64(s.net.BadHellos))
}
