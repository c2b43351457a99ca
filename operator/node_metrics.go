package operator

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/expfmt"

	"github.com/splitbft/splitbft/attest"
	"github.com/splitbft/splitbft/spec"
)

// Label is one name="value" pair of a sample.
type Label struct{ Name, Value string }

// snapCollector is a prometheus.Collector that emits one snapshot of a replica as
// constant metrics: the broker's counters and the compartments' last Status are read
// once per scrape, on the broker's event loop (node.take).
type snapCollector struct {
	n    *node
	take func() snapshot
}

// Describe sends nothing: the collector is unchecked (its series depend on the
// snapshot: peers, reject codes).
func (c *snapCollector) Describe(chan<- *prometheus.Desc) {}

// Collect emits every metric of one snapshot.
func (c *snapCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.take()
	e := emitter{ch}
	n := c.n
	for _, p := range []string{PhaseStarting, PhaseForming, PhaseJoining, PhaseRejoining, PhaseRecovering, PhaseRunning} {
		e.gauge("splitbft_phase", "1 for the replica's current phase (starting, forming, joining, rejoining, recovering, running)", b2f(s.phase == p), Label{"phase", p})
	}
	e.gauge("splitbft_dev_insecure", "1 if some enclave of the cluster runs without TEE protection (dev-insecure evidence)",
		b2f(s.cfg != nil && attest.InsecureWarning(s.cfg) != ""))
	n.collectEnclaves(e, s)
	n.collectProtocol(e, s)
	collectEvents(e, s)
	collectBroker(e, s)
	collectNet(e, s)
	collectLedger(e, s.ledger)
	gatewayMetrics(s.gateway, func(name, typ, help string, v float64) {
		if typ == "gauge" {
			e.gauge(name, help, v)
		} else {
			e.counter(name, help, v)
		}
	}) // the Redis gateway's counters, if it runs one
}

// metricsHandler serves /metrics in the Prometheus exposition format.
func (n *node) metricsHandler() http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(&snapCollector{n: n, take: func() snapshot { return n.take(context.Background()) }})
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// writeMetrics writes a snapshot in the text exposition format through a pedantic
// registry (which checks every family's consistency).
func (n *node) writeMetrics(w io.Writer, s snapshot) error {
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(&snapCollector{n: n, take: func() snapshot { return s }}); err != nil {
		return err
	}
	mfs, err := reg.Gather()
	if err != nil {
		return err
	}
	enc := expfmt.NewEncoder(w, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			return err
		}
	}
	return nil
}

// emitter sends constant metrics to a collector's channel.
type emitter struct{ ch chan<- prometheus.Metric }

func (e emitter) emit(name, help string, typ prometheus.ValueType, v float64, labels []Label) {
	names, values := splitLabels(labels)
	e.ch <- prometheus.MustNewConstMetric(prometheus.NewDesc(name, help, names, nil), typ, v, values...)
}

func (e emitter) gauge(name, help string, v float64, labels ...Label) {
	e.emit(name, help, prometheus.GaugeValue, v, labels)
}

func (e emitter) counter(name, help string, v float64, labels ...Label) {
	e.emit(name, help, prometheus.CounterValue, v, labels)
}

// histogram emits one histogram series from a snapshot (per-bucket counts).
func (e emitter) histogram(name, help string, h HistogramSnapshot, labels ...Label) {
	names, values := splitLabels(labels)
	buckets := map[float64]uint64{}
	var cum uint64
	for i, b := range h.Bounds {
		cum += h.Counts[i]
		buckets[b] = cum
	}
	e.ch <- prometheus.MustNewConstHistogram(prometheus.NewDesc(name, help, names, nil), h.Count, h.Sum, buckets, values...)
}

func splitLabels(labels []Label) (names, values []string) {
	for _, l := range labels {
		names, values = append(names, l.Name), append(values, l.Value)
	}
	return names, values
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

// collectEnclaves emits per-compartment call latency, liveness and step counts.
func (n *node) collectEnclaves(e emitter, s snapshot) {
	for r, w := range s.watched {
		if w != nil {
			e.histogram("splitbft_enclave_call_seconds", "wall time of Step calls into each compartment, including the process boundary",
				w.Latency(), n.roleLabels(spec.Role(r))...)
		}
	}
	for r, w := range s.watched {
		e.gauge("splitbft_enclave_dead", "1 once a compartment failed (it is never restarted: new keys would not be in the configuration)",
			b2f(w != nil && w.Dead() != nil), n.roleLabels(spec.Role(r))...)
	}
	const cpuHelp = "CPU seconds used by the broker process and by each compartment process in service (a replaced compartment starts again from 0)"
	e.counter("splitbft_process_cpu_seconds_total", cpuHelp, selfCPU(), Label{"process", "broker"})
	for r, w := range s.watched {
		if w == nil || w.Pid == 0 {
			continue
		}
		if cpu, ok := processCPU(w.Pid); ok {
			e.counter("splitbft_process_cpu_seconds_total", cpuHelp, cpu, Label{"process", spec.RoleName(spec.Role(r))})
		}
	}
	for r := range 3 {
		e.counter("splitbft_enclave_steps_total", "Step calls per compartment", float64(s.metrics.Steps[r]), n.roleLabels(spec.Role(r))...)
		e.counter("splitbft_enclave_inputs_total", "inputs delivered per compartment", float64(s.metrics.Inputs[r]), n.roleLabels(spec.Role(r))...)
		e.counter("splitbft_enclave_withheld_total", "inputs not delivered to a compartment: by its latest status it would reject them as stale or accept them to no effect", float64(s.metrics.Withheld[r]), n.roleLabels(spec.Role(r))...)
		e.counter("splitbft_enclave_gated_total", "inputs held back to hand a slot's messages over together: until the quorum the compartment acts on, the gate's tick limit, a full queue or a window move (SPEC §13.3 obligation 7)", float64(s.metrics.Gated[r]), n.roleLabels(spec.Role(r))...)
		e.counter("splitbft_enclave_gate_timeouts_total", "held inputs released because they waited the gate's tick limit (2 ticks) without their slot reaching its quorum", float64(s.metrics.GateTimeouts[r]), n.roleLabels(spec.Role(r))...)
	}
}

// collectProtocol emits the compartments' progress from their last Status.
func (n *node) collectProtocol(e emitter, s snapshot) {
	for r := range 3 {
		e.gauge("splitbft_view", "the view each compartment reports", float64(s.status[r].View), Label{"role", spec.RoleName(spec.Role(r))})
	}
	exec := s.status[spec.RoleExec]
	e.gauge("splitbft_stable_checkpoint", "sequence number of exec's stable checkpoint", float64(exec.Stable))
	e.gauge("splitbft_last_executed", "sequence number of the last batch exec executed", float64(exec.Last))
	e.counter("splitbft_requests_executed_total",
		"requests executed by this replica's exec (one reply each, whatever its number of operations, including replies re-sent from its cache)", float64(s.metrics.Replies))
	e.ch <- prometheus.MustNewConstSummary(prometheus.NewDesc("splitbft_batch_size",
		"requests per client batch this replica's broker delivered to its prep (as primary)", nil, nil),
		s.metrics.Batches, float64(s.metrics.Requests), nil)
	for _, code := range slices.Sorted(maps.Keys(s.metrics.Rejections)) {
		e.counter("splitbft_rejections_total", "inputs the compartments rejected, by reject code",
			float64(s.metrics.Rejections[code]), Label{"code", spec.CodeName(code)})
	}
}

// collectEvents emits the counts of the events the replica logged (events.go).
func collectEvents(e emitter, s snapshot) {
	e.counter("splitbft_view_changes_total", "views this replica's prep entered after view 0 (one per view, even when a poll saw several at once)", float64(s.events.ViewChanges))
	e.counter("splitbft_view_changes_started_total", "view changes this replica's conf started (VIEW-CHANGE sent)", float64(s.events.ViewChangesStarted))
	e.counter("splitbft_state_transfers_total", "state transfers this replica's exec started", float64(s.events.StateTransfers))
	e.counter("splitbft_checkpoint_stalls_total", "checkpoint stalls logged (exec 2K past its stable checkpoint, or prep's window full)", float64(s.events.Stalls))
	e.gauge("splitbft_checkpoint_stalled", "1 while a checkpoint stall lasts", b2f(s.events.Stalled))
}

// collectBroker emits the broker core's other counters.
func collectBroker(e emitter, s snapshot) {
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
		{"splitbft_rate_drops_total", "client requests dropped at the client port: the client used up its request budget", m.RateDrops},
		{"splitbft_relay_drops_total", "relayed requests dropped unverified: their peer broker used up its budget of bad signatures", m.RelayDrops},
		{"splitbft_junk_drops_total", "peer protocol messages not delivered to a compartment at which that peer used up its budget of bad signatures", m.JunkDrops},
		{"splitbft_suspects_total", "suspect inputs delivered to conf (gated request timer expiries, joins, returns to service)", m.Suspects},
		{"splitbft_timer_expiries_total", "request timer expiries announced to peers (suspicion gating)", m.Expiries},
		{"splitbft_lone_joins_total", "suspects delivered to move up to a conf alone in a higher view", m.LoneJoins},
		{"splitbft_retransmits_total", "messages re-sent to lagging peers", m.Retransmits},
		{"splitbft_state_requests_total", "state-requests sent", m.StateRequests},
		{"splitbft_host_errors_total", "Step calls that failed at the host level", m.HostErrors[0] + m.HostErrors[1] + m.HostErrors[2]},
	} {
		e.counter(c.name, c.help, float64(c.v))
	}
}

// collectNet emits the TCP transport's counters per peer and for clients.
func collectNet(e emitter, s snapshot) {
	peers := s.net.Peers
	for _, c := range []struct {
		name, help string
		typ        prometheus.ValueType
		get        func(i int) float64
	}{
		{"splitbft_tcp_frames_sent_total", "frames written to each peer", prometheus.CounterValue, func(i int) float64 { return float64(peers[i].Sent) }},
		{"splitbft_tcp_frames_dropped_total", "frames to each peer dropped (queue full, over the cap, or lost with a connection)", prometheus.CounterValue, func(i int) float64 { return float64(peers[i].Dropped) }},
		{"splitbft_tcp_frames_received_total", "frames from each peer handed to the broker", prometheus.CounterValue, func(i int) float64 { return float64(peers[i].Received) }},
		{"splitbft_tcp_garbage_total", "frames from each peer that were not PeerMsgs (each closed its connection)", prometheus.CounterValue, func(i int) float64 { return float64(peers[i].Garbage) }},
		{"splitbft_tcp_reconnects_total", "outbound connections re-established to each peer", prometheus.CounterValue, func(i int) float64 { return float64(peers[i].Reconnects) }},
		{"splitbft_tcp_dial_errors_total", "failed dials to each peer", prometheus.CounterValue, func(i int) float64 { return float64(peers[i].DialErrors) }},
		{"splitbft_tcp_connected", "1 while the outbound connection to each peer is up", prometheus.GaugeValue, func(i int) float64 { return b2f(peers[i].Connected) }},
		{"splitbft_tcp_queued", "frames waiting for each peer", prometheus.GaugeValue, func(i int) float64 { return float64(peers[i].Queued) }},
	} {
		for i := range peers {
			if peers[i].Addr != "" {
				e.emit(c.name, c.help, c.typ, c.get(i), []Label{{"peer", fmt.Sprint(i)}})
			}
		}
	}
	cl := s.net.Clients
	e.gauge("splitbft_tcp_client_connections", "live client connections", float64(cl.Conns))
	e.counter("splitbft_tcp_client_requests_total", "requests received on the client port", float64(cl.Requests))
	e.counter("splitbft_tcp_client_replies_total", "reply frames queued to clients", float64(cl.Replies))
	e.counter("splitbft_tcp_client_reply_drops_total", "reply frames dropped on a full client queue", float64(cl.ReplyDrops))
	e.counter("splitbft_tcp_client_garbage_total", "client connections closed for garbage", float64(cl.Garbage))
	e.counter("splitbft_tcp_client_attaches_total", "clients attached to a shared client connection by a verified attach", float64(cl.Attaches))
	e.counter("splitbft_tcp_client_attach_refused_total", "attaches refused: the connection full, the client not registered, or a bad signature", float64(cl.AttachRefused))
	e.counter("splitbft_tcp_client_unattached_total", "requests and reads dropped: their client is not attached to the connection they came on", float64(cl.Unattached))
	e.counter("splitbft_tcp_client_revoked_total", "client attachments dropped at an epoch: clients the configuration no longer registers with the key they authenticated with, and every client of a connection closed for that reason (they reconnect)", float64(cl.Revoked))
	e.counter("splitbft_tcp_client_revoked_connections_total", "client connections closed because the configuration no longer registers their hello's client with its key", float64(cl.RevokedConns))
	e.counter("splitbft_tcp_bad_hellos_total", "peer connections closed for a bad, missing or late hello", float64(s.net.BadHellos))
	e.counter("splitbft_tcp_rejected_connections_total", "connections closed at accept: too many peer connections waiting for hello, or the client connection limit reached",
		float64(s.net.Refused), Label{"port", "peer"})
	e.counter("splitbft_tcp_rejected_connections_total", "connections closed at accept: too many peer connections waiting for hello, or the client connection limit reached",
		float64(cl.Refused), Label{"port", "client"})
}
