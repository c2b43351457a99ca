package ledger

import (
	"crypto/ed25519"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/splitbft/splitbft/internal/testcluster"
	"github.com/splitbft/splitbft/spec"
)

// fx is a test cluster (every key known) and a ledger directory.
type fx struct {
	t       *testing.T
	seed    uint64
	tc      *testcluster.Cluster
	cfg     *spec.Config // the configuration in force (nextEpoch's after switchEpoch)
	cd      spec.Digest  // its digest, under which the fixture signs
	dir     string
	batches map[spec.Digest][]byte
	woken   chan struct{}
}

func newFx(t *testing.T, seed uint64) *fx {
	t.Helper()
	tc, err := testcluster.New(seed, testcluster.Options{K: 4, L: 16})
	if err != nil {
		t.Fatalf("seed %d: %v", seed, err)
	}
	return &fx{t: t, seed: seed, tc: tc, cfg: tc.Config, cd: tc.CD, dir: filepath.Join(t.TempDir(), "ledger"),
		batches: map[spec.Digest][]byte{}, woken: make(chan struct{}, 1)}
}

// open opens the ledger with a Wake that signals f.woken.
func (f *fx) open(opt Options) *Ledger {
	f.t.Helper()
	opt.Wake = func() {
		select {
		case f.woken <- struct{}{}:
		default:
		}
	}
	l, err := Open(f.dir, f.cfg, opt)
	if err != nil {
		f.t.Fatalf("seed %d: open: %v", f.seed, err)
	}
	return l
}

// batch returns the batch proposed at seq: one signed request of client 100.
func (f *fx) batch(seq uint64) []byte {
	ct := append([]byte("ciphertext-of-op-"), spec.U64(seq)...)
	body := spec.RequestBody{Client: 100, Timestamp: seq, Ops: []spec.SealedOp{{Ciphertext: ct}}}
	cl, _ := f.tc.Client(100)
	msg := spec.SignedBytes(spec.DomainRequest, f.cd, spec.Encode(&body))
	q := spec.Request{Body: body, Sig: spec.Signature(ed25519.Sign(ed25519.NewKeyFromSeed(cl.Seed[:]), msg))}
	raw := spec.Encode(&spec.Batch{Requests: []spec.Request{q}})
	f.batches[spec.Hash(spec.DomainBatch, raw)] = raw
	return raw
}

func (f *fx) lookup(d spec.Digest) ([]byte, bool) {
	raw, ok := f.batches[d]
	return raw, ok
}

// commit returns replica rep's signed COMMIT and its encoding.
func (f *fx) commit(rep, view, seq uint64, d spec.Digest) ([]byte, *spec.Commit) {
	b := spec.Slot{View: view, Seq: seq, Digest: d, Replica: rep}
	c := &spec.Commit{Body: b, Sig: f.sign(spec.RoleConf, rep, spec.DomainCommit, &b)}
	return spec.Encode(c), c
}

// checkpoint returns replica rep's signed CHECKPOINT and its encoding.
func (f *fx) checkpoint(rep, seq uint64, state spec.Digest) ([]byte, *spec.Checkpoint) {
	b := spec.CheckpointBody{Seq: seq, State: state, Replica: rep}
	c := &spec.Checkpoint{Body: b, Sig: f.sign(spec.RoleExec, rep, spec.DomainCheckpoint, &b)}
	return spec.Encode(c), c
}

// sign signs body as enclave (role, rep) under the configuration in force.
func (f *fx) sign(role spec.Role, rep uint64, domain string, body any) spec.Signature {
	return f.tc.SignRaw(testcluster.Slot{Role: role, Replica: rep}, spec.SignedBytes(domain, f.cd, spec.Encode(body)))
}

// nextEpoch returns the configuration after the one in force (same enclaves) starting
// at (start, stateAt(start)), and the epoch change certifying it, with the votes of
// the lowest q execs, and its encoding.
func (f *fx) nextEpoch(start uint64) (*spec.Config, *spec.Step, []byte) {
	f.t.Helper()
	var next spec.Config
	if err := spec.Decode(spec.Encode(f.cfg), &next, spec.MaxMessageBytes); err != nil {
		f.t.Fatal(err)
	}
	next.Epoch, next.Prev, next.StartSeq, next.StartState = f.cfg.Epoch+1, f.cd, start, stateAt(start)
	ec := &spec.EpochChange{Config: spec.Encode(&next)}
	for rep := range uint64(f.cfg.Quorum()) {
		b := spec.EpochVoteBody{Next: spec.ConfigDigest(&next), Replica: rep}
		ec.Votes = append(ec.Votes, spec.EpochVote{Body: b, Sig: f.sign(spec.RoleExec, rep, spec.DomainEpochVote, &b)})
	}
	st := spec.ChangeStep(*ec)
	return &next, &st, spec.Encode(ec)
}

// switchEpoch makes the fixture sign under next from now on.
func (f *fx) switchEpoch(next *spec.Config) { f.cfg, f.cd = next, spec.ConfigDigest(next) }

// propose observes the proposal of the batch at seq (so that its commit certificate
// alone records it) and returns the batch's digest.
func (f *fx) propose(l *Ledger, seq uint64) spec.Digest {
	f.t.Helper()
	raw := f.batch(seq)
	var b spec.Batch
	if err := spec.Decode(raw, &b, spec.MaxMessageBytes); err != nil {
		f.t.Fatal(err)
	}
	d := spec.Hash(spec.DomainBatch, raw)
	p := &spec.Proposal{Header: spec.PrePrepare{Body: spec.Slot{Seq: seq, Digest: d}}, Batch: b}
	l.Observe(spec.KindProposal, spec.Encode(p), p)
	return d
}

func stateAt(seq uint64) spec.Digest { return spec.Hash("test-state", spec.U64(seq)) }

// feed drives l as a broker would for seqs from..to: every replica's COMMIT, then
// Executed; after every K-th batch every replica's CHECKPOINT.
func (f *fx) feed(l *Ledger, from, to uint64) {
	for s := from; s <= to; s++ {
		d := spec.Hash(spec.DomainBatch, f.batch(s))
		for rep := range f.cfg.N {
			raw, c := f.commit(rep, 0, s, d)
			l.Observe(spec.KindCommit, raw, c)
		}
		l.Executed(s, f.lookup)
		if s%f.cfg.CheckpointInterval == 0 {
			for rep := range f.cfg.N {
				raw, c := f.checkpoint(rep, s, stateAt(s))
				l.Observe(spec.KindCheckpoint, raw, c)
			}
		}
	}
}

// stateTransfer makes exec jump to seq by state transfer: it learned the certificate
// of checkpoint seq from a NEW-VIEW, and the broker saw none of the batches up to it.
func (f *fx) stateTransfer(l *Ledger, seq uint64) {
	cert := spec.CheckpointCert{Seq: seq, State: stateAt(seq)}
	for rep := range f.cfg.Quorum() {
		_, c := f.checkpoint(uint64(rep), seq, stateAt(seq))
		cert.Proof = append(cert.Proof, *c)
	}
	nv := &spec.NewView{Body: spec.NewViewBody{View: 1, ViewChanges: []spec.ViewChange{{Body: spec.ViewChangeBody{Stable: cert}}}}}
	l.Observe(spec.KindNewView, spec.Encode(nv), nv)
	l.Executed(seq, f.lookup)
}

// waitDurable waits, on the ledger's Wake signal, until Durable reaches want.
func (f *fx) waitDurable(l *Ledger, want uint64) {
	f.t.Helper()
	deadline := time.After(20 * time.Second) // a safety net only: Wake ends the wait
	for l.Durable() < want {
		select {
		case <-f.woken:
		case <-deadline:
			f.t.Fatalf("seed %d: durable %d, want %d (err %v)", f.seed, l.Durable(), want, l.Err())
		}
	}
}

// edit changes the closed ledger's store directly: fn gets the raw pebble DB.
func (f *fx) edit(fn func(db *pebble.DB)) {
	f.t.Helper()
	db, err := pebble.Open(f.dir, &pebble.Options{Logger: quietLogger{slog.New(slog.DiscardHandler)}})
	if err != nil {
		f.t.Fatal(err)
	}
	fn(db)
	if err := db.Close(); err != nil {
		f.t.Fatal(err)
	}
}

// get returns the stored value of k.
func get(t *testing.T, db *pebble.DB, k []byte) []byte {
	t.Helper()
	v, closer, err := db.Get(k)
	if err != nil {
		t.Fatalf("get %x: %v", k, err)
	}
	defer closer.Close()
	return append([]byte(nil), v...)
}

func set(t *testing.T, db *pebble.DB, k, v []byte) {
	t.Helper()
	if err := db.Set(k, v, pebble.Sync); err != nil {
		t.Fatal(err)
	}
}

// copyDir copies a closed ledger directory.
func copyDir(t *testing.T, from, to string) {
	t.Helper()
	if err := os.CopyFS(to, os.DirFS(from)); err != nil {
		t.Fatal(err)
	}
}
