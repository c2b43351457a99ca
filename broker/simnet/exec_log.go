package simnet

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/splitbft/splitbft/spec"
)

// Executed is one sequence number an exec executed itself.
type Executed struct {
	View   uint64      // the view of the q COMMITs that certified it
	Digest spec.Digest // the batch digest executed
	At     uint64      // virtual time of the Step that executed it
}

// ExecLog is what one exec enclave did, as the simulator observed it (Options.TrackExec).
type ExecLog struct {
	Executed    map[uint64]Executed // by sequence number: the batches it executed itself
	Transferred []uint64            // the sequence numbers it installed by state transfer, in order
	Errors      []string            // steps the observer could not explain (an exec or observer bug)
}

// execLog reconstructs one exec's execution from the outside, without trusting its
// status beyond Last: it replays the COMMITs the exec accepted (every commit input
// that got no Rejection) by the rules of SPEC.md §11.4 — per sender the highest-view
// commit, and committed[s] set once, when q stored commits share one (View, Digest) —
// and when Status.Last advances, attributes each newly executed s either to a state
// transfer (an accepted state-chunk for a Seq ≥ s completed in that Step; §11.7) or to
// committed[s] (§11.5). An exec that executes a sequence number the accepted COMMITs
// do not certify is reported in Errors.
type execLog struct {
	commits   map[uint64]map[uint64]spec.Slot // seq → sender → highest-view accepted commit
	committed map[uint64]spec.Slot            // seq → the first (View, Digest) with q commits
	last      uint64                          // exec's Status.Last after the previous Step
	log       ExecLog
}

func newExecLog() *execLog {
	return &execLog{commits: map[uint64]map[uint64]spec.Slot{}, committed: map[uint64]spec.Slot{},
		log: ExecLog{Executed: map[uint64]Executed{}}}
}

// step observes one Step of the exec: the StepInput it received and its StepOutput.
func (l *execLog) step(s *Sim, in, out []byte) {
	var si spec.StepInput
	var so spec.StepOutput
	if s.cfg == nil {
		return // bootstrap: configure only
	}
	if spec.Decode(in, &si, spec.MaxMessageBytes) != nil || spec.Decode(out, &so, spec.MaxMessageBytes) != nil {
		return // exec rejects an undecodable StepInput whole
	}
	rejected := map[uint64]bool{}
	var st spec.Status
	for _, o := range so.Outputs {
		switch o.Kind {
		case spec.KindReject:
			var rj spec.Rejection
			if spec.Decode(o.Body, &rj, spec.MaxBodyBytes(spec.KindReject)) == nil {
				rejected[rj.Index] = true
			}
		case spec.KindStatus:
			spec.Decode(o.Body, &st, spec.MaxBodyBytes(spec.KindStatus))
		}
	}
	var transferTo []uint64 // Seqs of accepted state chunks
	for i, x := range si.Inputs {
		if rejected[uint64(i)] {
			continue
		}
		switch x.Kind {
		case spec.KindCommit:
			var c spec.Commit
			if spec.Decode(x.Body, &c, spec.MaxBodyBytes(x.Kind)) == nil {
				l.commit(s.cfg.Quorum(), &c.Body)
			}
		case spec.KindStateChunk:
			var c spec.StateChunk
			if spec.Decode(x.Body, &c, spec.MaxBodyBytes(x.Kind)) == nil {
				transferTo = append(transferTo, c.Seq)
			}
		}
	}
	l.advance(s.now, st.Last, transferTo)
}

// commit stores an accepted commit and certifies its seq once q agree.
func (l *execLog) commit(q int, c *spec.Slot) {
	if l.commits[c.Seq] == nil {
		l.commits[c.Seq] = map[uint64]spec.Slot{}
	}
	l.commits[c.Seq][c.Replica] = *c
	if _, done := l.committed[c.Seq]; done {
		return
	}
	n := 0
	for _, o := range l.commits[c.Seq] {
		if o.View == c.View && o.Digest == c.Digest {
			n++
		}
	}
	if n >= q {
		l.committed[c.Seq] = *c
	}
}

// advance attributes the sequence numbers (l.last, last] executed in this Step.
func (l *execLog) advance(now, last uint64, transferTo []uint64) {
	if last < l.last {
		l.log.Errors = append(l.log.Errors, fmt.Sprintf("t=%d: Last went back from %d to %d", now, l.last, last))
		return
	}
	installed := uint64(0) // the state transfer completed in this Step, if any
	for _, t := range transferTo {
		if t > l.last && t <= last {
			installed = max(installed, t)
		}
	}
	if installed > 0 {
		l.log.Transferred = append(l.log.Transferred, installed)
	}
	for s := max(l.last, installed) + 1; s <= last; s++ {
		c, ok := l.committed[s]
		if !ok {
			l.log.Errors = append(l.log.Errors, fmt.Sprintf("t=%d: executed seq %d without q matching accepted COMMITs", now, s))
			continue
		}
		l.log.Executed[s] = Executed{View: c.View, Digest: c.Digest, At: now}
	}
	l.last = last
	pruneUpTo(l.commits, last)
	pruneUpTo(l.committed, last)
}

// pruneUpTo deletes the entries of m with key ≤ s.
func pruneUpTo[V any](m map[uint64]V, s uint64) {
	for k := range m {
		if k <= s {
			delete(m, k)
		}
	}
}

// ExecLog returns what exec replica r executed so far (Options.TrackExec must be set).
func (s *Sim) ExecLog(r uint64) ExecLog {
	l := s.execLogs[r].log
	l.Executed = maps.Clone(l.Executed)
	l.Transferred = slices.Clone(l.Transferred)
	l.Errors = slices.Clone(l.Errors)
	return l
}

// CheckExecAgreement is the agreement oracle (Options.TrackExec must be set): no two
// execs of replicas not in exclude executed different batch digests at one sequence
// number, and the observer could explain every execution. It returns an error naming
// the seed.
func (s *Sim) CheckExecAgreement(exclude ...uint64) error {
	var bad []string
	first := map[uint64]uint64{} // seq → the replica whose digest is compared against
	for r := range s.cfg.N {
		if slices.Contains(exclude, r) {
			continue
		}
		l := &s.execLogs[r].log
		for _, e := range l.Errors {
			bad = append(bad, fmt.Sprintf("exec %d: %s", r, e))
		}
		for _, q := range sortedSeqs(l.Executed) {
			f, seen := first[q]
			if !seen {
				first[q] = r
				continue
			}
			if a, b := s.execLogs[f].log.Executed[q], l.Executed[q]; a.Digest != b.Digest {
				bad = append(bad, fmt.Sprintf("seq %d: exec %d executed %x (view %d), exec %d executed %x (view %d)",
					q, f, a.Digest[:4], a.View, r, b.Digest[:4], b.View))
			}
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("simnet seed=%d: exec disagreement: %s", s.opt.Seed, strings.Join(bad, "; "))
	}
	return nil
}

// sortedSeqs returns the keys of m in increasing order.
func sortedSeqs(m map[uint64]Executed) []uint64 {
	out := make([]uint64, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
