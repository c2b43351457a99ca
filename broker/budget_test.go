package broker

import (
	"slices"
	"testing"

	"github.com/splitbft/splitbft/spec"
)

// batchedClients returns, per client batch delivered to prep, client<<32|timestamp
// of each request in it.
func batchedClients(t *testing.T, f *fakeEnclave) [][]uint64 {
	var out [][]uint64
	for _, in := range f.inputs() {
		if in.Kind != spec.KindClientBatch {
			continue
		}
		var b spec.Batch
		if err := spec.Decode(in.Body, &b, spec.MaxMessageBytes); err != nil {
			t.Fatal(err)
		}
		var cs []uint64
		for _, q := range b.Requests {
			cs = append(cs, q.Body.Client<<32|q.Body.Timestamp)
		}
		out = append(out, cs)
	}
	return out
}

// TestFloodingClientBudget: one client flooding the primary's broker with signed
// requests keeps at most ClientQueueLimit of them queued (its newest), so a quieter
// client's request is neither pushed out of the bounded queue nor starved (issue 15
// finding 3), and the flooder's newest request, which backups time, is still
// ordered; without the budget the flood would evict the quiet client's request.
func TestFloodingClientBudget(t *testing.T) {
	for _, tc := range []struct {
		name        string
		limit       int
		wantQuiet   bool
		wantDropped uint64
	}{
		{"budget 4", 4, true, 36},
		{"no effective budget", 1 << 20, false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, 0, Options{BatchQueueLimit: 8, ClientQueueLimit: tc.limit, BatchTicks: 1000, ClientBurst: 1 << 20})
			quiet, _ := h.w.request(t, 1, 1)
			h.r.HandleClient(quiet)
			for ts := uint64(1); ts <= 40; ts++ {
				raw, _ := h.w.request(t, 0, ts)
				h.r.HandleClient(raw)
			}
			h.r.batch.cut(true)
			h.r.Flush()
			got, newest := false, false
			for _, b := range batchedClients(t, h.enc[spec.RolePrep]) {
				for _, c := range b {
					got = got || c == h.w.clients[1].ID<<32|1
					newest = newest || c == h.w.clients[0].ID<<32|40
				}
			}
			if tc.wantQuiet && !newest {
				t.Error("the flooding client's newest request was not batched: a backup's timer waits for it")
			}
			if m := h.r.Metrics(); got != tc.wantQuiet || m.BudgetDrops != tc.wantDropped {
				t.Fatalf("quiet client batched: %v (want %v); budget drops %d (want %d)", got, tc.wantQuiet, m.BudgetDrops, tc.wantDropped)
			}
		})
	}
}

// TestClientRateBudget: a client's requests beyond its budget at the client port are
// dropped before their signatures are checked; the budget refills with ticks; the
// copies a backup relays are not charged to it again at the primary.
func TestClientRateBudget(t *testing.T) {
	h := newHarness(t, 1, Options{ClientBurst: 4, ClientTicksPerRequest: 2, BatchTicks: 1000})
	send := func(from, to uint64) {
		for ts := from; ts <= to; ts++ {
			raw, _ := h.w.request(t, 0, ts)
			h.r.HandleClient(raw)
		}
	}
	send(1, 10)
	if m := h.r.Metrics(); m.RateDrops != 6 || m.Forwarded != 4 {
		t.Fatalf("burst: %d rate drops, %d forwarded; want 6, 4", m.RateDrops, m.Forwarded)
	}
	h.ticks(2)
	send(11, 12)
	if m := h.r.Metrics(); m.RateDrops != 7 || m.Forwarded != 5 {
		t.Fatalf("after 2 ticks: %d rate drops, %d forwarded; want 7, 5", m.RateDrops, m.Forwarded)
	}
	p := newHarness(t, 0, Options{ClientBurst: 1, BatchTicks: 1000})
	for _, s := range h.net.sent {
		p.r.HandlePeer(1, s.msg)
	}
	if m := p.r.Metrics(); m.RateDrops != 0 || m.BadRequests != 0 {
		t.Fatalf("relayed requests charged at the primary: %d rate drops, %d bad", m.RateDrops, m.BadRequests)
	}
}

// TestClientRateRefund: the answer to the newest request a broker admitted from a
// client gives that client's token back, once, so that a correct client with one
// request outstanding is never throttled however fast the cluster answers; each
// operation's answer of a multi-operation request, repeated answers, answers to
// older requests and unanswered requests give nothing back.
func TestClientRateRefund(t *testing.T) {
	h := newHarness(t, 1, Options{ClientBurst: 2, ClientTicksPerRequest: 1000, BatchTicks: 1000})
	c := h.w.clients[0].ID
	send := func(ts uint64, ops int) {
		raw, _ := h.w.requestOps(t, 0, ts, ops)
		h.r.HandleClient(raw)
	}
	want := func(what string, drops, fwd uint64) {
		t.Helper()
		if m := h.r.Metrics(); m.RateDrops != drops || m.Forwarded != fwd {
			t.Fatalf("%s: %d rate drops, %d forwarded; want %d, %d", what, m.RateDrops, m.Forwarded, drops, fwd)
		}
	}
	for ts := uint64(1); ts <= 20; ts++ { // serial: each request answered before the next
		send(ts, 1)
		h.r.sendReply(c, ts, []byte{1})
		h.r.sendReply(c, ts, []byte{1}) // the same answer again: no second token
	}
	want("serial client", 0, 20)
	send(21, 4) // four operations, four answers: one token back
	for ts := uint64(21); ts <= 24; ts++ {
		h.r.sendReply(c, ts, []byte{1})
	}
	for ts := uint64(25); ts <= 30; ts++ { // a flood nobody answers
		send(ts, 1)
	}
	want("after a multi-operation request, an unanswered flood", 4, 23)
	h.r.sendReply(c, 25, []byte{1}) // answers an older request than the newest admitted (26)
	send(31, 1)
	want("after an answer to an older request", 5, 23)
}

// TestStaleAtEdge: a request is stale only if all its operations are older than the
// newest operation the local exec answered for its client (exec replies per
// operation); the latest request passes, so that lost replies can be re-sent.
func TestStaleAtEdge(t *testing.T) {
	h := newHarness(t, 1, Options{})
	c := h.w.clients[0].ID
	h.r.lastDone[c] = 9 // the local exec answered operations up to timestamp 9
	for _, tc := range []struct {
		ts    uint64
		ops   int
		stale bool
	}{
		{7, 3, false}, // the answered request (operations 7, 8, 9): a retransmission
		{10, 1, false},
		{8, 1, true},
		{5, 3, true},
		{1<<64 - 1, 2, false}, // overflowing range: left to R4
		{3, 0, false},         // no operations: left to R2
	} {
		q := &spec.Request{Body: spec.RequestBody{Client: c, Timestamp: tc.ts, Ops: make([]spec.SealedOp, tc.ops)}}
		if got := h.r.staleAtEdge(q); got != tc.stale {
			t.Errorf("timestamp %d with %d ops: stale %v, want %v", tc.ts, tc.ops, got, tc.stale)
		}
	}
}

// TestRelayBudget: a peer broker flooding the primary with relayed requests that fail
// R5 gets at most its relay budget verified (the rest is dropped unverified and
// counted), refilled every period (16 ticks after 4 bad signatures); another peer's
// relayed requests, more of them than the burst (genuine relays spend no budget), and
// the flooder's own genuine ones once its budget refills, are still batched: a bad
// signature in a relayed request bans neither the peer nor the client for good.
// Without an effective budget every junk request is verified.
func TestRelayBudget(t *testing.T) {
	for _, tc := range []struct {
		name             string
		burst, perTick   int
		wantBad, wantDrp uint64 // after the flood of 20
		wantBad2         uint64 // after 1 tick and 3 more
	}{
		{"budget 4, 2 per period", 4, 2, 4, 16, 4},
		{"no effective budget", 1 << 20, 1, 20, 0, 23},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, 0, Options{PeerRelayBurst: tc.burst, PeerRelayPerTick: tc.perTick, BatchTicks: 1000})
			junk := func(ts uint64) []byte {
				_, q := h.w.request(t, 0, ts)
				q.Sig[0] ^= 1
				return EncodePeer(spec.KindRequest, spec.Encode(q))
			}
			for ts := uint64(1); ts <= 20; ts++ {
				h.r.HandlePeer(1, junk(ts))
			}
			if m := h.r.Metrics(); m.BadRequests != tc.wantBad || m.RelayDrops != tc.wantDrp {
				t.Fatalf("flood: %d verified and bad, %d relay drops; want %d, %d", m.BadRequests, m.RelayDrops, tc.wantBad, tc.wantDrp)
			}
			good, _ := h.w.request(t, 0, 50) // the same client's genuine request, via a correct peer
			h.r.HandlePeer(2, EncodePeer(spec.KindRequest, good))
			want := map[uint64]bool{h.w.clients[0].ID<<32 | 50: false, h.w.clients[1].ID<<32 | 1: false}
			for c := 2; c < 8; c++ { // more genuine relays than the burst: they spend no budget
				raw, _ := h.w.request(t, c, 1)
				h.r.HandlePeer(2, EncodePeer(spec.KindRequest, raw))
				want[h.w.clients[c].ID<<32|1] = false
			}
			if m := h.r.Metrics(); m.RelayDrops != tc.wantDrp {
				t.Fatalf("the correct peer's genuine relays were dropped: %d relay drops, want %d", m.RelayDrops, tc.wantDrp)
			}
			h.ticks(1)
			for ts := uint64(21); ts <= 23; ts++ {
				h.r.HandlePeer(1, junk(ts))
			}
			if m := h.r.Metrics(); m.BadRequests != tc.wantBad2 {
				t.Fatalf("after a tick: %d verified and bad; want %d", m.BadRequests, tc.wantBad2)
			}
			h.ticks(15)
			own, _ := h.w.request(t, 1, 1) // a genuine request the flooder relays
			h.r.HandlePeer(1, EncodePeer(spec.KindRequest, own))
			h.r.batch.cut(true)
			h.r.Flush()
			for _, b := range batchedClients(t, h.enc[spec.RolePrep]) {
				for _, c := range b {
					if _, ok := want[c]; ok {
						want[c] = true
					}
				}
			}
			for c, got := range want {
				if !got {
					t.Errorf("client %d timestamp %d not batched", c>>32, c&(1<<32-1))
				}
			}
		})
	}
}

// TestRelayBudgetShrinks: a peer broker that relays junk, flooding or paced at one
// bad signature a tick, gets its refill period doubled by every bad signature, so
// after its burst of two the primary verifies its junk only at ticks 4, 12, 28, 60
// and 124, and RelayClosed reports exactly the drops a host may make before
// decoding; a correct peer relaying genuine requests all the while is never closed.
// (The old budget, one token per tick for good, verified one a tick.)
func TestRelayBudgetShrinks(t *testing.T) {
	for _, tc := range []struct {
		name    string
		perTick uint64
		want    []uint64
	}{
		{"flooding, 3 per tick", 3, []uint64{0, 0, 4, 12, 28, 60, 124}},
		{"paced, 1 per tick", 1, []uint64{0, 1, 4, 12, 28, 60, 124}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, 0, Options{PeerRelayBurst: 2, PeerRelayPerTick: 1, BatchTicks: 1 << 20, RequestTimeoutTicks: 1 << 20})
			var verifiedAt []uint64
			for tick := uint64(0); tick < 200; tick++ {
				for k := range tc.perTick {
					if h.junkVerified(t, 1, 1000+3*tick+k) {
						verifiedAt = append(verifiedAt, tick)
					}
				}
				good, _ := h.w.request(t, 1+int(tick%7), 1+tick)
				h.r.HandlePeer(2, EncodePeer(spec.KindRequest, good))
				if h.r.RelayClosed(2) {
					t.Fatalf("tick %d: the correct peer's relays are closed", tick)
				}
				h.r.Tick()
			}
			if !slices.Equal(verifiedAt, tc.want) {
				t.Fatalf("junk verified at ticks %v, want %v", verifiedAt, tc.want)
			}
			if m, want := h.r.Metrics(), 200*tc.perTick-uint64(len(tc.want)); m.RelayDrops != want {
				t.Fatalf("%d relay drops, want %d", m.RelayDrops, want)
			}
		})
	}
}

// junkVerified has peer from relay a request of client 0 with timestamp ts and a bad
// signature, and reports whether the primary verified it (else it dropped it
// unverified, which RelayClosed must have announced).
func (h *harness) junkVerified(t *testing.T, from, ts uint64) bool {
	_, q := h.w.request(t, 0, ts)
	q.Sig[0] ^= 1
	before, closed := h.r.Metrics().BadRequests, h.r.RelayClosed(from)
	h.r.HandlePeer(from, EncodePeer(spec.KindRequest, spec.Encode(q)))
	verified := h.r.Metrics().BadRequests > before
	if closed == verified {
		t.Fatalf("timestamp %d: RelayClosed %v, verified %v", ts, closed, verified)
	}
	return verified
}

// TestPeerJunkBudget: protocol messages of one peer broker that a local compartment
// rejects for a bad signature spend that peer's budget at that compartment; once it is
// used up, the peer's messages are no longer delivered there (counted as JunkDrops),
// while another peer's still are, and the same peer's still reach the other
// compartments; the budget refills with ticks (SPEC §13.3 obligation 5).
func TestPeerJunkBudget(t *testing.T) {
	h := newHarness(t, 1, Options{PeerJunkBurst: 4, PeerJunkPerTick: 1})
	var idx, seen int
	h.enc[spec.RoleConf].script = func(f *fakeEnclave, in spec.Input) []spec.Output {
		if len(f.steps) != seen {
			seen, idx = len(f.steps), 0
		}
		i := idx
		idx++
		var p spec.Prepare
		if in.Kind != spec.KindPrepare || spec.Decode(in.Body, &p, spec.MaxBodyBytes(spec.KindPrepare)) != nil || p.Body.Replica != 3 {
			return nil
		}
		rj := spec.Rejection{Index: uint64(i), Kind: in.Kind, Code: spec.CodeBadSignature}
		return []spec.Output{{Kind: spec.KindReject, Body: spec.Encode(&rj)}}
	}
	delivered := func(from uint64) int {
		n := 0
		for _, in := range h.enc[spec.RoleConf].inputs() {
			var p spec.Prepare
			if in.Kind == spec.KindPrepare && spec.Decode(in.Body, &p, spec.MaxBodyBytes(spec.KindPrepare)) == nil && p.Body.Replica == from {
				n++
			}
		}
		return n
	}
	send := func(from uint64, n int) {
		for i := range n {
			h.peer(from, spec.KindPrepare, &spec.Prepare{Body: spec.Slot{Seq: uint64(i + 1), Replica: from}})
			h.r.Flush()
		}
	}
	send(3, 10) // every one fails at conf: 4 delivered, then the budget is used up
	send(2, 10)
	if got, m := delivered(3), h.r.Metrics(); got != 4 || m.JunkDrops != 6 {
		t.Fatalf("peer 3: %d delivered, %d dropped; want 4, 6", got, m.JunkDrops)
	}
	if got := delivered(2); got != 10 {
		t.Fatalf("peer 2: %d of 10 delivered", got)
	}
	h.peer(3, spec.KindCommit, &spec.Commit{Body: spec.Slot{Seq: 1, Replica: 3}}) // for exec: still delivered
	h.r.Flush()
	if n := countU(h.enc[spec.RoleExec].kinds(), spec.KindCommit); n != 1 {
		t.Fatalf("peer 3's COMMIT reached exec %d times, want 1", n)
	}
	h.ticks(2)
	send(3, 3)
	if got := delivered(3); got != 6 {
		t.Fatalf("after 2 ticks: peer 3 delivered %d, want 6 (2 refilled)", got)
	}
}
