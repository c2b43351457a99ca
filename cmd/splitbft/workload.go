package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/splitbft/splitbft/broker/localnet"
	"github.com/splitbft/splitbft/client"
	"github.com/splitbft/splitbft/spec"
)

// workloadResult aggregates what the clients saw.
type workloadResult struct {
	elapsed   time.Duration
	ops       int64 // operations completed with the expected result
	requests  int64 // signed requests completed
	failed    int64 // requests that returned an error
	wrong     int64 // results that differ from the sequential model
	latencies []time.Duration
}

func (r *workloadResult) pct(p int) time.Duration {
	if len(r.latencies) == 0 {
		return 0
	}
	i := min(len(r.latencies)-1, len(r.latencies)*p/100)
	return r.latencies[i].Round(10 * time.Microsecond)
}

// runWorkload runs every client until ctx ends (and kills the primary after -kill-primary).
// Each client owns its keys, so the result of every operation is known from a
// sequential model of that client's keys.
func runWorkload(ctx context.Context, cl *localnet.Cluster, fl *demoFlags, progress io.Writer, vw *viewWatch) *workloadResult {
	res := &workloadResult{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	var done atomic.Int64
	start := time.Now()
	for i := range cl.Clients() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := newClientWork(i, cl.Client(i), fl)
			w.run(ctx, &done)
			mu.Lock()
			defer mu.Unlock()
			res.add(w)
		}()
	}
	stop := make(chan struct{})
	go showProgress(cl, vw, &done, start, fl.duration, progress, stop)
	if fl.kill > 0 {
		go vw.killPrimaryAfter(cl, fl.kill, start, stop, progress)
	}
	wg.Wait()
	close(stop)
	res.elapsed = time.Since(start)
	slices.Sort(res.latencies)
	return res
}

func (r *workloadResult) add(w *clientWork) {
	r.ops += w.ops
	r.requests += w.requests
	r.failed += w.failed
	r.wrong += w.wrong
	r.latencies = append(r.latencies, w.latencies...)
}

func showProgress(cl *localnet.Cluster, vw *viewWatch, done *atomic.Int64, start time.Time, total time.Duration, w io.Writer, stop chan struct{}) {
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			el := time.Since(start)
			st := vw.observe(cl)
			_, changes, _, _, _ := vw.snapshot()
			fmt.Fprintf(w, "\r[%4.1fs/%s] %8d ops  %7.0f ops/s  view %d (%d changes)  executed %d  stable %d   ",
				el.Seconds(), total, done.Load(), float64(done.Load())/el.Seconds(), st[spec.RoleConf].View, changes, st[spec.RoleExec].Last, st[spec.RoleExec].Stable)
		}
	}
}

// clientWork is one client's loop and its sequential model of its own keys.
type clientWork struct {
	c         *client.Client
	prefix    string
	fl        *demoFlags
	rng       *rand.Rand
	model     map[string][]byte
	ops       int64
	requests  int64
	failed    int64
	wrong     int64
	latencies []time.Duration
}

func newClientWork(i int, c *client.Client, fl *demoFlags) *clientWork {
	return &clientWork{c: c, prefix: fmt.Sprintf("c%d/", i), fl: fl,
		rng: rand.New(rand.NewPCG(uint64(i), 0x5b1f)), model: map[string][]byte{}}
}

func (w *clientWork) run(ctx context.Context, done *atomic.Int64) {
	for ctx.Err() == nil {
		ops, want := w.nextRequest()
		t0 := time.Now()
		got, err := w.c.Do(ctx, ops)
		if err != nil {
			if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
				w.failed++
			}
			return // the request may or may not have executed: the model is unknown now
		}
		w.latencies = append(w.latencies, time.Since(t0))
		w.requests++
		for j := range got {
			if got[j].Status != want[j].Status || !bytes.Equal(got[j].Value, want[j].Value) {
				w.wrong++
			}
		}
		w.ops += int64(len(got))
		done.Add(int64(len(got)))
	}
}

// nextRequest draws the operations of one request and applies them to the model,
// returning the results a correct cluster must produce.
func (w *clientWork) nextRequest() ([][]byte, []spec.Result) {
	var ops [][]byte
	var want []spec.Result
	for range w.fl.ops {
		key := fmt.Sprintf("%sk%d", w.prefix, w.rng.IntN(w.fl.keys))
		op, res := w.nextOp(key)
		ops, want = append(ops, op), append(want, res)
	}
	return ops, want
}

func (w *clientWork) nextOp(key string) ([]byte, spec.Result) {
	cur, present := w.model[key]
	switch x := w.rng.IntN(10); {
	case x < 5:
		v := w.value()
		w.model[key] = v
		return client.PutOp([]byte(key), v), spec.Result{}
	case x < 8:
		if !present {
			return client.GetOp([]byte(key)), spec.Result{Status: spec.StatusNotFound}
		}
		return client.GetOp([]byte(key)), spec.Result{Value: cur}
	default:
		v := w.value()
		if !present {
			w.model[key] = v
			return client.CASOp([]byte(key), nil, v, true), spec.Result{}
		}
		w.model[key] = v
		return client.CASOp([]byte(key), cur, v, false), spec.Result{}
	}
}

func (w *clientWork) value() []byte {
	v := make([]byte, w.fl.valueSize)
	for i := range v {
		v[i] = byte('a' + w.rng.IntN(26))
	}
	return v
}
