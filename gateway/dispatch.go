package gateway

import (
	"context"

	"github.com/splitbft/splitbft/spec"
)

// job is the operations of one connection's pipeline, waiting for a Doer.
type job struct {
	ops  [][]byte
	read bool           // read-only: try the fast read path first (never joined)
	done chan jobResult // buffered, capacity 1
}

// jobResult is a job's outcome: one result per operation, or an error.
type jobResult struct {
	res []spec.Result
	err error
}

// run submits ops (at most MaxOps) and waits for their results. It returns an error
// when the gateway is closing or the cluster did not answer in time.
func (g *Gateway) run(ops [][]byte, read bool) ([]spec.Result, error) {
	j := &job{ops: ops, read: read, done: make(chan jobResult, 1)}
	select {
	case g.jobs <- j:
	case <-g.stop:
		return nil, ErrClosed
	}
	select {
	case r := <-j.done:
		return r.res, r.err
	case <-g.stop:
		return nil, ErrClosed
	}
}

// worker serves jobs with one Doer. It joins the jobs already waiting into one request
// of at most MaxOps operations (pipelines of several connections may share a request,
// SPEC.md §16.5); a job is never split.
func (g *Gateway) worker(d Doer) {
	defer g.wg.Done()
	var carry *job
	for {
		first := carry
		carry = nil
		if first == nil {
			select {
			case first = <-g.jobs:
			case <-g.stop:
				return
			}
		}
		if first.read && g.fastRead(d, first) {
			continue
		}
		batch := []*job{first}
		n := len(first.ops)
	fill:
		for n < g.opt.MaxOps {
			select {
			case j := <-g.jobs:
				if j.read || n+len(j.ops) > g.opt.MaxOps {
					carry = j
					break fill
				}
				batch, n = append(batch, j), n+len(j.ops)
			default:
				break fill
			}
		}
		g.do(d, batch, n)
	}
}

// do runs the jobs of batch (n operations in all) as one request and hands each job
// its results.
func (g *Gateway) do(d Doer, batch []*job, n int) {
	ops := make([][]byte, 0, n)
	for _, j := range batch {
		ops = append(ops, j.ops...)
	}
	g.stats.requests.Add(1)
	ctx, cancel := context.WithTimeout(context.Background(), g.opt.Timeout)
	res, err := d.Do(ctx, ops)
	cancel()
	if err == nil && len(res) != len(ops) {
		err = errResultCount
	}
	if err != nil {
		g.stats.failed.Add(1)
	}
	off := 0
	for _, j := range batch {
		r := jobResult{err: err}
		if err == nil {
			r.res = res[off : off+len(j.ops)]
		}
		off += len(j.ops)
		j.done <- r
	}
}

// fastRead tries job j on the fast read path (SPEC.md §16.6) and reports whether it
// answered it; false means the job must be ordered (a fallback, or a Doer that cannot
// read fast).
func (g *Gateway) fastRead(d Doer, j *job) bool {
	fr, ok := d.(FastReader)
	if !ok {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), g.opt.Timeout)
	res, hit, err := fr.FastRead(ctx, j.ops, g.opt.FastReadWait)
	cancel()
	if err != nil || !hit || len(res) != len(j.ops) {
		g.stats.fallbacks.Add(1)
		g.stats.ordered.Add(uint64(len(j.ops)))
		return false
	}
	g.stats.fastHits.Add(1)
	j.done <- jobResult{res: res}
	return true
}
