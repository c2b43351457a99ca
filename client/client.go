package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/splitbft/splitbft/spec"
)

// ErrTimeout is returned (wrapped together with context.DeadlineExceeded) when a
// request did not complete before its deadline. The request's timestamps stay used.
var ErrTimeout = errors.New("client: request timed out")

// ErrClosed is returned when the transport's reply channel is closed.
var ErrClosed = errors.New("client: transport closed")

// Transport carries requests to the cluster and replies back. Send delivers an encoded
// REQUEST to whichever replica(s) the transport chooses (typically the primary's
// broker); Replies yields every encoded REPLY received for this client. Send must not
// block for long.
type Transport interface {
	Send(req []byte) error
	Replies() <-chan []byte
}

// Broadcaster is optionally implemented by a Transport: Broadcast sends a request to
// every replica. Client uses it for retransmissions; without it Send is used again.
type Broadcaster interface {
	Broadcast(req []byte) error
}

// Options tunes a Client. Zero values take the defaults.
type Options struct {
	Timeout    time.Duration // per request when the context has no deadline; default 10s
	Retransmit time.Duration // first retransmission delay, doubled each time; default 500ms
	MaxBackoff time.Duration // cap on the retransmission delay; default 5s
	// Chain, when set, returns epoch changes that follow configuration cur (SPEC.md
	// §17.7), typically fetched from the replicas; the client verifies them (Follow,
	// keys admitted by Admit) and moves to the configuration they reach. It is asked
	// at every retransmission of a request, when f+1 replicas sent replies that
	// do not open (they answer under another configuration), and when a broker
	// pushed an epoch change more than one epoch ahead (at most once per
	// retransmission period; push.go). A pushed change for the next epoch is
	// verified and followed without it.
	Chain func(ctx context.Context, cur *spec.Config) ([]spec.Step, error)
	Admit spec.KeyAdmitter
}

func (o Options) withDefaults() Options {
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.Retransmit <= 0 {
		o.Retransmit = 500 * time.Millisecond
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 5 * time.Second
	}
	return o
}

// Client is a blocking client over a Transport. Its methods are safe for concurrent
// use but run one request at a time (a Session has one outstanding request).
type Client struct {
	mu       sync.Mutex
	s        *Session
	t        Transport
	opt      Options
	rejected atomic.Uint64 // replies HandleReply rejected
	epochs   atomic.Uint64 // configurations followed
	ignored  atomic.Uint64 // pushed epoch changes ignored (push.go)
}

// Epochs returns the number of epoch changes the client followed (SPEC.md §17.7).
func (c *Client) Epochs() uint64 { return c.epochs.Load() }

// Rejected returns the number of replies rejected so far: forged, malformed,
// duplicate, or late (for a request already completed).
func (c *Client) Rejected() uint64 { return c.rejected.Load() }

// New returns a Client for identity id in cluster cfg over transport t; rand supplies
// AEAD nonces.
func New(cfg *spec.Config, id Identity, rand io.Reader, t Transport, opt Options) (*Client, error) {
	s, err := NewSession(cfg, id, rand)
	if err != nil {
		return nil, err
	}
	return &Client{s: s, t: t, opt: opt.withDefaults()}, nil
}

// Session returns the client's session (for SetNextTimestamp and inspection). Do not
// use it concurrently with a request in progress.
func (c *Client) Session() *Session { return c.s }

// Do submits the operation plaintexts ops as one request and waits until f+1
// replicas sent matching result lists for it. It retransmits to all replicas with exponential
// back-off and gives up with ErrTimeout at the context's deadline (or Options.Timeout
// when the context has none). Rejected replies are counted and ignored.
func (c *Client) Do(ctx context.Context, ops [][]byte) ([]spec.Result, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.opt.Timeout)
		defer cancel()
	}
	c.drainPushes(ctx)
	req, _, err := c.s.Prepare(ops)
	if err != nil {
		return nil, err
	}
	defer c.s.Abandon() // no-op after completion
	if err := c.t.Send(req); err != nil {
		return nil, fmt.Errorf("client: send: %w", err)
	}
	return c.wait(ctx, req)
}

// wait collects replies until completion, retransmitting on a back-off timer,
// re-sending at once when a pushed epoch change moved the session, and following the
// chain when the cluster seems to have moved to another epoch.
func (c *Client) wait(ctx context.Context, req []byte) ([]spec.Result, error) {
	delay := c.opt.Retransmit
	timer := time.NewTimer(delay)
	defer timer.Stop()
	var foreign uint64 // replicas whose replies did not open since the last follow
	asked := false     // a push made the client ask Options.Chain since the last timer
	for {
		select {
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return nil, fmt.Errorf("%w (%s): %w", ErrTimeout, c.answeredNote(), ctx.Err())
			}
			return nil, ctx.Err()
		case <-timer.C:
			req = c.follow(ctx, req) // an epoch change is the usual reason for a lost request (SPEC.md §17.7)
			c.retransmit(req)
			delay, asked = min(2*delay, c.opt.MaxBackoff), false
			timer.Reset(delay)
		case raw := <-c.pushes():
			req = c.resendPushed(ctx, raw, req, &asked)
		case rep, ok := <-c.t.Replies():
			if !ok {
				return nil, ErrClosed
			}
			comp, done, err := c.s.HandleReply(rep)
			if err != nil {
				req = c.onRejected(ctx, rep, err, req, &foreign)
				continue
			}
			if done {
				return comp.Results, nil
			}
		}
	}
}

// onRejected counts a rejected reply and, once f+1 replicas sent replies that do not
// open, follows the chain and retransmits if the session moved. It returns the
// outstanding request as it is now.
func (c *Client) onRejected(ctx context.Context, rep []byte, err error, req []byte, foreign *uint64) []byte {
	c.rejected.Add(1)
	if r, ok := undecryptableFrom(rep, err); ok && r < 64 {
		*foreign |= 1 << r
	}
	if uint64(bits.OnesCount64(*foreign)) < c.s.cfg.F+1 {
		return req
	}
	*foreign = 0
	if next := c.follow(ctx, req); !bytes.Equal(next, req) {
		c.retransmit(next)
		return next
	}
	return req
}

// answeredNote says which replicas sent valid replies for the outstanding request,
// against the f+1 matching replies it needs.
func (c *Client) answeredNote() string {
	got := c.s.Answered()
	need := c.s.cfg.F + 1
	if len(got) == 0 {
		return fmt.Sprintf("no valid reply from any of the %d replicas; %d matching needed", c.s.cfg.N, need)
	}
	ids := make([]string, len(got))
	for i, r := range got {
		ids[i] = fmt.Sprint(r)
	}
	return fmt.Sprintf("valid replies from replicas %s only; %d matching needed", strings.Join(ids, ", "), need)
}

// follow asks Options.Chain for epoch changes after the session's configuration and
// follows them; it returns the outstanding request as it is now (re-signed for the
// new epoch if the session moved). A chain that does not verify is ignored.
func (c *Client) follow(ctx context.Context, req []byte) []byte {
	if !c.followChain(ctx) {
		return req
	}
	if out, _, ok := c.s.Outstanding(); ok {
		return out
	}
	return req
}

// followChain asks Options.Chain for epoch changes after the session's configuration
// and follows them; it reports whether the session moved.
func (c *Client) followChain(ctx context.Context) bool {
	if c.opt.Chain == nil {
		return false
	}
	changes, err := c.opt.Chain(ctx, c.s.cfg)
	if err != nil {
		return false
	}
	if moved, err := c.s.Follow(changes, c.opt.Admit); err != nil || !moved {
		return false
	}
	c.epochs.Add(1)
	return true
}

// undecryptableFrom returns the replica of a reply rejected because it does not open.
func undecryptableFrom(rep []byte, err error) (uint64, bool) {
	if !errors.Is(err, ErrUndecryptable) {
		return 0, false
	}
	var r spec.Reply // declared here: it escapes, and most rejected replies are not undecryptable
	if spec.Decode(rep, &r, spec.MaxBodyBytes(spec.KindReply)) != nil {
		return 0, false
	}
	return r.Replica, true
}

// retransmit re-sends the outstanding request to every replica when the transport can.
func (c *Client) retransmit(req []byte) {
	if b, ok := c.t.(Broadcaster); ok {
		_ = b.Broadcast(req) // a failed retransmission is retried at the next timer
		return
	}
	_ = c.t.Send(req)
}
