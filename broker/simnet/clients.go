package simnet

import (
	"github.com/splitbft/splitbft/client"
	"github.com/splitbft/splitbft/spec"
)

// Result is one completed client request.
type Result struct {
	Client    uint64
	Timestamp uint64
	Ops       [][]byte      // the operation plaintexts submitted
	Results   []spec.Result // one per op, each vouched for by f+1 replicas
	Submitted uint64        // virtual time the request was first sent
	Completed uint64        // virtual time it completed
}

// simClient is a client.Session driven by the scheduler: one request in flight, a
// backlog of submitted ones, retransmission to every replica on a virtual timeout.
type simClient struct {
	id       client.Identity
	s        *client.Session
	backlog  [][][]byte
	cur      [][]byte // ops of the request in flight, nil when idle
	sentAt   uint64
	deadline uint64
}

func (s *Sim) addClient(id client.Identity) error {
	sess, err := client.NewSession(s.cfg, id, s.streamFor("client-nonces", id.ID, 0))
	if err != nil {
		return err
	}
	s.clients = append(s.clients, &simClient{id: id, s: sess})
	return nil
}

// Clients returns the number of simulated clients (ids 1..Clients()).
func (s *Sim) Clients() int { return len(s.clients) }

// Identity returns client id's identity (ids start at 1), for tests that want to
// play that client themselves with InjectRequest.
func (s *Sim) Identity(id uint64) client.Identity { return s.clients[id-1].id }

// Submit queues a request of client id (1-based) with the given operation plaintexts;
// the client sends it when its previous requests completed.
func (s *Sim) Submit(id uint64, ops [][]byte) {
	c := s.clients[id-1]
	c.backlog = append(c.backlog, ops)
	if c.cur == nil {
		s.sendNext(c)
	}
}

// Idle reports whether every client has completed everything submitted.
func (s *Sim) Idle() bool {
	for _, c := range s.clients {
		if c.cur != nil || len(c.backlog) > 0 {
			return false
		}
	}
	return true
}

// Results returns the completed requests in completion order.
func (s *Sim) Results() []Result { return s.results }

// Completed returns the number of client requests completed so far.
func (s *Sim) Completed() int { return s.completed }

// InjectRequest delivers raw bytes as a client request to replica to (after the
// usual latency, through the client link fault): a test's faulty client.
func (s *Sim) InjectRequest(to uint64, raw []byte) {
	s.transmit(&s.net.clientLink, event{kind: evRequest, to: to, msg: raw}, spec.KindRequest)
}

// sendNext starts the client's next request: to the replica it believes is primary.
func (s *Sim) sendNext(c *simClient) {
	if len(c.backlog) == 0 {
		return
	}
	ops := c.backlog[0]
	req, _, err := c.s.Prepare(ops)
	if err != nil {
		panic("simnet: a simulated client built an invalid request: " + err.Error())
	}
	c.backlog = c.backlog[1:]
	c.cur, c.sentAt, c.deadline = ops, s.now, s.now+s.opt.ClientTimeout
	s.InjectRequest(c.s.PrimaryHint(), req)
}

// tickClients retransmits every overdue request to all replicas.
func (s *Sim) tickClients() {
	for _, c := range s.clients {
		if c.cur == nil || s.now < c.deadline {
			continue
		}
		req, _, _ := c.s.Outstanding()
		for r := range s.cfg.N {
			s.InjectRequest(r, req)
		}
		c.deadline = s.now + s.opt.ClientTimeout
	}
}

// clientReply hands a reply to its client's session.
func (s *Sim) clientReply(id uint64, reply []byte) {
	if s.opt.OnReply != nil {
		s.opt.OnReply(id, reply)
	}
	if id == 0 || id > uint64(len(s.clients)) || s.clients[id-1].cur == nil {
		s.stats.StrayReplies++
		return
	}
	c := s.clients[id-1]
	done, ok, err := c.s.HandleReply(reply)
	if err != nil {
		s.stats.RejectedReplies++
		return
	}
	if !ok {
		return
	}
	r := Result{Client: id, Timestamp: done.Timestamp, Ops: c.cur, Results: done.Results, Submitted: c.sentAt, Completed: s.now}
	c.cur = nil
	s.completed++
	if !s.opt.DiscardResults {
		s.results = append(s.results, r)
	}
	if s.opt.OnResult != nil {
		s.opt.OnResult(s, r)
	}
	if c.cur == nil {
		s.sendNext(c)
	}
}

// Pending returns the number of requests submitted and not yet completed.
func (s *Sim) Pending() int {
	n := 0
	for _, c := range s.clients {
		n += len(c.backlog)
		if c.cur != nil {
			n++
		}
	}
	return n
}
