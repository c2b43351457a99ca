package swarm

import "fmt"

// Add accumulates another run's statistics into s (counts add up; MaxExecuted and
// MaxView become sums over runs).
func (s *Stats) Add(b Stats) {
	s.Steps += b.Steps
	s.Completed += b.Completed
	s.Transfers += b.Transfers
	s.MaxExecuted += b.MaxExecuted
	s.MaxView += b.MaxView
	s.LivenessSteps += b.LivenessSteps
	s.Restarts += b.Restarts
	s.Epochs += b.Epochs
	s.Admitted += b.Admitted
	s.Rejuvenations += b.Rejuvenations
	s.Retired += b.Retired
	s.ByzMessages += b.ByzMessages
	s.TraceSteps += b.TraceSteps
	s.HistoryOps += b.HistoryOps
	s.Splits += b.Splits
	s.InactiveConfs += b.InactiveConfs
	s.WholeRestarts += b.WholeRestarts
	s.Recoveries += b.Recoveries
}

// Summary renders accumulated statistics on one line.
func (s Stats) Summary() string {
	return fmt.Sprintf("%d compartment steps, %d requests completed (%d checked linearizable), %d batches executed, %d views, %d state transfers, %d restarts, %d epoch changes, %d enclaves re-admitted (%d rejuvenations, %d retirements checked), %d Byzantine messages, %d split-brain attacks, %d steps replayed on the other build, %d confs returned to service, %d whole-cluster restarts (%d recovered)",
		s.Steps, s.Completed, s.HistoryOps, s.MaxExecuted, s.MaxView, s.Transfers, s.Restarts, s.Epochs, s.Admitted, s.Rejuvenations, s.Retired, s.ByzMessages, s.Splits, s.TraceSteps, s.InactiveConfs, s.WholeRestarts, s.Recoveries)
}
