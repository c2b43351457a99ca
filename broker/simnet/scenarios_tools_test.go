package simnet

import (
	"github.com/splitbft/splitbft/broker"
	"github.com/splitbft/splitbft/client"
	"github.com/splitbft/splitbft/spec"
)

// Tools of the scenario harness: watching broker messages, and clients the test
// drives itself.

// watch calls f for every broker message of kind sent from now on, once per
// destination, with the message's body.
func (sc *scenario) watch(kind uint64, f func(from, to uint64, body []byte)) {
	if sc.watchers == nil {
		sc.watchers = map[uint64][]func(from, to uint64, body []byte){}
	}
	sc.watchers[kind] = append(sc.watchers[kind], f)
}

// onPeer is the simulation's OnPeer hook: it dispatches to the watchers.
func (sc *scenario) onPeer(from, to uint64, msg []byte) {
	if len(sc.watchers) == 0 {
		return
	}
	var m broker.PeerMsg
	if spec.Decode(msg, &m, spec.MaxMessageBytes+64) != nil {
		return
	}
	for _, f := range sc.watchers[m.Kind] {
		f(from, to, m.Body)
	}
}

// player is a client the test drives itself (one of scenarioOpts.extra), with its own
// session: it can keep a request's bytes and replay them as a faulty broker would.
type player struct {
	sc      *scenario
	id      uint64
	sess    *client.Session
	done    *client.Completion
	replies map[uint64]int // replies received, by timestamp
}

// player returns the test-driven client id (an extra client of the scenario).
func (sc *scenario) player(id uint64) *player {
	sess, err := client.NewSession(sc.s.Config(), sc.s.Identity(id), sc.s.streamFor("player", id, 0))
	if err != nil {
		sc.fatalf("player %d: %v", id, err)
	}
	p := &player{sc: sc, id: id, sess: sess, replies: map[uint64]int{}}
	if sc.players == nil {
		sc.players = map[uint64]*player{}
	}
	sc.players[id] = p
	return p
}

// onReply is the simulation's OnReply hook: it hands players their replies.
func (sc *scenario) onReply(c uint64, reply []byte) {
	p := sc.players[c]
	if p == nil {
		return
	}
	var r spec.Reply
	if spec.Decode(reply, &r, spec.MaxBodyBytes(spec.KindReply)) == nil {
		p.replies[r.Timestamp]++
	}
	if comp, ok, err := p.sess.HandleReply(reply); err == nil && ok {
		p.done = &comp
	}
}

// do sends one request to every replica (and again every 150 ticks) and runs until
// f+1 replicas agree on its results; it returns them and the request's bytes.
func (p *player) do(ops [][]byte) ([]spec.Result, []byte) {
	p.sc.t.Helper()
	raw, _, err := p.sess.Prepare(ops)
	if err != nil {
		p.sc.fatalf("player %d: %v", p.id, err)
	}
	p.done = nil
	next := uint64(0)
	p.sc.until("a player's request", func() bool {
		if p.done == nil && p.sc.s.Now() >= next {
			for r := range p.sc.s.N() {
				p.sc.s.InjectRequest(r, raw)
			}
			next = p.sc.s.Now() + 150
		}
		return p.done != nil
	}, 2_000_000)
	return p.done.Results, raw
}
