package operator

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/splitbft/splitbft/broker"
	"github.com/splitbft/splitbft/broker/tcpnet"
	"github.com/splitbft/splitbft/spec"
)

// fakeEnclave answers every Step with outs, or fails with err.
type fakeEnclave struct {
	outs []spec.Output
	err  error
}

func (f *fakeEnclave) Init([]byte) ([]byte, error) { return nil, f.err }
func (f *fakeEnclave) Step([]byte) ([]byte, error) {
	if f.err != nil {
		return nil, f.err
	}
	return spec.Encode(&spec.StepOutput{Outputs: f.outs}), nil
}

// checkpointOutputs returns exec outputs carrying CHECKPOINTs at seqs, whose state
// digest is the seq in its first byte.
func checkpointOutputs(seqs ...uint64) []spec.Output {
	var outs []spec.Output
	for _, s := range seqs {
		cp := spec.Checkpoint{Body: spec.CheckpointBody{Seq: s, State: spec.Digest{byte(s)}, Replica: 1}}
		outs = append(outs, spec.Output{Kind: spec.KindCheckpoint, To: spec.Destination{Roles: 7, Replicas: []uint64{0, 1, 2, 3}}, Body: spec.Encode(&cp)})
	}
	return append(outs, spec.Output{Kind: spec.KindStatus, Body: spec.Encode(&spec.Status{Role: spec.RoleExec, Replica: 1})})
}

// testNode returns replica 1's node whose prep died, whose conf is idle, and whose
// exec emitted checkpoints 8..160 in two steps of 3 ms each.
func testNode(t *testing.T) *node {
	log := slog.New(slog.DiscardHandler)
	n := &node{id: 1, t: validTemplate(t), phase: PhaseRunning}
	n.watched[spec.RolePrep] = Watch(&fakeEnclave{err: errors.New("procenclave: enclave process is dead")}, spec.RolePrep, "prep-a", log)
	n.watched[spec.RoleConf] = Watch(&fakeEnclave{}, spec.RoleConf, "conf-b", log)
	var seqs []uint64
	for s := uint64(8); s <= 160; s += 8 {
		seqs = append(seqs, s)
	}
	w := Watch(&fakeEnclave{outs: checkpointOutputs(seqs[:10]...)}, spec.RoleExec, "exec", log)
	clock := time.Unix(0, 0)
	w.now = func() time.Time { clock = clock.Add(3 * time.Millisecond); return clock }
	w.Step(nil)
	w.e = &fakeEnclave{outs: checkpointOutputs(seqs[10:]...)}
	w.Step(nil)
	n.watched[spec.RoleExec] = w
	n.watched[spec.RolePrep].Step(nil)
	return n
}

// testSnapshot is a running replica's snapshot.
func testSnapshot() snapshot {
	dev := "dev-insecure (NO TEE)"
	s := snapshot{phase: PhaseRunning, running: true, states: [3]string{dev, dev, dev}}
	s.status = [3]spec.Status{
		{Role: spec.RolePrep, Replica: 1, Configured: true, View: 5, ViewActive: true, Last: 130},
		{Role: spec.RoleConf, Replica: 1, Configured: true, View: 6, ViewActive: false, Last: 129, Stable: 128},
		{Role: spec.RoleExec, Replica: 1, Configured: true, View: 5, ViewActive: true, Last: 129, Stable: 152},
	}
	s.metrics = broker.Metrics{Replies: 42, Batches: 3, Requests: 10, Steps: [3]uint64{1, 2, 3}, Rejections: map[uint64]uint64{spec.CodeBadSignature: 2}}
	s.net = tcpnet.Stats{Peers: []tcpnet.PeerStats{{Addr: "a:1", Sent: 7, Connected: true}, {}, {Addr: "c:1"}, {Addr: "d:1", Garbage: 1}},
		Refused: 5, Clients: tcpnet.ClientStats{Refused: 6}}
	s.events = EventCounts{ViewChanges: 2, StateTransfers: 1, Stalled: true}
	s.ledger = &LedgerStatus{Durable: 128, Syncs: 40, SyncMs: 500, Batches: 100, PrunedTo: 96, Segments: 3, DiskFree: 5 << 30, DiskSize: 50 << 30}
	return s
}

func TestStatusDoc(t *testing.T) {
	n := testNode(t)
	doc := n.statusDoc(n.withWatched(testSnapshot()))
	if len(doc.Compartments) != 3 || doc.Phase != PhaseRunning || doc.Replica != 1 {
		t.Fatalf("status %+v", doc)
	}
	prep, conf, exec := doc.Compartments[0], doc.Compartments[1], doc.Compartments[2]
	if prep.Alive || !strings.Contains(prep.Error, "dead") || prep.Build != "prep-a" {
		t.Errorf("prep %+v: want dead with the host error", prep)
	}
	if !conf.Alive || conf.ViewActive || conf.View != 6 || conf.Build != "conf-b" {
		t.Errorf("conf %+v", conf)
	}
	if exec.Last != 129 || exec.Stable != 152 || exec.Attestation != "dev-insecure (NO TEE)" {
		t.Errorf("exec %+v", exec)
	}
	if len(doc.Checkpoints) != checkpointRing || doc.Checkpoints[0].Seq != 40 || doc.Checkpoints[15].Seq != 160 {
		t.Errorf("checkpoints %v: want the last %d, 40..160, oldest first", doc.Checkpoints, checkpointRing)
	}
	want := hex.EncodeToString([]byte{152}) + strings.Repeat("00", 31)
	if doc.Stable.Seq != 152 || doc.Stable.State != want {
		t.Errorf("stable %+v, want 152 with state %s", doc.Stable, want)
	}
}

func TestStatusTable(t *testing.T) {
	n := testNode(t)
	results := []StatusResult{
		{Replica: 0, Err: errors.New("dial tcp 127.0.0.1:7002: connection refused")},
		{Replica: 1, Status: n.statusDoc(n.withWatched(testSnapshot()))},
	}
	tmpl := &Template{N: 4, F: 1}
	var buf bytes.Buffer
	if err := WriteStatusTable(&buf, results, AssessHealth(tmpl, results)); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	want := [][]string{
		{"REPLICA", "PHASE", "ROLE", "BUILD", "VIEW", "LAST", "STABLE", "ATTESTATION", "STATE", "HEALTH"},
		{"0", "unreachable", "-", "-", "-", "-", "-", "-", "dial tcp 127.0.0.1:7002: connection refused", "unreachable"},
		{"1", "running", "prep", "prep-a", "5", "130", "0", "dev-insecure (NO TEE)", "DEAD: procenclave: enclave process is dead", "prep dead"},
		{"1", "running", "conf", "conf-b", "6 (changing)", "129", "128", "dev-insecure (NO TEE)", "alive"},
		{"1", "running", "exec", "exec", "5", "129", "152", "dev-insecure (NO TEE)", "alive"},
		{"replica 1: stable checkpoint 152 state 98000000"},
		{"NO QUORUM: view 6, primary 2; 0 of 4 replicas healthy, a quorum needs 2f+1 = 3; replica 0 unreachable; replica 1 prep dead"},
	}
	if len(lines) != len(want) {
		t.Fatalf("%d lines, want %d:\n%s", len(lines), len(want), buf.String())
	}
	for i, cells := range want {
		for _, c := range cells {
			if !strings.Contains(lines[i], c) {
				t.Errorf("line %d %q lacks %q", i, lines[i], c)
			}
		}
	}
	if col := strings.Index(lines[0], "ATTESTATION"); strings.Index(lines[3], "dev-insecure") != col {
		t.Errorf("columns not aligned:\n%s", buf.String())
	}
}

func TestNodeMetrics(t *testing.T) {
	n := testNode(t)
	var buf bytes.Buffer
	if err := n.writeMetrics(&buf, n.withWatched(testSnapshot())); err != nil {
		t.Fatal(err)
	}
	types, samples := mustParse(t, buf.String())
	got := map[string]float64{}
	for _, s := range samples {
		got[s.name+labelString(s.labels)] = s.value
	}
	for series, v := range map[string]float64{
		`splitbft_requests_executed_total`:                                     42,
		`splitbft_batch_size_sum`:                                              10,
		`splitbft_batch_size_count`:                                            3,
		`splitbft_stable_checkpoint`:                                           152,
		`splitbft_last_executed`:                                               129,
		`splitbft_view{role=conf}`:                                             6,
		`splitbft_enclave_dead{build=prep-a,role=prep}`:                        1,
		`splitbft_enclave_dead{build=exec,role=exec}`:                          0,
		`splitbft_enclave_call_seconds_count{build=exec,role=exec}`:            2,
		`splitbft_enclave_call_seconds_sum{build=exec,role=exec}`:              0.006,
		`splitbft_enclave_call_seconds_bucket{build=exec,le=0.0025,role=exec}`: 0,
		`splitbft_enclave_call_seconds_bucket{build=exec,le=0.005,role=exec}`:  2,
		`splitbft_enclave_steps_total{build=exec,role=exec}`:                   3,
		`splitbft_rejections_total{code=bad-signature}`:                        2,
		`splitbft_phase{phase=running}`:                                        1,
		`splitbft_tcp_frames_sent_total{peer=0}`:                               7,
		`splitbft_tcp_connected{peer=0}`:                                       1,
		`splitbft_tcp_garbage_total{peer=3}`:                                   1,
		`splitbft_view_changes_total`:                                          2,
		`splitbft_state_transfers_total`:                                       1,
		`splitbft_checkpoint_stalled`:                                          1,
		`splitbft_tcp_rejected_connections_total{port=peer}`:                   5,
		`splitbft_tcp_rejected_connections_total{port=client}`:                 6,
		`splitbft_ledger_durable_seq`:                                          128,
		`splitbft_ledger_fsyncs_total`:                                         40,
		`splitbft_ledger_fsync_seconds_total`:                                  0.5,
		`splitbft_ledger_pruned_to_seq`:                                        96,
		`splitbft_ledger_archive_segments_total`:                               3,
		`splitbft_ledger_disk_free_bytes`:                                      5 << 30,
	} {
		if g, ok := got[series]; !ok || g != v {
			t.Errorf("%s = %v (present %v), want %v", series, g, ok, v)
		}
	}
	if _, ok := got["splitbft_tcp_frames_sent_total{peer=1}"]; ok {
		t.Error("a series for the replica's own id in the peer metrics")
	}
	for _, fam := range []string{"splitbft_enclave_call_seconds", "splitbft_batch_size", "splitbft_requests_executed_total", "splitbft_view"} {
		if types[fam] == "" {
			t.Errorf("family %s missing", fam)
		}
	}
}

// labelString renders labels sorted by name as {a=x,b=y}.
func labelString(l map[string]string) string {
	if len(l) == 0 {
		return ""
	}
	var parts []string
	for k, v := range l {
		parts = append(parts, fmt.Sprintf("%s=%s", k, v))
	}
	slices.Sort(parts)
	return "{" + strings.Join(parts, ",") + "}"
}

// healthDoc is a running replica's /status document for the health tests: prep and
// conf in view (active), all alive, configuration cfg.
func healthDoc(id, view uint64, cfg string) *ReplicaStatus {
	st := &ReplicaStatus{Replica: id, Phase: PhaseRunning, ConfigDigest: cfg}
	for _, r := range []string{"prep", "conf", "exec"} {
		st.Compartments = append(st.Compartments, CompartmentStatus{Role: r, Alive: true, View: view, ViewActive: true})
	}
	return st
}

// TestAssessHealth checks the verdict `splitbft status` exits with and kv explains a
// timeout by: 0 all healthy, 1 degraded with a quorum, 2 without one.
func TestAssessHealth(t *testing.T) {
	down := errors.New("connection refused")
	ok := func(id uint64) StatusResult { return StatusResult{Replica: id, Status: healthDoc(id, 5, "aa")} }
	mod := func(id uint64, f func(*ReplicaStatus)) StatusResult {
		r := ok(id)
		f(r.Status)
		return r
	}
	for _, tc := range []struct {
		name     string
		results  []StatusResult
		exit     int
		view     uint64
		problems string
	}{
		{"all healthy", []StatusResult{ok(0), ok(1), ok(2), ok(3)}, ExitHealthy, 5, ""},
		{"one unreachable", []StatusResult{ok(0), {Replica: 1, Err: down}, ok(2), ok(3)}, ExitDegraded, 5, "replica 1 unreachable"},
		{"a dead compartment", []StatusResult{ok(0), ok(1), mod(2, func(s *ReplicaStatus) { s.Compartments[2].Alive = false }), ok(3)}, ExitDegraded, 5, "replica 2 exec dead"},
		{"alone with its own configuration", []StatusResult{ok(0), ok(1), ok(2), mod(3, func(s *ReplicaStatus) { s.ConfigDigest = "bb" })}, ExitDegraded, 5, "replica 3 formed another configuration"},
		{"an epoch behind", []StatusResult{ok(0), ok(1), ok(2), mod(3, func(s *ReplicaStatus) { s.ConfigDigest, s.Epoch = "bb", 1 })}, ExitDegraded, 5, "replica 3 in epoch 1, the others in epoch 0"},
		{"behind in view", []StatusResult{ok(0), ok(1), ok(2), mod(3, func(s *ReplicaStatus) { s.Compartments[1].View = 4 })}, ExitDegraded, 5, "replica 3 not in the current view"},
		{"changing view", []StatusResult{ok(0), ok(1), mod(2, func(s *ReplicaStatus) { s.Compartments[1].ViewActive = false }), ok(3)}, ExitDegraded, 5, "replica 2 not in the current view"},
		{"all changing view", []StatusResult{mod(0, func(s *ReplicaStatus) { s.Compartments[1].View, s.Compartments[1].ViewActive = 6, false }),
			mod(1, func(s *ReplicaStatus) { s.Compartments[1].View, s.Compartments[1].ViewActive = 6, false }), ok(2), ok(3)}, ExitNoQuorum, 6, "replicas 0, 1, 2, 3 not in the current view"},
		{"forming", []StatusResult{ok(0), ok(1), ok(2), mod(3, func(s *ReplicaStatus) { s.Phase = PhaseForming })}, ExitDegraded, 5, "replica 3 forming"},
		{"ledger stopped", []StatusResult{ok(0), mod(1, func(s *ReplicaStatus) { s.Ledger = &LedgerStatus{Error: "ledger: write: no space left on device"} }), ok(2), ok(3)},
			ExitDegraded, 5, "replica 1 ledger stopped, replies held: ledger: write: no space left on device"},
		{"ledger disk low, still healthy", []StatusResult{ok(0), mod(1, func(s *ReplicaStatus) { s.Ledger = &LedgerStatus{DiskFree: 100 << 20, DiskSize: 10 << 30} }), ok(2), ok(3)},
			ExitHealthy, 5, ""},
		{"no quorum", []StatusResult{ok(0), {Replica: 1, Err: down}, {Replica: 2, Err: down}, ok(3)}, ExitNoQuorum, 5, "replicas 1, 2 unreachable"},
		{"all down", []StatusResult{{Replica: 0, Err: down}, {Replica: 1, Err: down}, {Replica: 2, Err: down}, {Replica: 3, Err: down}}, ExitNoQuorum, 0, "replicas 0, 1, 2, 3 unreachable"},
	} {
		h := AssessHealth(&Template{N: 4, F: 1}, tc.results)
		if h.ExitCode() != tc.exit || h.View != tc.view || h.Primary != tc.view%4 || h.Problems() != tc.problems {
			t.Errorf("%s: exit %d view %d primary %d problems %q; want %d, %d, %q", tc.name, h.ExitCode(), h.View, h.Primary, h.Problems(), tc.exit, tc.view, tc.problems)
		}
	}
}

// TestSummaryDiskWarning: a replica whose ledger volume is nearly full stays healthy
// and the verdict warns about it; one with room gets no warning.
func TestSummaryDiskWarning(t *testing.T) {
	var rs []StatusResult
	for i := range uint64(4) {
		rs = append(rs, StatusResult{Replica: i, Status: healthDoc(i, 5, "aa")})
		rs[i].Status.Ledger = &LedgerStatus{DiskFree: 20 << 30, DiskSize: 100 << 30}
	}
	rs[2].Status.Ledger.DiskFree = 300 << 20
	s := AssessHealth(&Template{N: 4, F: 1}, rs).Summary()
	if want := "healthy: view 5, primary 1; 4 of 4 replicas healthy, a quorum needs 2f+1 = 3; warning: replica 2 ledger disk nearly full: 300 MiB free of 102400 MiB"; !strings.HasPrefix(s, want) {
		t.Fatalf("summary %q, want it to start with %q", s, want)
	}
	if strings.Count(s, "warning") != 1 {
		t.Fatalf("summary %q: one warning expected", s)
	}
}

// TestSummaryEpoch: the verdict names the epoch once the cluster left its first
// configuration (SPEC §17).
func TestSummaryEpoch(t *testing.T) {
	doc := func(i uint64) StatusResult {
		st := healthDoc(i, 1, "cc")
		st.Epoch = 2
		return StatusResult{Replica: i, Status: st}
	}
	h := AssessHealth(&Template{N: 4, F: 1}, []StatusResult{doc(0), doc(1), doc(2), doc(3)})
	if s := h.Summary(); !strings.HasPrefix(s, "healthy: epoch 2, view ") {
		t.Fatalf("summary %q does not name epoch 2", s)
	}
}

// TestTimeoutError checks what kv prints when a request times out.
func TestTimeoutError(t *testing.T) {
	down := errors.New("connection refused")
	cause := fmt.Errorf("%w: context deadline exceeded", errors.New("client: request timed out"))
	h := AssessHealth(&Template{N: 4, F: 1}, []StatusResult{
		{Replica: 0, Status: healthDoc(0, 1, "aa")}, {Replica: 1, Err: down}, {Replica: 2, Err: down}, {Replica: 3, Status: healthDoc(3, 1, "aa")}})
	err := h.explainTimeout(cause, 30*time.Second)
	if want := "no quorum: replicas 1, 2 unreachable (2 of 4 replicas healthy, 2f+1 = 3 needed; gave up after 30s)"; err.Error() != want || !errors.Is(err, cause) {
		t.Errorf("no quorum: %q, want %q (wrapping the cause)", err, want)
	}
	h = AssessHealth(&Template{N: 4, F: 1}, []StatusResult{
		{Replica: 0, Status: healthDoc(0, 1, "aa")}, {Replica: 1, Status: healthDoc(1, 1, "aa")}, {Replica: 2, Err: down}, {Replica: 3, Status: healthDoc(3, 1, "aa")}})
	if err := h.explainTimeout(cause, time.Second); !strings.Contains(err.Error(), "yet 3 of 4 replicas look healthy (view 1, primary 1)") {
		t.Errorf("with a quorum: %q", err)
	}
}

// withWatched gives a test snapshot the node's compartments, as take does.
func (n *node) withWatched(s snapshot) snapshot {
	s.watched = n.watched
	return s
}
