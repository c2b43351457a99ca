package ledger

import (
	"fmt"
	"log/slog"

	"github.com/cockroachdb/pebble/v2"

	"github.com/splitbft/splitbft/spec"
)

// Summary describes a ledger that Verify found sound.
type Summary struct {
	ConfigDigest spec.Digest
	FromLedger   bool   // the configuration checked against is the ledger's own record
	Batches      int    // batch records
	Requests     int    // client requests in them
	First, Last  uint64 // lowest and highest batch record (0, 0: none)
	Checkpoints  int    // checkpoint certificate records
	Anchors      int    // gaps the chain crosses at a certified checkpoint (state transfers)
	Epochs       int    // epoch records, each a valid epoch change after the one before
	LastEpoch    uint64 // the epoch in force at the ledger's end
	LastDigest   spec.Digest
	LastLink     spec.Digest // the link of the batch record Last
	// PrunedTo is the Seq of the prune record (0: none): retention deleted the batch
	// records at or below it; PrunedLink is its Link (SPEC.md §13.5, "Retention").
	PrunedTo   uint64
	PrunedLink spec.Digest
}

// openReadOnly opens an existing ledger without changing it.
func openReadOnly(dir string) (*pebble.DB, error) {
	db, err := pebble.Open(dir, &pebble.Options{ReadOnly: true, ErrorIfNotExists: true,
		Logger: quietLogger{slog.New(slog.DiscardHandler)}})
	if err != nil {
		return nil, fmt.Errorf("ledger: open %s: %w", dir, err)
	}
	return db, nil
}

// Verify checks the ledger in dir offline (SPEC.md §13.5): the configuration record,
// then every epoch record (a valid epoch change after the configuration in force,
// §17.1 EC1–EC4), every checkpoint certificate (§5.1 K1–K5) and every batch record in
// sequence order (checksum, decoding, key, chain link, no gap except at a certified
// checkpoint or an epoch's start, commit certificate), each under the configuration of
// its epoch. cfg is the configuration the ledger starts with, which the caller
// trusts; nil means the one the ledger records (which only shows the ledger consistent
// with itself). The first fault is returned as a *Fault.
func Verify(dir string, cfg *spec.Config) (Summary, error) {
	db, err := openReadOnly(dir)
	if err != nil {
		return Summary{}, err
	}
	defer db.Close()
	cfg, fromLedger, err := checkedConfig(db, cfg)
	if err != nil {
		return Summary{}, err
	}
	st, fault := scan(db, cfg, true)
	if fault != nil {
		return Summary{}, fault
	}
	last := st.eps[len(st.eps)-1]
	s := Summary{ConfigDigest: spec.ConfigDigest(cfg), FromLedger: fromLedger, Batches: st.batches, Requests: st.requests,
		Checkpoints: st.checkpoints, Anchors: st.anchors, Epochs: len(st.eps) - 1, LastEpoch: last.Epoch, LastDigest: spec.ConfigDigest(last),
		PrunedTo: st.pruned.Seq, PrunedLink: st.pruned.Link}
	if st.batches > 0 {
		s.First, s.Last, s.LastLink = st.firstSeq, st.lastSeq, st.lastLink
	}
	return s, nil
}

// checkedConfig returns the configuration to verify against: cfg, which must be the
// one the ledger records, or (cfg nil) the recorded one. Either must be valid.
func checkedConfig(db *pebble.DB, cfg *spec.Config) (*spec.Config, bool, error) {
	raw, err := lastConfig(db)
	switch {
	case err != nil:
		return nil, false, err
	case raw == nil:
		return nil, false, &Fault{Kind: KindConfig, Msg: "missing"}
	}
	fromLedger := cfg == nil
	if fromLedger {
		cfg = new(spec.Config)
		if err := spec.Decode(raw, cfg, spec.MaxMessageBytes); err != nil {
			return nil, false, &Fault{Kind: KindConfig, Msg: err.Error()}
		}
	} else if got, want := spec.Hash(spec.DomainConfig, raw), spec.ConfigDigest(cfg); got != want {
		return nil, false, fmt.Errorf("ledger: the ledger records configuration %x, not the given %x", got[:8], want[:8])
	}
	if err := cfg.Validate(nil); err != nil {
		return nil, false, fmt.Errorf("ledger: configuration invalid: %w", err)
	}
	return cfg, fromLedger, nil
}

// Steps returns, offline, the chain steps of the epoch records of the ledger in dir,
// oldest first: each a valid step (EC1–EC4 or RC1–RC5, signatures checked) after the
// configuration in force before it, from first, the configuration the ledger starts
// with (it must be the one the ledger records). It stops at the first bad epoch
// record, which Open would cut off. A replica killed after its ledger recorded an
// epoch and before it wrote its chain file learns the step it lacks from these
// (SPEC.md §17.8).
func Steps(dir string, first *spec.Config) ([]spec.Step, error) {
	db, err := openReadOnly(dir)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	if _, _, err := checkedConfig(db, first); err != nil {
		return nil, err
	}
	st := scanState{eps: []*spec.Config{first}}
	each(db, prefixEpoch, st.epoch) // a fault ends the steps Open would keep
	return st.changes, nil
}
