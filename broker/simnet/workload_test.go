package simnet

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strconv"

	"github.com/splitbft/splitbft/client"
	"github.com/splitbft/splitbft/spec"
)

// workload drives every simulated client through a random kv-v1 workload and checks
// each result against a sequential model. Each client owns its keys (so its own
// sequence of results is fully determined), and all clients race on one shared
// counter with get-then-CAS increments; the counter's final value must equal the
// number of successful CAS operations.
type workload struct {
	rng     *rand.Rand
	perOps  int // operations each client performs
	clients []*clientModel
	errs    []string
	casOK   int  // successful counter increments, all clients
	stopped bool // results after the workload ended are not the workload's
}

// counterKey is the one key shared by all clients.
var counterKey = []byte("shared/counter")

// clientModel is one client's model state.
type clientModel struct {
	id      uint64
	kv      map[string][]byte // the client's own keys
	sent    int               // operations submitted
	expect  []*spec.Result    // expected result per op of the request in flight; nil: a counter op
	counter int               // 0: idle; 1: a counter get is in flight; 2: a counter CAS is in flight
	read    []byte            // counter value read by the get (nil: absent)
}

func newWorkload(seed uint64, clients, perOps int) *workload {
	w := &workload{rng: rand.New(rand.NewPCG(seed, 77)), perOps: perOps}
	for i := range clients {
		w.clients = append(w.clients, &clientModel{id: uint64(i + 1), kv: map[string][]byte{}})
	}
	return w
}

// start submits every client's first request.
func (w *workload) start(s *Sim) {
	for _, c := range w.clients {
		w.next(s, c)
	}
}

// onResult checks a completed request and submits the client's next one.
func (w *workload) onResult(s *Sim, r Result) {
	if int(r.Client) > len(w.clients) || w.stopped {
		return
	}
	c := w.clients[r.Client-1]
	w.check(c, r)
	if c.sent < w.perOps || c.counter == 2 {
		w.next(s, c)
	}
}

func (w *workload) fail(format string, a ...any) {
	if len(w.errs) < 20 {
		w.errs = append(w.errs, fmt.Sprintf(format, a...))
	}
}

// check compares a result with the model's expectation.
func (w *workload) check(c *clientModel, r Result) {
	switch c.counter {
	case 1:
		res := r.Results[0]
		switch res.Status {
		case spec.StatusOK:
			c.read = res.Value
		case spec.StatusNotFound:
			c.read = nil
		default:
			w.fail("client %d counter get: status %d", c.id, res.Status)
		}
		c.counter = 2
		return
	case 2:
		switch r.Results[0].Status {
		case spec.StatusOK:
			w.casOK++
		case spec.StatusCASMismatch:
		default:
			w.fail("client %d counter cas: status %d", c.id, r.Results[0].Status)
		}
		c.counter = 0
		return
	}
	for j, want := range c.expect {
		if got := r.Results[j]; got.Status != want.Status || !bytes.Equal(got.Value, want.Value) {
			w.fail("client %d ts %d op %d: got %d/%q, want %d/%q", c.id, r.Timestamp+uint64(j), j, got.Status, got.Value, want.Status, want.Value)
		}
	}
}

// next submits the client's next request.
func (w *workload) next(s *Sim, c *clientModel) {
	switch {
	case c.counter == 2:
		val := []byte("1")
		if c.read != nil {
			n, _ := strconv.Atoi(string(c.read))
			val = []byte(strconv.Itoa(n + 1))
		}
		c.sent++
		s.Submit(c.id, [][]byte{client.CASOp(counterKey, c.read, val, c.read == nil)})
	case w.rng.IntN(8) == 0:
		c.counter = 1
		c.sent++
		s.Submit(c.id, [][]byte{client.GetOp(counterKey)})
	default:
		n := min(1+w.rng.IntN(3), w.perOps-c.sent)
		ops := make([][]byte, n)
		c.expect = make([]*spec.Result, n)
		for j := range ops {
			ops[j], c.expect[j] = w.ownOp(c)
		}
		c.sent += n
		s.Submit(c.id, ops)
	}
}

// ownOp returns a random operation on one of the client's own keys and its expected
// result, applying it to the model.
func (w *workload) ownOp(c *clientModel) ([]byte, *spec.Result) {
	key := fmt.Sprintf("c%d/k%d", c.id, w.rng.IntN(6))
	val := []byte(fmt.Sprintf("v%d", w.rng.IntN(1000)))
	cur, found := c.kv[key]
	switch w.rng.IntN(4) {
	case 0:
		c.kv[key] = val
		return client.PutOp([]byte(key), val), &spec.Result{}
	case 1:
		if !found {
			return client.GetOp([]byte(key)), &spec.Result{Status: spec.StatusNotFound}
		}
		return client.GetOp([]byte(key)), &spec.Result{Value: cur}
	case 2:
		delete(c.kv, key)
		if !found {
			return client.DeleteOp([]byte(key)), &spec.Result{Status: spec.StatusNotFound}
		}
		return client.DeleteOp([]byte(key)), &spec.Result{Value: cur}
	}
	expected := cur
	if w.rng.IntN(3) == 0 {
		expected = []byte("stale")
	}
	if (!found && expected == nil) || (found && bytes.Equal(cur, expected)) {
		c.kv[key] = val
		return client.CASOp([]byte(key), expected, val, !found), &spec.Result{}
	}
	return client.CASOp([]byte(key), expected, val, false), &spec.Result{Status: spec.StatusCASMismatch, Value: cur}
}

// done reports whether every client finished its operations.
func (w *workload) done(s *Sim) bool {
	for _, c := range w.clients {
		if c.sent < w.perOps || c.counter != 0 {
			return false
		}
	}
	return s.Idle()
}
