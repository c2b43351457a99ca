package broker

import (
	"github.com/splitbft/splitbft/spec"
)

// Re-sending group key shares (SPEC.md §17.4 step 3, §13.2): an exec deals a share
// for a newly admitted exec once, when it adopts the epoch change; the peer wire may
// lose it. So the broker keeps the last share its exec dealt for each replica's exec,
// and re-sends it while that replica's hints say it is in this epoch with a fresh exec
// still waiting for a share (Hint.ShareWait), at most once per RetransmitTicks. A
// peer that lies in its hints costs one share message per period.

// dealtShare is the last group key share the local exec dealt for one replica's exec.
type dealtShare struct {
	recipient spec.PublicKey // the recipient exec's box key
	msg       []byte         // the PeerMsg (kind share) carrying it
	at        uint64         // the tick before which it is not re-sent
}

// keepDealt remembers the share message msg dealt for replica j's exec recipient.
func (r *Replica) keepDealt(j uint64, recipient spec.PublicKey, msg []byte) {
	if r.dealt == nil {
		r.dealt = make([]dealtShare, r.cfg.N)
	}
	r.dealt[j] = dealtShare{recipient: recipient, msg: msg, at: r.now + uint64(r.opt.RetransmitTicks)}
}

// resendShare re-sends peer p the share the local exec dealt for its exec, if p's
// hint h says its fresh exec waits for one in this epoch and that exec is p's exec
// in the current configuration.
func (r *Replica) resendShare(p uint64, h *Hint) {
	if !h.ShareWait || h.Epoch != r.cfg.Epoch || r.dealt == nil {
		return
	}
	d := &r.dealt[p]
	if d.msg == nil || d.recipient != r.cfg.Replicas[p].Exec.Body.BoxKey || r.now < d.at {
		return
	}
	d.at = r.now + uint64(r.opt.RetransmitTicks)
	r.m.ShareResends++
	r.sendPeer(p, d.msg)
}

// waitingShare reports whether a fresh exec of this replica is installed and waits
// for its group key share (the Hint's ShareWait).
func (r *Replica) waitingShare() bool {
	return r.adm != nil && r.adm.exec != nil && !r.adm.trying
}
