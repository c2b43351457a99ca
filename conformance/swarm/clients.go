package swarm

import (
	"bytes"
	"crypto/cipher"
	"fmt"

	"github.com/splitbft/splitbft/client"
	"github.com/splitbft/splitbft/conformance"
	"github.com/splitbft/splitbft/spec"
)

// opKey names one client operation: (client, timestamp).
type opKey struct{ client, ts uint64 }

// swarmClient is one correct client: a client.Session and what the oracles need.
type swarmClient struct {
	id         client.Identity
	sess       *client.Session
	replyAEADs [][]cipher.AEAD // per epoch and replica, under the pairwise reply key (SPEC §12.3)
	outOps     [][]byte        // the plaintexts of the outstanding request (re-sealed at an epoch change)
	admin      bool            // the brokers' client: config operations only, not in the history
	carrying   *admission      // admin: the admission its outstanding request carries
	issued     int             // requests prepared
	done       int             // requests completed
	lastDone   int             // s.step of the last completion
}

// request is a client REQUEST in the adversary's hands.
type request struct {
	raw    []byte
	client uint64
	ts     uint64
}

// addClient registers a session for identity id (the admin client if admin).
func (s *sim) addClient(id client.Identity, admin bool) error {
	sess, err := client.NewSession(s.cfg, id, conformance.Stream("swarm-client-nonces", s.opt.Seed*131+id.ID))
	if err != nil {
		return err
	}
	c := &swarmClient{id: id, sess: sess, admin: admin}
	if err := c.addReplyKeys(s.cfg, s.cd); err != nil {
		return err
	}
	if admin {
		s.admin = c
	} else {
		s.clients = append(s.clients, c)
	}
	return nil
}

// allClients returns the clients and the admin client.
func (w *world) allClients() []*swarmClient {
	if w.admin == nil {
		return w.clients
	}
	return append(w.clients[:len(w.clients):len(w.clients)], w.admin)
}

// issue makes client c prepare its next request: each operation is a put of a fresh
// marked value or a read (a cas that cannot match, answered with the current value),
// every plaintext unique so that the oracles can recognise it when it executes.
func (s *sim) issue(c *swarmClient) {
	if _, _, busy := c.sess.Outstanding(); busy {
		return
	}
	ts := c.sess.NextTimestamp()
	nops := 1 + s.rng.IntN(int(s.cfg.MaxRequestOps))
	ops := make([][]byte, nops)
	for j := range ops {
		key := []byte(fmt.Sprintf("swarm-secret-k/%d", s.rng.IntN(numKeys))) // shared by all clients
		val := []byte(fmt.Sprintf("swarm-secret-v/%d/%d/%x", c.id.ID, ts+uint64(j), s.rng.Uint32()))
		if s.rng.IntN(3) == 0 {
			ops[j] = client.CASOp(key, val, []byte("swarm-secret-never"), false)
		} else {
			ops[j] = client.PutOp(key, val)
		}
		s.ops[string(ops[j])] = opKey{c.id.ID, ts + uint64(j)}
	}
	raw, got, err := c.sess.Prepare(ops)
	if err != nil || got != ts {
		s.fail("client-safety", "client %d cannot prepare a request: %v", c.id.ID, err)
		return
	}
	if bytes.Contains(raw, secretMarker) {
		s.fail("confidentiality", "client %d's REQUEST carries plaintext", c.id.ID)
	}
	c.issued++
	c.outOps = ops
	s.recordCall(c.id.ID, ts, ops)
	s.requests = append(s.requests, request{raw: raw, client: c.id.ID, ts: ts})
	s.logf("  client %d issues ts %d (%d ops)", c.id.ID, ts, nops)
}

// replyDelivery is a reply on its way to a client.
type replyDelivery struct {
	client uint64
	body   []byte
}

// replyOut handles a reply an exec emitted: a correct exec's result is recorded as
// the correct result of that operation (and must equal every other correct exec's);
// every reply is queued for its client.
func (s *sim) replyOut(nd *node, og origin, body []byte) {
	var r spec.Reply
	if spec.Decode(body, &r, spec.MaxBodyBytes(spec.KindReply)) != nil {
		return
	}
	c := s.clientByID(r.Client)
	if c == nil {
		return
	}
	if og == fromCorrect {
		if r.Replica != nd.id.Replica {
			s.fail("output-shape", "%s replied as replica %d", nd.id, r.Replica)
			return
		}
		res, err := s.openReply(c, &r, nd.epoch)
		if err != nil {
			s.fail("client-safety", "%s sealed a reply its client cannot open: %v", nd.id, err)
			return
		}
		first := r.Timestamp + 1 - uint64(len(res)) // the reply carries the last operation's timestamp
		for j := range res {
			s.correctResult(nd, opKey{r.Client, first + uint64(j)}, res[j])
		}
	}
	s.replies = append(s.replies, replyDelivery{client: r.Client, body: body})
	if len(s.replies) > maxPending {
		s.replies = s.replies[len(s.replies)-maxPending:]
	}
}

// openReply opens a reply sealed in epoch e with the client's pairwise key for the
// replying replica and returns its results, one enc(Result) per operation of the
// request, in order.
func (w *world) openReply(c *swarmClient, r *spec.Reply, e uint64) ([]string, error) {
	if r.Replica >= w.cfg.N || e >= uint64(len(c.replyAEADs)) {
		return nil, fmt.Errorf("replica %d or epoch %d out of range", r.Replica, e)
	}
	pt, err := c.replyAEADs[e][r.Replica].Open(nil, r.Nonce[:], r.Ciphertext, replyAD(w.epochs[e].cd, r, r.Replica))
	if err != nil {
		return nil, err
	}
	var list spec.ReplyResults
	if err := spec.Decode(pt, &list, spec.MaxBodyBytes(spec.KindReply)); err != nil {
		return nil, err
	}
	if len(list.Results) == 0 {
		return nil, fmt.Errorf("reply to timestamp %d carries no result", r.Timestamp)
	}
	out := make([]string, len(list.Results))
	for j := range list.Results {
		out[j] = string(spec.Encode(&list.Results[j]))
	}
	return out, nil
}

// clientByID returns the client with that id, or nil.
func (w *world) clientByID(id uint64) *swarmClient {
	for _, c := range w.allClients() {
		if c.id.ID == id {
			return c
		}
	}
	return nil
}

// handReply gives a reply to its client's session; on completion the client-safety
// oracle compares every result with the correct execs' (checkAccepted).
func (s *sim) handReply(rd replyDelivery) {
	c := s.clientByID(rd.client)
	comp, done, err := c.sess.HandleReply(rd.body)
	if err != nil || !done {
		return
	}
	s.checkResults(c.id.ID, comp.Timestamp, comp.Results)
	if c.admin {
		s.logf("  admin completes ts %d", comp.Timestamp)
		s.adminDone()
		return
	}
	s.recordReturn(c.id.ID, comp.Timestamp, comp.Results)
	c.done++
	c.lastDone = s.step
	s.stats.Completed++
	s.logf("  client %d completes ts %d", c.id.ID, comp.Timestamp)
	if s.phase == "safety" && s.rng.IntN(4) != 0 {
		s.issue(c)
	}
}

// outstanding returns the requests the clients are waiting for.
func (w *world) outstanding() []request {
	var out []request
	for _, c := range w.allClients() {
		if raw, ts, ok := c.sess.Outstanding(); ok {
			out = append(out, request{raw: raw, client: c.id.ID, ts: ts})
		}
	}
	return out
}
