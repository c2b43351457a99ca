package operator

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/splitbft/splitbft/broker/ledger"
	"github.com/splitbft/splitbft/spec"
)

// TestClusterLedger: a process cluster under a workload keeps a ledger at every
// replica; after every replica is killed (SIGKILL, mid-run for the disk), each ledger
// opens and verifies offline against the replica's configuration, and copies with
// one record altered, removed or reordered fail with the fault named (SPEC §13.5).
// Replicas 0 and 1 run with retention and an archive (--ledger-retain,
// --ledger-archive): their live ledgers were pruned, and the archive segments and
// the live ledger verify as one chain from the first batch (§13.5, "Retention").
func TestClusterLedger(t *testing.T) {
	if testing.Short() {
		t.Skip("starts 16 processes; skipped in -short mode")
	}
	pc := &procCluster{t: t}
	pc.wrap = func(ns int, argv []string) []string {
		if len(argv) > 1 && argv[1] == "replica" && ns < 2 { // one archive root for both
			return append(argv, "--ledger-retain", "8", "--ledger-archive", filepath.Join(pc.dir, "archive"), "--ledger-snapshot-log", "1")
		}
		return argv
	}
	pc.start(4, "--base-port", strconv.Itoa(freeBase(t, 12)))
	pc.workload(3, 60, func(int) {})
	for _, e := range pc.status() {
		if e.Status == nil || e.Status.Ledger == nil || e.Status.Ledger.Durable == 0 {
			t.Fatalf("replica %d: no durable ledger in /status: %+v", e.Replica, e.Status)
		}
		t.Logf("replica %d: ledger %+v, exec last %d", e.Replica, *e.Status.Ledger, e.Status.Compartments[spec.RoleExec].Last)
	}
	for _, c := range pc.reps {
		killGroup(c)
	}
	var dir0 string
	var cfg0 *spec.Config
	for i := range pc.reps {
		cfg := readConfigFile(t, filepath.Join(pc.dir, fmt.Sprintf("replica-%d", i), ConfigFile))
		dir := LedgerDir(pc.dir, uint64(i), cfg)
		s, err := ledger.Verify(dir, cfg)
		if err != nil || s.Batches == 0 {
			t.Fatalf("replica %d: verify: %v (summary %+v)", i, err, s)
		}
		t.Logf("replica %d: ledger verifies: %+v", i, s)
		if i < 2 {
			a, err := ledger.VerifyArchive(ArchiveDir(filepath.Join(pc.dir, "archive"), uint64(i), cfg), dir, cfg)
			if err != nil || len(a.Segments) == 0 || a.Segments[0].First != 1 || a.Live.PrunedTo == 0 {
				t.Fatalf("replica %d: archive with the live ledger: %+v, %v", i, a, err)
			}
			t.Logf("replica %d: %d archive segments, live ledger pruned to %d", i, len(a.Segments), a.Live.PrunedTo)
		}
		if i == 2 {
			dir0, cfg0 = dir, cfg
		}
	}
	checkAlteredCopies(t, dir0, cfg0)
}

// checkAlteredCopies alters copies of a real ledger one record at a time.
func checkAlteredCopies(t *testing.T, dir string, cfg *spec.Config) {
	s, err := ledger.Verify(dir, cfg)
	if err != nil || s.Last-s.First < 4 {
		t.Fatalf("need a ledger of at least 5 batches: %+v %v", s, err)
	}
	mid := (s.First + s.Last) / 2
	for _, c := range []struct {
		name string
		edit func(t *testing.T, db *pebble.DB)
		want string
	}{
		{"commit signature altered", func(t *testing.T, db *pebble.DB) {
			resealBatch(t, db, mid, func(r *ledger.BatchRecord) { r.Cert[0][len(r.Cert[0])-1] ^= 1 })
		}, fmt.Sprintf("seq %d: commit certificate: signature of replica", mid)},
		{"bit flipped", func(t *testing.T, db *pebble.DB) {
			v := getValue(t, db, batchKey(mid))
			v[len(v)/3] ^= 4
			setValue(t, db, batchKey(mid), v)
		}, fmt.Sprintf("seq %d: checksum mismatch", mid)},
		{"record removed", func(t *testing.T, db *pebble.DB) {
			if err := db.Delete(batchKey(mid), pebble.Sync); err != nil {
				t.Fatal(err)
			}
		}, fmt.Sprintf("seq %d: gap: no record of seq %d", mid+1, mid)},
		{"records reordered", func(t *testing.T, db *pebble.DB) {
			a, b := getValue(t, db, batchKey(mid)), getValue(t, db, batchKey(mid+1))
			setValue(t, db, batchKey(mid), b)
			setValue(t, db, batchKey(mid+1), a)
		}, fmt.Sprintf("seq %d: checksum mismatch", mid)},
	} {
		t.Run(c.name, func(t *testing.T) {
			cp := filepath.Join(t.TempDir(), "ledger")
			if err := os.CopyFS(cp, os.DirFS(dir)); err != nil {
				t.Fatal(err)
			}
			db, err := pebble.Open(cp, &pebble.Options{Logger: silentPebble{}})
			if err != nil {
				t.Fatal(err)
			}
			c.edit(t, db)
			db.Close()
			_, err = ledger.Verify(cp, cfg)
			var fault *ledger.Fault
			if !errors.As(err, &fault) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("verify: %v, want %q", err, c.want)
			}
		})
	}
}

func readConfigFile(t *testing.T, path string) *spec.Config {
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var cfg spec.Config
	if err := spec.Decode(raw, &cfg, spec.MaxMessageBytes); err != nil {
		t.Fatal(err)
	}
	return &cfg
}

// batchKey is the key of a batch record (SPEC §13.5): 'b' || u64(seq).
func batchKey(seq uint64) []byte { return append([]byte{'b'}, spec.U64(seq)...) }

func getValue(t *testing.T, db *pebble.DB, k []byte) []byte {
	v, closer, err := db.Get(k)
	if err != nil {
		t.Fatalf("get %x: %v", k, err)
	}
	defer closer.Close()
	return append([]byte(nil), v...)
}

func setValue(t *testing.T, db *pebble.DB, k, v []byte) {
	if err := db.Set(k, v, pebble.Sync); err != nil {
		t.Fatal(err)
	}
}

// resealBatch rewrites a batch record after mod, with the checksum recomputed as
// SPEC §13.5 defines it: a forger who follows the format.
func resealBatch(t *testing.T, db *pebble.DB, seq uint64, mod func(r *ledger.BatchRecord)) {
	k := batchKey(seq)
	v := getValue(t, db, k)
	var rec ledger.BatchRecord
	if err := spec.Decode(v[:len(v)-4], &rec, spec.MaxMessageBytes); err != nil {
		t.Fatal(err)
	}
	mod(&rec)
	payload := spec.Encode(&rec)
	tab := crc32.MakeTable(crc32.Castagnoli)
	sum := crc32.Update(crc32.Checksum(k, tab), tab, payload)
	setValue(t, db, k, binary.BigEndian.AppendUint32(payload, sum))
}

// BenchmarkDurability compares, in one run, a process cluster with the durable
// ledger on and off (SPEC §13.5): 16 clients (DURABILITY_BENCH_CLIENTS) for 10 s
// (DURABILITY_BENCH_SECONDS), 1 and 16 operations
// per request, each mode twice in ABBA order. It reports the mean throughput of each
// and their ratio, p50 and p99 request latency, fsyncs per executed batch and the
// mean fsync time. Run with -benchtime 1x:
//
//	go test ./operator -run XXX -bench BenchmarkDurability -benchtime 1x
func BenchmarkDurability(b *testing.B) {
	d := time.Duration(envInt(b, "DURABILITY_BENCH_SECONDS", 10)) * time.Second
	clients := envInt(b, "DURABILITY_BENCH_CLIENTS", 16)
	for _, pack := range []int{1, 16} {
		b.Run(fmt.Sprintf("pack=%d", pack), func(b *testing.B) {
			// ABBA order, so that a drift of the machine's load hits both modes alike.
			var off, on []durabilityResult
			for _, mode := range []string{"off", "on", "on", "off"} {
				r := durabilityRun(b, mode, pack, clients, d)
				if mode == "off" {
					off = append(off, r)
				} else {
					on = append(on, r)
				}
			}
			mo, mn := meanResult(off), meanResult(on)
			b.ReportMetric(mo.opsPerSec, "ops/s-off")
			b.ReportMetric(mn.opsPerSec, "ops/s-on")
			b.ReportMetric(mn.opsPerSec/mo.opsPerSec, "on/off")
			b.ReportMetric(mo.p50, "p50-ms-off")
			b.ReportMetric(mn.p50, "p50-ms-on")
			b.ReportMetric(mo.p99, "p99-ms-off")
			b.ReportMetric(mn.p99, "p99-ms-on")
			b.ReportMetric(mn.syncsPerBatch, "fsyncs/batch")
			b.ReportMetric(mn.syncMs, "fsync-ms")
		})
	}
}

// envInt returns the integer in environment variable name, or def.
func envInt(b testing.TB, name string, def int) int {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		b.Fatalf("%s=%q: want a positive integer", name, s)
	}
	return n
}

// meanResult averages runs of one mode.
func meanResult(rs []durabilityResult) durabilityResult {
	var m durabilityResult
	for _, r := range rs {
		m.opsPerSec += r.opsPerSec / float64(len(rs))
		m.p50 += r.p50 / float64(len(rs))
		m.p99 += r.p99 / float64(len(rs))
		m.syncsPerBatch += r.syncsPerBatch / float64(len(rs))
		m.syncMs += r.syncMs / float64(len(rs))
	}
	return m
}

// durabilityResult is one cluster's measurement.
type durabilityResult struct {
	opsPerSec, p50, p99 float64
	syncsPerBatch       float64 // ledger fsyncs per batch record written, mean over replicas
	syncMs              float64 // mean fsync time, over replicas
	view                uint64  // highest prep view at the end (view changes during the run)
}

// durabilityRun starts a cluster with --durability=mode, runs clients for d, and
// stops it.
func durabilityRun(b *testing.B, mode string, pack, clients int, d time.Duration) durabilityResult {
	pc := &procCluster{t: b, wrap: func(_ int, argv []string) []string { return argv }, replicaArgs: []string{"--durability=" + mode}}
	pc.start(4, "--base-port", strconv.Itoa(freeBase(b, 12)), "--clients", strconv.Itoa(clients))
	defer func() {
		for _, c := range pc.reps {
			killGroup(c)
		}
	}()
	ctx := context.Background()
	var kvs []Doer
	for id := 1; id <= clients; id++ {
		kv, err := Connect(ctx, KVOptions{Dir: pc.dir, ID: uint64(id), Wait: time.Minute, Stderr: io.Discard, Quiet: true, Timeout: 20 * time.Second})
		if err != nil {
			b.Fatalf("client %d: %v", id, err)
		}
		defer kv.Close() // before the next cluster takes the same ports
		kvs = append(kvs, kv)
	}
	res := RunBench(ctx, kvs, BenchOptions{Duration: d, Pack: pack, Prefix: fmt.Sprintf("dur-%s-%d/", mode, pack), Seed: 1, RequestTimeout: 20 * time.Second})
	if res.Wrong > 0 || res.Failed > 0 || res.Ops == 0 {
		b.Fatalf("durability %s pack %d: %d ops, %d wrong, %d failed (%v)", mode, pack, res.Ops, res.Wrong, res.Failed, res.FirstFailure)
	}
	out := durabilityResult{opsPerSec: float64(res.Ops) / res.Elapsed.Seconds(),
		p50: float64(res.Percentile(50)) / 1e6, p99: float64(res.Percentile(99)) / 1e6}
	n := 0
	for _, e := range pc.status() {
		if e.Status == nil {
			continue
		}
		out.view = max(out.view, e.Status.Compartments[spec.RolePrep].View)
		if l := e.Status.Ledger; l != nil && l.Batches > 0 && l.Syncs > 0 {
			out.syncsPerBatch += float64(l.Syncs) / float64(l.Batches)
			out.syncMs += l.SyncMs / float64(l.Syncs)
			n++
		}
	}
	if n > 0 {
		out.syncsPerBatch /= float64(n)
		out.syncMs /= float64(n)
	}
	b.Logf("durability %s, %d clients, pack %d: %.0f ops/s, p50 %.2f ms, p99 %.2f ms, fsyncs/batch %.3f, mean fsync %.2f ms, view %d",
		mode, clients, pack, out.opsPerSec, out.p50, out.p99, out.syncsPerBatch, out.syncMs, out.view)
	return out
}

// silentPebble discards pebble's log lines in tests.
type silentPebble struct{}

func (silentPebble) Infof(string, ...any)      {}
func (silentPebble) Errorf(string, ...any)     {}
func (silentPebble) Fatalf(f string, a ...any) { panic(fmt.Sprintf(f, a...)) }
