package operator

import (
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"

	"github.com/splitbft/splitbft/broker/ledger"
	"github.com/splitbft/splitbft/spec"
)

// LedgerDir is where replica id keeps the ledger of configuration cfg: the folder
// replica-<id>/ledger/<first 8 bytes of the config digest, hex> of the cluster
// directory, cfg being the configuration the replica starts with. The ledger goes on
// across the epochs the replica adopts; a replica that restarts rejoins with the
// configuration of the current epoch (SPEC §17.4) and so starts a new ledger beside
// the old one, which stays (unless it restarts in the epoch it started in before).
func LedgerDir(dir string, id uint64, cfg *spec.Config) string {
	d := spec.ConfigDigest(cfg)
	return filepath.Join(dir, fmt.Sprintf("replica-%d", id), "ledger", hex.EncodeToString(d[:8]))
}

// ArchiveDir is where replica id archives the segments its ledger of the
// configuration cfg prunes, under the archive root (--ledger-archive):
// root/replica-<id>/<digest>, so that replicas sharing a root never mix segments.
func ArchiveDir(root string, id uint64, cfg *spec.Config) string {
	d := spec.ConfigDigest(cfg)
	return filepath.Join(root, fmt.Sprintf("replica-%d", id), hex.EncodeToString(d[:8]))
}

// LedgerStarts maps the ledger directories replica id may have in dir to the
// configuration each starts with (the one to pass to ledger.Verify): its genesis
// configuration (GenesisFile) and the configuration of every epoch change of its chain
// (ChainFile), verified from genesis. A ledger goes on across the epochs its broker
// adopts (SPEC §13.5), so it starts with the configuration its replica started with.
func LedgerStarts(dir string, id uint64) (map[string]*spec.Config, error) {
	genesis, err := loadGenesis(dir, id)
	if err != nil || genesis == nil {
		return nil, fmt.Errorf("operator: replica %d has no %s in %s (%v)", id, GenesisFile, dir, err)
	}
	var c Chain
	if raw, err := os.ReadFile(filepath.Join(replicaDir(dir, id), ChainFile)); err == nil {
		if err := spec.Decode(raw, &c, maxChainBody); err != nil {
			return nil, fmt.Errorf("operator: %s of replica %d: %w", ChainFile, id, err)
		}
	} else {
		c.Genesis = genesis
	}
	if _, err := VerifyChain(genesis, &c); err != nil {
		return nil, err
	}
	return ledgerStartsOf(dir, id, &c), nil
}

// ledgerStartsOf is LedgerStarts for the chain c, which verifies from its genesis.
func ledgerStartsOf(dir string, id uint64, c *Chain) map[string]*spec.Config {
	var g spec.Config
	spec.Decode(c.Genesis, &g, spec.MaxMessageBytes) // the caller verified c
	out := map[string]*spec.Config{LedgerDir(dir, id, &g): &g}
	for i := range c.Changes {
		var cfg spec.Config
		spec.Decode(c.Changes[i].ConfigBytes(), &cfg, spec.MaxMessageBytes) // the caller verified c
		out[LedgerDir(dir, id, &cfg)] = &cfg
	}
	return out
}

// openLedger opens the replica's ledger of the configuration it started with
// (dirCfg, which names its directory) for configuration cfg, in force at its end,
// logging a repair Open made.
func (rp *replica) openLedger(dirCfg, cfg *spec.Config) (*ledger.Ledger, error) {
	dir := LedgerDir(rp.opt.Dir, rp.opt.ID, dirCfg)
	lopt := ledger.Options{Wake: rp.host.Wake, Log: rp.log, Retain: rp.opt.LedgerRetain, MinSnapshotLog: rp.opt.LedgerSnapshotLog}
	if rp.opt.LedgerArchive != "" {
		lopt.ArchiveDir = ArchiveDir(rp.opt.LedgerArchive, rp.opt.ID, dirCfg)
	}
	led, err := ledger.Open(dir, cfg, lopt)
	if err != nil {
		return nil, fmt.Errorf("operator: %w", err)
	}
	if led.Repaired != nil {
		rp.log.Error("ledger: truncated at a corrupt record; peers supply what was lost", "dir", dir, "fault", led.Repaired.Error())
	}
	rp.log.Info("ledger open: replies wait until their batch is on disk", "dir", dir, "durable", led.Durable())
	switch {
	case lopt.Retain > 0 && lopt.ArchiveDir != "":
		rp.log.Info("ledger retention: records below each snapshot are archived, then pruned", "keep", lopt.Retain, "archive", lopt.ArchiveDir)
	case lopt.Retain > 0:
		rp.log.Warn("ledger retention without an archive: records below each snapshot are DELETED (no audit trail of them remains here)", "keep", lopt.Retain)
	}
	rel := LedgerDir("", rp.opt.ID, dirCfg) // the ledger keeps this directory across epoch changes
	rp.n.set(func(n *node) { n.ledger, n.ledgerDir = led, rel })
	return led, nil
}

// LedgerStatus is the durable ledger's part of /status.
type LedgerStatus struct {
	Dir     string  `json:"dir"`
	Durable uint64  `json:"durable"` // highest sequence number on disk
	Syncs   uint64  `json:"syncs"`   // fsyncs since start
	SyncMs  float64 `json:"sync_ms"` // time spent in them
	Batches uint64  `json:"batches"` // batch records written since start
	// PrunedTo is the highest sequence number retention pruned (0: none); Segments
	// the archive segments written since start.
	PrunedTo uint64 `json:"pruned_to,omitempty"`
	Segments uint64 `json:"segments,omitempty"`
	// DiskFree and DiskSize are the bytes free and in all on the ledger's volume: a
	// full disk stops the ledger, and the replica then holds every reply.
	DiskFree uint64 `json:"disk_free_bytes,omitempty"`
	DiskSize uint64 `json:"disk_size_bytes,omitempty"`
	Error    string `json:"error,omitempty"`
}

// lowDisk is the free space under which status warns about a ledger's volume: the
// ledger's write queue alone may hold 256 MiB.
const lowDisk = 1 << 30

// DiskWarning says when the ledger's volume is nearly full ("" otherwise).
func (l *LedgerStatus) DiskWarning() string {
	if l == nil || l.DiskSize == 0 || l.DiskFree >= lowDisk {
		return ""
	}
	return fmt.Sprintf("ledger disk nearly full: %d MiB free of %d MiB (a full disk stops the ledger and holds every reply; see --ledger-retain)", l.DiskFree>>20, l.DiskSize>>20)
}

// ledgerStatus returns the ledger's status, or nil when it is off or not open yet.
func ledgerStatus(led *ledger.Ledger, dir string) *LedgerStatus {
	if led == nil {
		return nil
	}
	st := led.Stats()
	ls := &LedgerStatus{Dir: dir, Durable: st.Durable, Syncs: st.Syncs, SyncMs: float64(st.SyncNs) / 1e6, Batches: st.Batches,
		PrunedTo: st.PrunedTo, Segments: st.Segments}
	if err := led.Err(); err != nil {
		ls.Error = err.Error()
	}
	ls.DiskFree, ls.DiskSize, _ = led.DiskSpace()
	return ls
}

// collectLedger emits the durable ledger's metrics, when it is on.
func collectLedger(e emitter, l *LedgerStatus) {
	if l == nil {
		return
	}
	e.gauge("splitbft_ledger_durable_seq", "highest sequence number whose batch is on disk in the ledger (SPEC §13.5)", float64(l.Durable))
	e.counter("splitbft_ledger_fsyncs_total", "fsyncs by the ledger's writer (each covers every batch queued meanwhile)", float64(l.Syncs))
	e.counter("splitbft_ledger_fsync_seconds_total", "time spent in the ledger's fsyncs", l.SyncMs/1000)
	e.counter("splitbft_ledger_batches_total", "batch records the ledger wrote", float64(l.Batches))
	e.gauge("splitbft_ledger_failed", "1 if the ledger stopped on a write error (replies are held)", b2f(l.Error != ""))
	e.gauge("splitbft_ledger_pruned_to_seq", "highest sequence number whose batch record retention pruned (0: none; SPEC §13.5 Retention)", float64(l.PrunedTo))
	e.counter("splitbft_ledger_archive_segments_total", "archive segments retention wrote", float64(l.Segments))
	if l.DiskSize > 0 {
		e.gauge("splitbft_ledger_disk_free_bytes", "bytes free on the ledger's volume (a full disk stops the ledger, and the replica holds every reply)", float64(l.DiskFree))
	}
}
