package broker

import (
	"testing"

	"github.com/splitbft/splitbft/spec"
)

// releasingNet is a fakeNet that is a Releaser: it records how much of what was
// sent had been released.
type releasingNet struct {
	fakeNet
	releases int
	released int // len(sent) at the last Release
}

func (n *releasingNet) Release() { n.releases++; n.released = len(n.sent) }

// TestReleaseBeforeEachStep: a host that holds its writers' wake-ups (broker.Releaser,
// tcpnet) is told to release them before every Step call, so that what the broker
// queued before it (a forwarded request, the COMMITs conf emits) is on its way while
// the Step runs, not after the Flush.
func TestReleaseBeforeEachStep(t *testing.T) {
	h := newHarness(t, 1, Options{})
	rn := &releasingNet{}
	var encs [3]Enclave
	for role := range h.enc {
		encs[role] = h.enc[role]
	}
	h.r = NewReplica(1, h.w.cfg, encs, rn, Options{GateTicks: -1}) // one message at a time, as harnessIn
	confSaw := 0
	h.enc[spec.RoleConf].script = func(f *fakeEnclave, in spec.Input) []spec.Output {
		if in.Kind != spec.KindPrepare {
			return nil
		}
		confSaw++
		// The request forwarded to the primary in this Flush, before this Step.
		if len(rn.sent) == 0 || rn.released != len(rn.sent) {
			t.Errorf("conf stepped with %d of %d sent messages released", rn.released, len(rn.sent))
		}
		var p spec.Prepare
		if spec.Decode(in.Body, &p, spec.MaxBodyBytes(spec.KindPrepare)) != nil {
			return nil
		}
		c := spec.Commit{Body: spec.Slot{View: p.Body.View, Seq: p.Body.Seq, Digest: p.Body.Digest, Replica: 1}}
		return []spec.Output{{Kind: spec.KindCommit, To: spec.Destination{Roles: spec.ToExec, Replicas: []uint64{0, 1, 2, 3}}, Body: spec.Encode(&c)}}
	}
	execSaw := 0
	h.enc[spec.RoleExec].script = func(f *fakeEnclave, in spec.Input) []spec.Output {
		if in.Kind == spec.KindCommit {
			execSaw++
			if rn.released != len(rn.sent) || len(rn.sent) == 0 {
				t.Errorf("exec stepped with %d of %d sent messages released", rn.released, len(rn.sent))
			}
		}
		return nil
	}
	raw, _ := h.w.request(t, 0, 1)
	h.r.HandleClient(raw) // replica 1 is a backup: forwarded to primary 0 at the Flush's first cut
	h.peer(2, spec.KindPrepare, &spec.Prepare{Body: spec.Slot{Seq: 1, Replica: 2}})
	h.r.Flush()
	if confSaw != 1 || execSaw != 1 || len(rn.sent) != 4 {
		t.Fatalf("conf got %d PREPAREs, exec %d COMMITs, %d messages sent; want 1, 1 and 4 (the forward, COMMITs to 0, 2, 3)", confSaw, execSaw, len(rn.sent))
	}
	if steps := len(h.enc[spec.RoleConf].steps) + len(h.enc[spec.RoleExec].steps); rn.releases < steps {
		t.Errorf("%d releases for %d Step calls", rn.releases, steps)
	}
}
