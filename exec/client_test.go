package exec_test

import (
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
	"io"
	"testing"

	"golang.org/x/crypto/chacha20poly1305"
	"golang.org/x/crypto/curve25519"
	"golang.org/x/crypto/hkdf"

	"github.com/splitbft/splitbft/spec"
)

// This file is the test's own client side of SPEC.md §12 (request keys, sealing
// operations, opening replies), its own signing as fake prep and conf enclaves
// (§3.4), and its own state-chunk sealing from the group key. It is written from the
// spec independently of the package's seal.go.

func basepoint() []byte { return curve25519.Basepoint }

func mustX25519(priv, pub []byte) []byte {
	out, err := curve25519.X25519(priv, pub)
	if err != nil {
		panic(err)
	}
	return out
}

func kdf(secret, salt []byte, info ...[]byte) []byte {
	var all []byte
	for _, b := range info {
		all = append(all, b...)
	}
	out := make([]byte, 32)
	if _, err := io.ReadFull(hkdf.New(sha256.New, secret, salt, all), out); err != nil {
		panic(err)
	}
	return out
}

func xseal(key []byte, n spec.Nonce, plain, ad []byte) []byte {
	a, err := chacha20poly1305.NewX(key)
	if err != nil {
		panic(err)
	}
	return a.Seal(nil, n[:], plain, ad)
}

func xopen(key []byte, n spec.Nonce, ct, ad []byte) ([]byte, error) {
	a, err := chacha20poly1305.NewX(key)
	if err != nil {
		return nil, err
	}
	return a.Open(nil, n[:], ct, ad)
}

func cat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func (c *cluster) nonce() spec.Nonce {
	var n spec.Nonce
	copy(n[:], readN(c.nonces, 24))
	return n
}

// requestKey is requestKey(c) from the client side: X25519(client box private, G).
func (c *cluster) requestKey(cl *client) []byte {
	return kdf(mustX25519(cl.boxPriv, c.G[:]), c.cd[:], []byte("splitbft/v1/request-key"), spec.U64(cl.id))
}

// sealOp seals plaintext as the operation of cl with timestamp ts (§12.2).
func (c *cluster) sealOp(cl *client, ts uint64, plain []byte) spec.SealedOp {
	n := c.nonce()
	ad := cat([]byte("splitbft/v1/request-op"), []byte{0}, c.cd[:], spec.U64(cl.id), spec.U64(ts))
	return spec.SealedOp{Nonce: n, Ciphertext: xseal(c.requestKey(cl), n, plain, ad)}
}

// request builds cl's signed request at timestamp ts with the given sealed ops.
func (c *cluster) request(cl *client, ts uint64, ops ...spec.SealedOp) spec.Request {
	body := spec.RequestBody{Client: cl.id, Timestamp: ts, Ops: ops}
	var sig spec.Signature
	copy(sig[:], ed25519.Sign(cl.sign, spec.SignedBytes("splitbft/v1/request", c.cd, spec.Encode(&body))))
	return spec.Request{Body: body, Sig: sig}
}

// kvRequest seals kv ops for cl at its next timestamps and returns the request.
func (c *cluster) kvRequest(cl *client, ops ...spec.KVOp) spec.Request {
	ts := cl.nextTS
	sealed := make([]spec.SealedOp, len(ops))
	for j := range ops {
		sealed[j] = c.sealOp(cl, ts+uint64(j), spec.Encode(&ops[j]))
	}
	cl.nextTS += uint64(len(ops))
	return c.request(cl, ts, sealed...)
}

// openReply opens a reply as client cl would (§12.3): its plaintext is the results of
// the request's operations, in order.
func (c *cluster) openReply(cl *client, rep *spec.Reply) ([]spec.Result, error) {
	r := rep.Replica
	key := kdf(mustX25519(cl.boxPriv, c.enr[r].Body.BoxKey[:]), c.cd[:], []byte("splitbft/v1/reply-key"), spec.U64(cl.id), spec.U64(r))
	ad := cat([]byte("splitbft/v1/reply-results"), []byte{0}, c.cd[:], spec.U64(rep.Client), spec.U64(rep.Timestamp), spec.U64(r), spec.U64(rep.View))
	plain, err := xopen(key, rep.Nonce, rep.Ciphertext, ad)
	if err != nil {
		return nil, err
	}
	var res spec.ReplyResults
	if err := spec.Decode(plain, &res, spec.MaxBodyBytes(spec.KindReply)); err != nil {
		return nil, err
	}
	if len(res.Results) == 0 {
		return nil, fmt.Errorf("reply of client %d ts %d carries no result", rep.Client, rep.Timestamp)
	}
	return res.Results, nil
}

// repliedRequest is one reply opened by the test client: the results of one request.
type repliedRequest struct {
	rep     spec.Reply
	results []spec.Result
}

// replyLists decodes and opens every reply among outs, failing the test if one does
// not open for its client.
func (c *cluster) replyLists(t testing.TB, outs []spec.Output) []repliedRequest {
	t.Helper()
	var got []repliedRequest
	for _, o := range ofKind(outs, spec.KindReply) {
		if o.To.Roles != 0 || len(o.To.Replicas) != 0 {
			t.Fatalf("reply with a destination %+v", o.To)
		}
		var rep spec.Reply
		mustDecode(t, o.Body, &rep)
		cl := c.clientByID(rep.Client)
		if cl == nil {
			t.Fatalf("reply for unknown client %d", rep.Client)
		}
		res, err := c.openReply(cl, &rep)
		if err != nil {
			t.Fatalf("reply for client %d ts %d does not open: %v", rep.Client, rep.Timestamp, err)
		}
		got = append(got, repliedRequest{rep, res})
	}
	return got
}

// openedReply is one operation's result out of a reply opened by the test client;
// rep.Timestamp is the operation's (the request's plus its index).
type openedReply struct {
	rep spec.Reply
	res spec.Result
}

// replies opens every reply among outs, as replyLists, and lists their results one
// per operation, in order.
func (c *cluster) replies(t testing.TB, outs []spec.Output) []openedReply {
	t.Helper()
	var got []openedReply
	for _, l := range c.replyLists(t, outs) {
		first := l.rep.Timestamp + 1 - uint64(len(l.results)) // the reply carries the last operation's timestamp
		for j, res := range l.results {
			rep := l.rep
			rep.Timestamp = first + uint64(j)
			got = append(got, openedReply{rep, res})
		}
	}
	return got
}

func (c *cluster) clientByID(id uint64) *client {
	for _, cl := range c.clients {
		if cl.id == id {
			return cl
		}
	}
	return nil
}

// sign signs body under domain with key k (§3.4).
func (c *cluster) sign(k ed25519.PrivateKey, domain string, body any) spec.Signature {
	var sig spec.Signature
	copy(sig[:], ed25519.Sign(k, spec.SignedBytes(domain, c.cd, spec.Encode(body))))
	return sig
}

// commit returns conf r's signed COMMIT for (view, seq, d).
func (c *cluster) commit(r, view, seq uint64, d spec.Digest) spec.Commit {
	s := spec.Slot{View: view, Seq: seq, Digest: d, Replica: r}
	return spec.Commit{Body: s, Sig: c.sign(c.conf[r], "splitbft/v1/commit", &s)}
}

// commitInputs returns the COMMITs of confs 0..q−1 for (view, seq, d).
func (c *cluster) commitInputs(view, seq uint64, d spec.Digest) []spec.Input {
	var ins []spec.Input
	for r := uint64(0); r < 2*c.p.f+1; r++ {
		cm := c.commit(r, view, seq, d)
		ins = append(ins, in(spec.KindCommit, &cm))
	}
	return ins
}

// checkpointMsg returns exec r's signed CHECKPOINT, signed with the key re-derived
// from its stream.
func (c *cluster) checkpointMsg(r, seq uint64, state spec.Digest) spec.Checkpoint {
	b := spec.CheckpointBody{Seq: seq, State: state, Replica: r}
	return spec.Checkpoint{Body: b, Sig: c.sign(c.execSig[r], "splitbft/v1/checkpoint", &b)}
}

// stateKey derives the state-chunk key from the group private key (§12.4).
func (c *cluster) stateKey() []byte { return kdf(c.g, c.cd[:], []byte("splitbft/v1/state-key")) }

// sealChunk seals plain as chunk index of a snapshot transfer (§12.4).
func (c *cluster) sealChunk(seq uint64, state spec.Digest, index, count, size uint64, plain []byte) spec.StateChunk {
	n := c.nonce()
	ad := cat([]byte("splitbft/v1/state-chunk"), []byte{0}, c.cd[:], spec.U64(seq), state[:], spec.U64(index), spec.U64(count), spec.U64(size))
	return spec.StateChunk{Seq: seq, State: state, Index: index, Count: count, Size: size, Nonce: n, Ciphertext: xseal(c.stateKey(), n, plain, ad)}
}

// batchInput returns the batch input and its digest.
func batchInput(reqs ...spec.Request) (spec.Input, spec.Digest) {
	b := spec.Batch{Requests: reqs}
	return in(spec.KindBatch, &b), spec.BatchDigest(&b)
}

// order delivers a batch and q commits for it at seq (view 0) to exec i in one step.
func (c *cluster) order(i, seq uint64, reqs ...spec.Request) []spec.Output {
	c.t.Helper()
	bi, d := batchInput(reqs...)
	return c.step(i, append([]spec.Input{bi}, c.commitInputs(0, seq, d)...)...)
}

func put(k, v string) spec.KVOp { return spec.KVOp{Op: spec.KVPut, Key: []byte(k), Value: []byte(v)} }
func get(k string) spec.KVOp    { return spec.KVOp{Op: spec.KVGet, Key: []byte(k)} }
func del(k string) spec.KVOp    { return spec.KVOp{Op: spec.KVDelete, Key: []byte(k)} }
func casAbsent(k, v string) spec.KVOp {
	return spec.KVOp{Op: spec.KVCAS, Key: []byte(k), Value: []byte(v), Absent: true}
}
