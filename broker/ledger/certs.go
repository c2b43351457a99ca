package ledger

import (
	"errors"
	"fmt"

	"github.com/splitbft/splitbft/spec"
)

// verifier checks certificates under one configuration.
type verifier struct {
	cfg *spec.Config
	cd  spec.Digest
}

func newVerifier(cfg *spec.Config) *verifier {
	return &verifier{cfg: cfg, cd: spec.ConfigDigest(cfg)}
}

// commitCert checks a batch record's commit certificate (SPEC.md §13.5): q COMMITs
// from distinct confs, replica ids strictly increasing, all for (view, seq, d) with
// one view, each validly signed by its replica's conf under the configuration.
func (v *verifier) commitCert(seq uint64, d spec.Digest, cert [][]byte) error {
	if q := v.cfg.Quorum(); len(cert) != q {
		return fmt.Errorf("%d commits, want q = %d", len(cert), q)
	}
	var first spec.Slot
	for i, raw := range cert {
		var c spec.Commit
		if err := spec.Decode(raw, &c, spec.MaxBodyBytes(spec.KindCommit)); err != nil {
			return fmt.Errorf("commit %d malformed", i)
		}
		b := &c.Body
		switch {
		case b.Replica >= v.cfg.N:
			return fmt.Errorf("commit %d: replica %d is not in the configuration", i, b.Replica)
		case i > 0 && b.Replica <= first.Replica:
			return fmt.Errorf("commit %d: replica %d after replica %d (not strictly increasing)", i, b.Replica, first.Replica)
		case b.Seq != seq:
			return fmt.Errorf("commit of replica %d is for seq %d", b.Replica, b.Seq)
		case i > 0 && b.View != first.View:
			return fmt.Errorf("commit of replica %d is for view %d, not %d", b.Replica, b.View, first.View)
		case b.Digest != d:
			return fmt.Errorf("commit of replica %d names another digest than the batch's", b.Replica)
		case !verifySig(v.cfg.Replicas[b.Replica].Conf.Body.SignKey, spec.DomainCommit, v.cd, spec.Encode(b), &c.Sig):
			return fmt.Errorf("signature of replica %d invalid", b.Replica)
		}
		first.Replica, first.View = b.Replica, b.View
	}
	return nil
}

// errCheckpoint wraps checkpoint certificate faults.
var errCheckpoint = errors.New("checkpoint certificate")

// checkpointCert checks rules K1–K5 of SPEC.md §5.1 (spec.VerifyCheckpointCert, the
// check every tool shares; K1 is the epoch's genesis certificate at its StartSeq).
func (v *verifier) checkpointCert(c *spec.CheckpointCert) error {
	if err := spec.VerifyCheckpointCert(v.cfg, v.cd, c, verifyEd); err != nil {
		return fmt.Errorf("%w: %v", errCheckpoint, err)
	}
	return nil
}
