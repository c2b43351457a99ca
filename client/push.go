package client

import (
	"context"

	"github.com/splitbft/splitbft/spec"
)

// Pushed epoch changes (SPEC.md §13.2 kind 5, §17.7): a broker that adopts an epoch
// change pushes it to its clients, so that a request in flight, signed under the old
// digest and dropped by every broker, is re-signed and sent again at once instead of
// at the next retransmission. A push is only a hint: the client follows it only if it
// verifies (EC1–EC4) from the configuration it holds.

// EpochSource is optionally implemented by a Transport: EpochChanges yields the epoch
// changes brokers pushed, each enc(spec.EpochChange) as received, unverified. The
// channel must be bounded (a full one drops) and is never closed while the client
// uses it.
type EpochSource interface {
	EpochChanges() <-chan []byte
}

// pushes returns the transport's epoch channel, or nil (never ready) without one.
func (c *Client) pushes() <-chan []byte {
	if p, ok := c.t.(EpochSource); ok {
		return p.EpochChanges()
	}
	return nil
}

// IgnoredEpochs returns the number of pushed epoch changes ignored: malformed, not
// after the session's configuration, or not verifying from it.
func (c *Client) IgnoredEpochs() uint64 { return c.ignored.Load() }

// drainPushes follows the epoch changes pushed while no request was outstanding, so
// that the next request is signed for the cluster's current configuration.
func (c *Client) drainPushes(ctx context.Context) {
	for asked := false; ; {
		select {
		case raw := <-c.pushes():
			c.onPush(ctx, raw, &asked)
		default:
			return
		}
	}
}

// onPush takes one pushed chain step (an epoch change or a recovery, SPEC.md §17.8) and reports whether the session moved. The
// next epoch's change is verified and followed; one for a later epoch means the
// client is behind by more than one: it asks Options.Chain, at most once while
// *asked is false (a faulty broker's pushes cost at most one chain fetch per
// retransmission period). Anything else is ignored and changes nothing.
func (c *Client) onPush(ctx context.Context, raw []byte, asked *bool) bool {
	var st spec.Step
	var next spec.Config
	if spec.Decode(raw, &st, spec.MaxBodyBytes(spec.KindRecovery)) != nil ||
		spec.Decode(st.ConfigBytes(), &next, spec.MaxMessageBytes) != nil || next.Epoch <= c.s.cfg.Epoch {
		c.ignored.Add(1)
		return false
	}
	if next.Epoch > c.s.cfg.Epoch+1 {
		if *asked {
			c.ignored.Add(1)
			return false
		}
		*asked = true
		return c.followChain(ctx)
	}
	if moved, err := c.s.Follow([]spec.Step{st}, c.opt.Admit); err != nil || !moved {
		c.ignored.Add(1)
		return false
	}
	c.epochs.Add(1)
	return true
}

// resendPushed handles a push during a request: when the session moved, the
// outstanding request, re-signed under the new digest with the same timestamps, is
// sent again at once (to the preferred replica: no replica failed). It returns the
// request as it is now.
func (c *Client) resendPushed(ctx context.Context, raw, req []byte, asked *bool) []byte {
	if !c.onPush(ctx, raw, asked) {
		return req
	}
	out, _, ok := c.s.Outstanding()
	if !ok {
		return req
	}
	_ = c.t.Send(out) // a failed send is retried at the next retransmission
	return out
}
