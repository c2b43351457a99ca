package operator

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2"

	"github.com/splitbft/splitbft/broker/ledger"
	"github.com/splitbft/splitbft/spec"
)

// TestLocalChainFilesOutOfStep: a replica killed while it adopted an epoch change
// leaves its chain file and its ledger one step apart, either way (the ledger records
// the epoch asynchronously, the chain file is written on the event loop), or, killed
// while an older version rewrote its chain file in place, an empty chain file. In
// each case it still has a chain and a keyed ledger to recover the whole cluster from
// (SPEC §17.8): with the ledger ahead, or the chain file empty, it takes the ledger's
// steps (before, it found no chain and waited for peers forever: seed 1409 of
// TestCrashRecoverRounds, "chain.cbor: spec: malformed: top level is not a CBOR
// array"); with the chain file ahead it drops the step and recovers as a replica
// behind. A ledger whose epoch record is corrupt lends no step.
func TestLocalChainFilesOutOfStep(t *testing.T) {
	genesis, ec := chainFixture(t)
	var g, next spec.Config
	if err := spec.Decode(genesis, &g, spec.MaxMessageBytes); err != nil {
		t.Fatal(err)
	}
	if err := spec.Decode(ec.Config, &next, spec.MaxMessageBytes); err != nil {
		t.Fatal(err)
	}
	step := spec.ChangeStep(ec)
	for _, tc := range []struct {
		name        string
		fileSteps   int  // steps in chain.cbor (0 or 1; -1: an empty file)
		ledgerEpoch bool // the ledger recorded the epoch change
		corrupt     bool // … and its epoch record is corrupt
		wantEpoch   uint64
	}{
		{"ledger ahead of the chain file", 0, true, false, 1},
		{"chain file ahead of the ledger", 1, false, false, 0},
		{"both recorded", 1, true, false, 1},
		{"neither recorded", 0, false, false, 0},
		{"ledger ahead with a corrupt epoch record", 0, true, true, 0},
		{"empty chain file, ledger recorded the epoch", -1, true, false, 1},
		{"empty chain file, ledger did not record the epoch", -1, false, false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			rd := replicaDir(dir, 0)
			if err := os.MkdirAll(rd, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(rd, GenesisFile), genesis, 0o644); err != nil {
				t.Fatal(err)
			}
			var file []byte // torn: os.WriteFile truncated it, the kill came before the write
			if tc.fileSteps >= 0 {
				file = spec.Encode(&Chain{Genesis: genesis, Changes: []spec.Step{step}[:tc.fileSteps]})
			}
			if err := os.WriteFile(filepath.Join(rd, ChainFile), file, 0o644); err != nil {
				t.Fatal(err)
			}
			ld := LedgerDir(dir, 0, &g)
			led, err := ledger.Open(ld, &g, ledger.Options{})
			if err != nil {
				t.Fatal(err)
			}
			led.SealedKey(spec.Encode(&spec.SealedGroupKey{Format: spec.SealInsecure, Data: make([]byte, 32)}))
			if tc.ledgerEpoch {
				led.Epoch(spec.Encode(&step), &step, &next)
			}
			if err := led.Close(); err != nil {
				t.Fatal(err)
			}
			if tc.corrupt {
				corruptEpochRecord(t, ld, next.Epoch)
			}
			lc, cfg, ledCfg, err := localChain(dir, 0, genesis)
			if err != nil {
				t.Fatalf("localChain: %v; want a chain ending in epoch %d", err, tc.wantEpoch)
			}
			if cfg.Epoch != tc.wantEpoch || uint64(len(lc.Changes)) != tc.wantEpoch {
				t.Fatalf("chain of %d steps ending in epoch %d; want epoch %d", len(lc.Changes), cfg.Epoch, tc.wantEpoch)
			}
			if spec.ConfigDigest(ledCfg) != spec.ConfigDigest(&g) {
				t.Fatalf("ledger starting in epoch %d; want the genesis ledger", ledCfg.Epoch)
			}
			// The chain and ledger localChain returns open together, as run opens them.
			led, err = ledger.Open(ld, cfg, ledger.Options{})
			if err != nil {
				t.Fatalf("the ledger does not open ending in the epoch of the chain returned: %v", err)
			}
			led.Close()
		})
	}
}

// corruptEpochRecord flips a byte of the value of the epoch record of epoch e in the
// ledger in dir.
func corruptEpochRecord(t *testing.T, dir string, e uint64) {
	t.Helper()
	db, err := pebble.Open(dir, &pebble.Options{Logger: silentPebble{}})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	k := append([]byte{'e'}, spec.U64(e)...)
	v := getValue(t, db, k)
	v[len(v)-1] ^= 1
	setValue(t, db, k, v)
}

// TestLedgerSteps: ledger.Steps refuses a ledger that starts with another
// configuration than the one given.
func TestLedgerSteps(t *testing.T) {
	genesis, ec := chainFixture(t)
	var g, next spec.Config
	spec.Decode(genesis, &g, spec.MaxMessageBytes)
	spec.Decode(ec.Config, &next, spec.MaxMessageBytes)
	dir := filepath.Join(t.TempDir(), "l")
	led, err := ledger.Open(dir, &g, ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	step := spec.ChangeStep(ec)
	led.Epoch(spec.Encode(&step), &step, &next)
	led.Close()
	steps, err := ledger.Steps(dir, &g)
	if err != nil || len(steps) != 1 || string(spec.Encode(&steps[0])) != string(spec.Encode(&step)) {
		t.Fatalf("Steps: %d steps, %v; want the epoch change", len(steps), err)
	}
	if _, err := ledger.Steps(dir, &next); err == nil || !strings.Contains(err.Error(), "records configuration") {
		t.Fatalf("Steps with another first configuration: %v; want a refusal", err)
	}
}

// TestWriteChainReplacesWhole: writeChain replaces chain.cbor and config.cbor by new
// files renamed over the old ones, leaving no temporary file behind, and a later,
// shorter chain replaces a longer one exactly.
func TestWriteChainReplacesWhole(t *testing.T) {
	genesis, ec := chainFixture(t)
	var g, next spec.Config
	spec.Decode(genesis, &g, spec.MaxMessageBytes)
	spec.Decode(ec.Config, &next, spec.MaxMessageBytes)
	dir := t.TempDir()
	long := &Chain{Genesis: genesis, Changes: []spec.Step{spec.ChangeStep(ec)}}
	short := &Chain{Genesis: genesis}
	for _, w := range []struct {
		c   *Chain
		cfg *spec.Config
	}{{long, &next}, {short, &g}} {
		if err := writeChain(dir, 0, w.c, w.cfg); err != nil {
			t.Fatal(err)
		}
		raw, err := os.ReadFile(filepath.Join(replicaDir(dir, 0), ChainFile))
		if err != nil || string(raw) != string(spec.Encode(w.c)) {
			t.Fatalf("chain file %x, %v; want the chain of %d steps", raw, err, len(w.c.Changes))
		}
		raw, err = os.ReadFile(filepath.Join(replicaDir(dir, 0), ConfigFile))
		if err != nil || string(raw) != string(spec.Encode(w.cfg)) {
			t.Fatalf("config file: %v; want the configuration of epoch %d", err, w.cfg.Epoch)
		}
	}
	ents, err := os.ReadDir(replicaDir(dir, 0))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if e.Name() != ChainFile && e.Name() != ConfigFile {
			t.Fatalf("%s left in the replica's directory", e.Name())
		}
	}
}
