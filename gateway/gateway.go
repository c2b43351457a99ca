package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/splitbft/splitbft/client"
	"github.com/splitbft/splitbft/internal/rawio/rawnet"
	"github.com/splitbft/splitbft/spec"
)

// Doer runs operations as one signed request and returns each operation's result once
// enough execution enclaves vouched for it. *client.Client is a Doer. A Doer runs one
// request at a time; the gateway calls each Doer from one goroutine.
type Doer interface {
	Do(ctx context.Context, ops [][]byte) ([]spec.Result, error)
}

// Options tune a Gateway. Zero values take the defaults noted.
type Options struct {
	Timeout     time.Duration // per request to the cluster; default 10s
	MaxConns    int           // concurrent connections (SPEC.md §16.3 RB7); default 1024
	IdleTimeout time.Duration // an idle connection is closed after it; default 5 minutes
	Logger      *slog.Logger  // connection events (never keys, values or error texts quoting them); default discards

	// FastReads answers pipelines of read-only commands by the fast read path
	// (SPEC.md §16.6) when the Doers can (FastReader), falling back to ordering after
	// FastReadWait (default 100ms). New then makes every Doer acknowledge ordered
	// operations only on 2f+1 matching replies (FR2), which needs Doers with a
	// client.Session (*client.Client).
	FastReads    bool
	FastReadWait time.Duration

	// MaxOps and MaxOpBytes are the configuration's MaxRequestOps and MaxOpBytes; New
	// sets them from the configuration.
	MaxOps, MaxOpBytes int
}

// FastReader is a Doer that can also read without ordering: *client.Client.
type FastReader interface {
	FastRead(ctx context.Context, ops [][]byte, wait time.Duration) ([]spec.Result, bool, error)
}

// Gateway serves RESP connections and turns their commands into requests. Create it
// with New; it is safe for concurrent use.
type Gateway struct {
	opt   Options
	doers []Doer
	jobs  chan *job
	stop  chan struct{}
	slots chan struct{} // one token per connection allowed

	mu     sync.Mutex
	ls     []net.Listener
	conns  map[*conn]struct{}
	closed bool
	wg     sync.WaitGroup
	nextID atomic.Uint64

	stats counters
}

// ErrClosed is returned by Serve after Close.
var ErrClosed = errors.New("gateway: closed")

// New returns a gateway for the cluster cfg that sends its requests through doers (at
// least one; one per client identity the gateway holds). It starts one worker per Doer.
func New(cfg *spec.Config, doers []Doer, opt Options) (*Gateway, error) {
	if len(doers) == 0 {
		return nil, errors.New("gateway: no client identity (Doer) given")
	}
	opt.MaxOps, opt.MaxOpBytes = int(cfg.MaxRequestOps), int(cfg.MaxOpBytes)
	opt = opt.withDefaults()
	if opt.FastReads {
		if err := strictQuorum(cfg, doers); err != nil {
			return nil, err
		}
	}
	g := &Gateway{opt: opt, doers: doers, jobs: make(chan *job, opt.MaxConns), stop: make(chan struct{}),
		slots: make(chan struct{}, opt.MaxConns), conns: map[*conn]struct{}{}}
	for _, d := range doers {
		g.wg.Add(1)
		go g.worker(d)
	}
	return g, nil
}

func (o Options) withDefaults() Options {
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.MaxConns <= 0 {
		o.MaxConns = 1024
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = 5 * time.Minute
	}
	if o.FastReadWait <= 0 {
		o.FastReadWait = 100 * time.Millisecond
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// strictQuorum sets every Doer's ordered quorum to 2f+1 (SPEC.md §16.6 FR2).
func strictQuorum(cfg *spec.Config, doers []Doer) error {
	for i, d := range doers {
		s, ok := d.(interface{ Session() *client.Session })
		if !ok {
			return fmt.Errorf("gateway: fast reads need Doers with a client session (Doer %d has none)", i)
		}
		if err := s.Session().SetQuorum(2*cfg.F + 1); err != nil {
			return fmt.Errorf("gateway: %w", err)
		}
	}
	return nil
}

// Serve accepts connections on l until Close; it returns ErrClosed then, or the
// accept error that stopped it.
func (g *Gateway) Serve(l net.Listener) error {
	if !g.track(l) {
		return ErrClosed
	}
	for {
		nc, err := l.Accept()
		if err != nil {
			if g.isClosed() {
				return ErrClosed
			}
			return fmt.Errorf("gateway: accept: %w", err)
		}
		g.admit(rawnet.Conn(nc))
	}
}

// admit starts serving nc, or refuses it as Redis does when MaxConns are open.
func (g *Gateway) admit(nc net.Conn) {
	select {
	case g.slots <- struct{}{}:
	default:
		g.stats.refused.Add(1)
		_ = nc.SetWriteDeadline(time.Now().Add(time.Second))
		_, _ = nc.Write([]byte("-ERR max number of clients reached\r\n"))
		_ = nc.Close()
		return
	}
	c := newConn(g, nc)
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		_ = nc.Close()
		<-g.slots
		return
	}
	g.conns[c] = struct{}{}
	g.wg.Add(1)
	g.mu.Unlock()
	go g.serveConn(c)
}

// track records a listener so that Close closes it; false once closed.
func (g *Gateway) track(l net.Listener) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return false
	}
	g.ls = append(g.ls, l)
	return true
}

func (g *Gateway) isClosed() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.closed
}

// forget removes a finished connection.
func (g *Gateway) forget(c *conn) {
	g.mu.Lock()
	delete(g.conns, c)
	g.mu.Unlock()
	<-g.slots
	g.wg.Done()
}

// Close stops accepting, closes every connection, stops the workers and waits for all
// of them. Commands in flight get no reply.
func (g *Gateway) Close() {
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return
	}
	g.closed = true
	for _, l := range g.ls {
		_ = l.Close()
	}
	for c := range g.conns {
		_ = c.nc.Close()
	}
	close(g.stop)
	g.mu.Unlock()
	g.wg.Wait()
}
