package localnet

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/splitbft/splitbft/broker"
)

// node runs one replica's broker on its own goroutine. Every event is a closure run on
// that goroutine, so the broker core (not safe for concurrent use) sees one caller.
type node struct {
	c     *Cluster
	id    uint64
	r     *broker.Replica
	inbox chan func(*broker.Replica)
	dead  chan struct{}
	once  sync.Once
}

func newNode(c *Cluster, id uint64, enclaves [3]broker.Enclave, opt Options) *node {
	nd := &node{c: c, id: id, inbox: make(chan func(*broker.Replica), opt.InboxSize), dead: make(chan struct{})}
	nd.r = broker.NewReplica(id, c.Config, enclaves, netOf{c: c, from: id}, opt.Broker)
	return nd
}

// post queues an event; it reports false if the inbox is full or the node is dead.
func (nd *node) post(ev func(*broker.Replica)) bool {
	select {
	case <-nd.dead:
		return false
	default:
	}
	select {
	case nd.inbox <- ev:
		return true
	default:
		return false
	}
}

// query runs f on the node's goroutine and waits for it.
func (nd *node) query(f func(*broker.Replica)) error {
	done := make(chan struct{})
	ev := func(r *broker.Replica) { f(r); close(done) }
	select {
	case nd.inbox <- ev:
	case <-nd.dead:
		return ErrStopped
	}
	select {
	case <-done:
		return nil
	case <-nd.dead:
		return ErrStopped
	}
}

func (nd *node) kill() { nd.once.Do(func() { close(nd.dead) }) }

// killed reports whether kill was called.
func (nd *node) killed() bool {
	select {
	case <-nd.dead:
		return true
	default:
		return false
	}
}

// run is the node's event loop: handle a burst of events, then Flush; tick on time.
func (nd *node) run(wg *sync.WaitGroup, every time.Duration) {
	defer wg.Done()
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-nd.c.stop:
			return
		case <-nd.dead:
			return
		case ev := <-nd.inbox:
			ev(nd.r)
			nd.drain(1024)
		case <-tick.C:
			nd.r.Tick()
		}
		nd.r.Flush()
	}
}

// drain handles up to max queued events without blocking, so that one Flush (and one
// Step per compartment) serves a whole burst.
func (nd *node) drain(max int) {
	for range max {
		select {
		case ev := <-nd.inbox:
			ev(nd.r)
		default:
			return
		}
	}
}

// netOf is replica from's view of the in-process network.
type netOf struct {
	c    *Cluster
	from uint64
}

func (n netOf) Send(to uint64, msg []byte)        { n.c.send(n.from, to, msg) }
func (n netOf) Reply(client uint64, reply []byte) { n.c.reply(client, reply) }

// transport is a client's connection: requests go to its home replica's broker (which
// forwards them to the primary), or to the next live replica once its home was killed;
// retransmissions go to every replica. With move set (Options.ClientsToPrimary), a
// retransmission also moves home to the next replica, as tcpnet's ClientConn does.
type transport struct {
	c       *Cluster
	home    atomic.Uint64
	move    bool
	replies chan []byte
}

func (t *transport) Send(req []byte) error {
	n := uint64(len(t.c.nodes))
	home := t.home.Load()
	to := home
	for i := range n {
		if to = (home + i) % n; !t.c.nodes[to].killed() {
			break
		}
	}
	t.c.nodes[to].post(func(r *broker.Replica) { r.HandleClient(req) })
	return nil
}

func (t *transport) Broadcast(req []byte) error {
	for _, nd := range t.c.nodes {
		nd.post(func(r *broker.Replica) { r.HandleClient(req) })
	}
	if t.move {
		old := t.home.Load()
		t.home.CompareAndSwap(old, (old+1)%uint64(len(t.c.nodes)))
	}
	return nil
}

func (t *transport) Replies() <-chan []byte { return t.replies }

// SendRead delivers a READ (SPEC.md §16.6) to every live replica's broker.
func (t *transport) SendRead(read []byte) error {
	for _, nd := range t.c.nodes {
		nd.post(func(r *broker.Replica) { r.HandleRead(read) })
	}
	return nil
}
