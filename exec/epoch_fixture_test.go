package exec_test

import (
	"crypto/ed25519"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/splitbft/splitbft/exec"
	"github.com/splitbft/splitbft/exec/kv"
	"github.com/splitbft/splitbft/spec"
)

// This file builds the inputs of epochs (SPEC.md §17) from the test's side: config
// operations sealed as client operations, attestations, votes and epoch changes signed
// with the exec keys the test re-derived, and fresh exec instances.

// configOpRequest seals op as the one operation of a request of cl at its next
// timestamp.
func (c *cluster) configOpRequest(cl *client, op *spec.ConfigOp) spec.Request {
	ts := cl.nextTS
	cl.nextTS++
	return c.request(cl, ts, c.sealOp(cl, ts, spec.Encode(op)))
}

// admitOp is the ConfigOp admitting the given admissions.
func admitOp(a ...spec.Admission) *spec.ConfigOp {
	return &spec.ConfigOp{Tag: spec.ConfigOpTag, Admit: a}
}

// attestation is exec r's attestation of body, signed under the current digest.
func (c *cluster) attestation(r uint64, body *spec.EnrollmentBody) spec.Attestation {
	b := spec.AttestationBody{Enrollment: spec.EnrollmentDigest(body), Replica: r}
	return spec.Attestation{Body: b, Sig: c.sign(c.execSig[r], spec.DomainAttest, &b)}
}

// admission returns the admission of enr with attestations of execs rs.
func (c *cluster) admission(enr spec.Enrollment, rs ...uint64) spec.Admission {
	a := spec.Admission{Enrollment: enr}
	for _, r := range rs {
		a.Attestations = append(a.Attestations, c.attestation(r, &enr.Body))
	}
	return a
}

// vote is exec r's EPOCH-VOTE for next, signed under the current digest.
func (c *cluster) vote(r uint64, next spec.Digest) spec.EpochVote {
	b := spec.EpochVoteBody{Next: next, Replica: r}
	return spec.EpochVote{Body: b, Sig: c.sign(c.execSig[r], spec.DomainEpochVote, &b)}
}

// epochChange is the EPOCH-CHANGE for next with the votes of execs rs.
func (c *cluster) epochChange(next *spec.Config, rs ...uint64) spec.EpochChange {
	ec := spec.EpochChange{Config: spec.Encode(next)}
	for _, r := range rs {
		ec.Votes = append(ec.Votes, c.vote(r, spec.ConfigDigest(next)))
	}
	return ec
}

// successor returns a copy of the current configuration as epoch cfg.Epoch+1 starting
// at (seq, state), with edit applied.
func (c *cluster) successor(seq uint64, state spec.Digest, edit func(*spec.Config)) *spec.Config {
	var next spec.Config
	mustDecode(c.t, c.cfgRaw, &next)
	next.Epoch, next.Prev, next.StartSeq, next.StartState = c.cfg.Epoch+1, c.cd, seq, state
	if edit != nil {
		edit(&next)
	}
	return &next
}

// freshExec starts a new exec instance for replica r (seeded by label), initialised
// with the current digest as challenge, and returns it with its enrollment.
func (c *cluster) freshExec(r, label uint64, opts ...exec.Option) (*exec.Exec, spec.Enrollment) {
	c.t.Helper()
	x := exec.New(execRand(c.seed, 1000+label), kv.New(), opts...)
	raw, err := x.Init(spec.Encode(&spec.InitRequest{Role: spec.RoleExec, Replica: r, Challenge: c.cd}))
	if err != nil {
		c.t.Fatalf("Init fresh exec: %v", err)
	}
	var enr spec.Enrollment
	mustDecode(c.t, raw, &enr)
	return x, enr
}

// enrollmentBody returns a well-formed body for role at replica r with fresh keys
// from rnd (no exec of the test holds them).
func enrollmentBody(rnd *rand.ChaCha8, role spec.Role, r uint64, build string) spec.EnrollmentBody {
	b := spec.EnrollmentBody{Role: role, Replica: r, Build: []byte(build)}
	b.SignKey = edPub(rnd)
	if role == spec.RoleExec {
		b.BoxKey = x25519Pub(readN(rnd, 32))
	}
	return b
}

// edPub returns a fresh Ed25519 public key from rnd.
func edPub(rnd *rand.ChaCha8) spec.PublicKey {
	var k spec.PublicKey
	copy(k[:], ed25519.NewKeyFromSeed(readN(rnd, 32)).Public().(ed25519.PublicKey))
	return k
}

// results returns the opened results of the replies among outs.
func (c *cluster) results(t testing.TB, outs []spec.Output) []spec.Result {
	t.Helper()
	var res []spec.Result
	for _, r := range c.replies(t, outs) {
		res = append(res, r.res)
	}
	return res
}

// wantResult requires exactly one reply among outs, with result want.
func (c *cluster) wantResult(t testing.TB, outs []spec.Output, want spec.Result) {
	t.Helper()
	res := c.results(t, outs)
	if len(res) != 1 || res[0].Status != want.Status || string(res[0].Value) != string(want.Value) {
		t.Fatalf("results %+v, want one %+v:%s", res, want, describe(outs))
	}
}

// rejected is the result of a config operation rejected with code.
func rejected(code uint64) spec.Result {
	return spec.Result{Status: spec.StatusRejected, Value: []byte(spec.CodeName(code))}
}

// accepted is the result of a config operation accepted for epoch.
func accepted(epoch uint64) spec.Result {
	return spec.Result{Status: spec.StatusOK, Value: []byte(strconv.FormatUint(epoch, 10))}
}
