package gateway

import (
	"bufio"
	"errors"
	"io"
	"net"
	"strings"
	"time"

	"github.com/splitbft/splitbft/spec"
)

var errResultCount = errors.New("gateway: the cluster returned a wrong number of results")

// conn is one legacy client's connection. Only its own goroutine touches it, except
// Close, which closes nc.
type conn struct {
	g     *Gateway
	nc    net.Conn
	r     *reader
	bw    *bufio.Writer
	w     writer
	id    uint64
	name  string // CLIENT SETNAME
	quit  bool   // QUIT answered: close after this pipeline
	carry *plan  // a planned command that did not fit the previous pipeline
}

func newConn(g *Gateway, nc net.Conn) *conn {
	return &conn{g: g, nc: nc, r: newReader(nc), bw: bufio.NewWriterSize(nc, 64<<10),
		w: writer{proto: 2}, id: g.nextID.Add(1)}
}

// serveConn answers pipelines until the client leaves, QUITs, breaks the protocol, or
// the gateway closes.
func (g *Gateway) serveConn(c *conn) {
	defer g.forget(c)
	defer c.nc.Close()
	g.stats.accepted.Add(1)
	g.stats.open.Add(1)
	defer g.stats.open.Add(-1)
	for !c.quit {
		plans, ops, perr := c.pipeline()
		if len(plans) > 0 && !c.answer(plans, ops) {
			return
		}
		if perr != nil {
			if errors.Is(perr, ErrProtocol) {
				g.stats.protocolErrors.Add(1)
				c.w.err("ERR Protocol error: " + strings.TrimPrefix(perr.Error(), ErrProtocol.Error()+": "))
				c.flush()
				c.linger()
				g.opt.Logger.Debug("gateway: protocol error, closing", "conn", c.id) // not the error: it may quote client data
			}
			return
		}
	}
}

// pipeline reads the next pipeline (SPEC.md §16.5): one command, waiting up to the idle
// timeout, then every further command already received, up to MaxOps operations and
// MaxPipelineRead bytes. It returns the plans, their operations in order, and the read
// error that ended it (the plans before the error are still answered).
func (c *conn) pipeline() ([]plan, int, error) {
	var plans []plan
	nops, size := 0, 0
	if c.carry != nil {
		plans, nops = append(plans, *c.carry), len(c.carry.ops)
		c.carry = nil
	} else if err := c.nc.SetReadDeadline(time.Now().Add(c.g.opt.IdleTimeout)); err != nil {
		return nil, 0, err
	}
	for len(plans) == 0 || (c.r.buffered() && size < MaxPipelineRead && nops < c.g.opt.MaxOps) {
		args, err := c.r.command()
		if err != nil {
			return plans, nops, err
		}
		if len(args) == 0 {
			continue
		}
		c.g.stats.commands.Add(1)
		p := c.g.plan(c, args)
		if len(plans) > 0 && nops+len(p.ops) > c.g.opt.MaxOps {
			c.carry = &p
			break
		}
		plans, nops = append(plans, p), nops+len(p.ops)
		for _, a := range args {
			size += len(a)
		}
		if p.last {
			break
		}
	}
	return plans, nops, nil
}

// answer orders the pipeline's operations as one job and writes every reply in order.
// It returns false when the connection must end.
func (c *conn) answer(plans []plan, nops int) bool {
	var res []spec.Result
	var err error
	if nops > 0 {
		ops := make([][]byte, 0, nops)
		for _, p := range plans {
			ops = append(ops, p.ops...)
		}
		read := c.g.opt.FastReads && allReadOnly(plans)
		if !read {
			c.g.stats.ordered.Add(uint64(nops))
		}
		res, err = c.g.run(ops, read)
		if errors.Is(err, ErrClosed) {
			return false
		}
	}
	off := 0
	for _, p := range plans {
		switch {
		case len(p.ops) > 0 && err != nil:
			c.w.err("ERR the SplitBFT cluster did not answer in time; the command may or may not have executed")
		default:
			p.reply(&c.w, res[off:off+len(p.ops)])
		}
		off += len(p.ops)
	}
	return c.flush()
}

// linger half-closes the connection and discards what the client still sends, for at
// most a second and MaxPipelineRead bytes, so that the error reply is not lost to a
// TCP reset when the socket is closed with unread input.
func (c *conn) linger() {
	if tc, ok := c.nc.(interface{ CloseWrite() error }); ok {
		_ = tc.CloseWrite()
	}
	_ = c.nc.SetReadDeadline(time.Now().Add(time.Second))
	_, _ = io.CopyN(io.Discard, c.nc, MaxPipelineRead)
}

// flush writes the buffered replies; false if the connection failed.
func (c *conn) flush() bool {
	if len(c.w.buf) == 0 {
		return true
	}
	_ = c.nc.SetWriteDeadline(time.Now().Add(c.g.opt.IdleTimeout))
	_, err := c.bw.Write(c.w.buf)
	if err == nil {
		err = c.bw.Flush()
	}
	c.w.buf = c.w.buf[:0]
	return err == nil
}

// allReadOnly reports whether every plan with operations is read-only.
func allReadOnly(plans []plan) bool {
	for _, p := range plans {
		if len(p.ops) > 0 && !p.readOnly {
			return false
		}
	}
	return true
}
