package gateway

import (
	"fmt"
	"net"
	"sync/atomic"
)

// counters are the gateway's live counters.
type counters struct {
	open                                           atomic.Int64
	accepted, refused, commands, ordered, requests atomic.Uint64
	failed, protocolErrors                         atomic.Uint64
}

// Stats is a snapshot of a gateway's counters, for status and metrics. All but
// Connections are monotonic.
type Stats struct {
	Connections    int    // open now
	Accepted       uint64 // connections accepted
	Refused        uint64 // connections refused: MaxConns were open
	Commands       uint64 // commands parsed (local and ordered)
	Ordered        uint64 // operations sent to the cluster
	Requests       uint64 // signed requests sent (pipelines joined into one request count once)
	Failed         uint64 // requests that did not complete in time
	ProtocolErrors uint64 // connections closed for malformed RESP
}

// Stats returns the current counters.
func (g *Gateway) Stats() Stats {
	s := &g.stats
	return Stats{Connections: int(s.open.Load()), Accepted: s.accepted.Load(), Refused: s.refused.Load(),
		Commands: s.commands.Load(), Ordered: s.ordered.Load(), Requests: s.requests.Load(),
		Failed: s.failed.Load(), ProtocolErrors: s.protocolErrors.Load()}
}

func itoa(n int) string { return fmt.Sprint(n) }

// DevWarning is printed by a host that serves plain TCP (SPEC.md §16.2).
const DevWarning = "WARNING: the SplitBFT Redis gateway serves plain TCP on loopback: no TLS, no TEE " +
	"protection, no attestation a client could check. For development only."

// CheckDevAddress returns an error unless addr ("host:port") names a loopback host,
// the only place plain TCP is allowed (SPEC.md §16.2).
func CheckDevAddress(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("gateway: address %q: %w", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("gateway: plain TCP is allowed on a loopback address only, not %q (SPEC.md §16.2)", addr)
	}
	return nil
}
