package ledger

import (
	"errors"
	"fmt"
	"strings"

	"github.com/cockroachdb/pebble/v2"

	"github.com/splitbft/splitbft/spec"
)

// Kinds of record a Fault names.
const (
	KindConfig     = "configuration"
	KindCheckpoint = "checkpoint"
	KindBatch      = "batch"
	KindEpoch      = "epoch"
	KindPrune      = "prune"
)

// Fault is the first bad record of a ledger: its kind, its sequence number and what is
// wrong with it.
type Fault struct {
	Kind string // KindConfig, KindEpoch, KindCheckpoint or KindBatch
	Seq  uint64 // the record's sequence number (its key; an epoch record: its epoch)
	Msg  string
	key  []byte // the stored key
	cut  uint64 // an epoch fault: repair drops batch and checkpoint records above it
}

// Error names the record and the fault, e.g. "seq 17: commit certificate: signature
// of replica 2 invalid".
func (f *Fault) Error() string {
	switch f.Kind {
	case KindCheckpoint:
		return fmt.Sprintf("checkpoint certificate at seq %d: %s", f.Seq, f.Msg)
	case KindConfig:
		return "configuration record: " + f.Msg
	case KindEpoch:
		return fmt.Sprintf("epoch record of epoch %d: %s", f.Seq, f.Msg)
	case KindPrune:
		return "prune record: " + f.Msg
	}
	return fmt.Sprintf("seq %d: %s", f.Seq, f.Msg)
}

// scanState is what a scan learned: the chain's end and the certified checkpoints.
type scanState struct {
	lastSeq     uint64                 // highest batch record (0: none)
	lastLink    spec.Digest            // its link
	states      map[uint64]spec.Digest // checkpoint record seq → certified state
	batches     int                    // batch records
	requests    int                    // requests in them
	firstSeq    uint64                 // lowest batch record
	checkpoints int                    // checkpoint records
	anchors     int                    // times the chain continued from a checkpoint after a gap
	eps         []*spec.Config         // configurations in force: the first, then one per epoch record
	vs          []*verifier            // their verifiers (nil: signatures not checked)
	changes     []spec.Step            // the chain steps of the epoch records, in order
	pruned      PruneRecord            // the prune record (zero: none)
}

// scan checks the epoch records from the first configuration on (each a valid epoch
// change after the one before, EC1–EC4), then every checkpoint record, then every
// batch record in sequence order: checksums, decoding, keys, links and gaps, and with
// verify the certificates too, each under the configuration of its epoch. It returns
// at the first fault.
func scan(db *pebble.DB, first *spec.Config, verify bool) (scanState, *Fault) {
	st := scanState{states: map[uint64]spec.Digest{}, eps: []*spec.Config{first}}
	if verify {
		st.vs = []*verifier{newVerifier(first)}
	}
	if f := each(db, prefixEpoch, st.epoch); f != nil {
		return st, f
	}
	if f := each(db, prefixPrune, st.prune); f != nil {
		return st, f
	}
	if f := each(db, prefixCheckpoint, st.checkpoint); f != nil {
		return st, f
	}
	f := each(db, prefixBatch, st.batch)
	return st, f
}

// prune reads the prune record (retain.go).
// The prune record is kept twice, at n = 0 and n = 1, written together: a copy that
// does not open, or two that differ, are a fault Open repairs (repairPrune).
func (st *scanState) prune(k []byte, n uint64, val []byte) *Fault {
	var rec PruneRecord
	switch err := openValue(k, val, &rec); {
	case err != nil || n > 1:
		return &Fault{Kind: KindPrune, Seq: n, Msg: fmt.Sprintf("copy %d malformed (%v)", n, err)}
	case n == 1 && rec != st.pruned:
		return &Fault{Kind: KindPrune, Seq: n, Msg: "the two copies differ"}
	case n == 0 && rec.Link == (spec.Digest{}):
		return &Fault{Kind: KindPrune, Seq: n, Msg: "no link"}
	}
	st.pruned = rec
	return nil
}

// epochOf returns the index in eps of the configuration in force at seq (the last
// whose StartSeq is below seq), or -1 for a seq at or below the first one's StartSeq.
func (st *scanState) epochOf(seq uint64) int {
	i := -1
	for j, c := range st.eps {
		if c.StartSeq < seq {
			i = j
		}
	}
	return i
}

// verifierAt returns the verifier of the epoch of seq (nil when not verifying), or an
// error for a seq before the ledger's first configuration.
func (st *scanState) verifierAt(seq uint64) (*verifier, error) {
	i := st.epochOf(seq)
	switch {
	case i < 0:
		return nil, fmt.Errorf("seq %d is not above the first configuration's start (seq %d)", seq, st.eps[0].StartSeq)
	case st.vs == nil:
		return nil, nil
	}
	return st.vs[i], nil
}

// each calls fn on every record of one kind, in key order, until a fault.
func each(db pebble.Reader, prefix byte, fn func(k []byte, n uint64, val []byte) *Fault) *Fault {
	kind := map[byte]string{prefixBatch: KindBatch, prefixCheckpoint: KindCheckpoint, prefixConfig: KindConfig, prefixPrune: KindPrune}[prefix]
	it, err := db.NewIter(&pebble.IterOptions{LowerBound: []byte{prefix}, UpperBound: []byte{prefix + 1}})
	if err != nil {
		return &Fault{Kind: kind, Msg: err.Error()}
	}
	defer it.Close()
	for it.First(); it.Valid(); it.Next() {
		k := append([]byte(nil), it.Key()...)
		_, n, ok := parseKey(k)
		if !ok {
			return &Fault{Kind: kind, Msg: fmt.Sprintf("malformed key %x", k), key: k}
		}
		val, err := it.ValueAndErr()
		if err != nil {
			return &Fault{Kind: kind, Seq: n, Msg: err.Error(), key: k}
		}
		if f := fn(k, n, val); f != nil {
			f.key = k
			return f
		}
	}
	if err := it.Error(); err != nil {
		return &Fault{Kind: kind, Msg: err.Error()}
	}
	return nil
}

// checkpoint checks one checkpoint record.
func (st *scanState) checkpoint(k []byte, n uint64, val []byte) *Fault {
	bad := func(format string, a ...any) *Fault {
		return &Fault{Kind: KindCheckpoint, Seq: n, Msg: strings.TrimPrefix(fmt.Sprintf(format, a...), "ledger: ")}
	}
	var rec CheckpointRecord
	if err := openValue(k, val, &rec); err != nil {
		return bad("%v", err)
	}
	if rec.Seq != n {
		return bad("the record of seq %d is stored at seq %d", rec.Seq, n)
	}
	var cert spec.CheckpointCert
	if err := spec.Decode(rec.Cert, &cert, spec.MaxMessageBytes); err != nil {
		return bad("certificate malformed: %v", err)
	}
	if cert.Seq != n || n == 0 {
		return bad("certificate for seq %d", cert.Seq)
	}
	v, err := st.verifierAt(n)
	if err != nil {
		return bad("%v", err)
	}
	if v != nil {
		if err := v.checkpointCert(&cert); err != nil {
			return bad("%v", err)
		}
	}
	st.states[n] = cert.State
	st.checkpoints++
	return nil
}

// batch checks one batch record and its link to the chain so far.
func (st *scanState) batch(k []byte, n uint64, val []byte) *Fault {
	bad := func(format string, a ...any) *Fault {
		return &Fault{Kind: KindBatch, Seq: n, Msg: strings.TrimPrefix(fmt.Sprintf(format, a...), "ledger: ")}
	}
	var rec BatchRecord
	if err := openValue(k, val, &rec); err != nil {
		return bad("%v", err)
	}
	if rec.Seq != n || n == 0 {
		return bad("the record of seq %d is stored at seq %d", rec.Seq, n)
	}
	v, err := st.verifierAt(n)
	if err != nil {
		return bad("%v", err)
	}
	prev, err := st.prevLink(n)
	if err != nil {
		return bad("%v", err)
	}
	var b spec.Batch
	if err := spec.Decode(rec.Batch, &b, spec.MaxBodyBytes(spec.KindBatch)); err != nil {
		return bad("batch malformed: %v", err)
	}
	d := spec.Hash(spec.DomainBatch, rec.Batch)
	if rec.Link != Link(prev, n, d) {
		return bad("chain link does not follow from the previous record")
	}
	if v != nil {
		if err := v.commitCert(n, d, rec.Cert); err != nil {
			return bad("commit certificate: %v", err)
		}
	}
	if st.batches == 0 {
		st.firstSeq = n
	}
	st.lastSeq, st.lastLink = n, rec.Link
	st.batches++
	st.requests += len(b.Requests)
	return nil
}

// errGap is the fault of a batch record that follows neither the previous batch
// record nor a checkpoint record.
var errGap = errors.New("gap")

// prevLink returns the link the batch record at n continues: the start of its epoch
// for the first sequence number of an epoch (genesis for n = 1), else that of the
// record at n−1, else (the first batch record of a pruned ledger) the link of the
// prune record at n−1, else the anchor of a checkpoint record at n−1. n is above the
// first configuration's StartSeq.
func (st *scanState) prevLink(n uint64) (spec.Digest, error) {
	if c := st.eps[st.epochOf(n)]; n == c.StartSeq+1 {
		return StartLink(c), nil
	}
	if st.batches > 0 && n == st.lastSeq+1 {
		return st.lastLink, nil
	}
	if st.batches == 0 && n == st.pruned.Seq+1 && st.pruned.Link != (spec.Digest{}) {
		return st.pruned.Link, nil
	}
	if state, ok := st.states[n-1]; ok {
		st.anchors++
		return AnchorLink(n-1, state), nil
	}
	if st.batches == 0 {
		return spec.Digest{}, fmt.Errorf("%w: the first record follows no checkpoint certificate (none at seq %d)", errGap, n-1)
	}
	return spec.Digest{}, fmt.Errorf("%w: no record of seq %d and no checkpoint certificate at seq %d", errGap, st.lastSeq+1, n-1)
}

// lastConfig returns the payload of the last configuration record (nil: none).
func lastConfig(db pebble.Reader) ([]byte, error) {
	var raw []byte
	f := each(db, prefixConfig, func(k []byte, n uint64, val []byte) *Fault {
		var rec ConfigRecord
		if err := openValue(k, val, &rec); err != nil {
			return &Fault{Kind: KindConfig, Seq: n, Msg: err.Error()}
		}
		raw = rec.Config
		return nil
	})
	if f != nil {
		return nil, f
	}
	return raw, nil
}
