package gateway

import (
	"fmt"
	"net"
	"strings"
	"sync/atomic"
)

// counters are the gateway's live counters.
type counters struct {
	open                                           atomic.Int64
	accepted, refused, commands, ordered, requests atomic.Uint64
	failed, protocolErrors, fastHits, fallbacks    atomic.Uint64
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
	FastHits       uint64 // pipelines of read-only commands answered by the fast read path
	Fallbacks      uint64 // such pipelines ordered because the fast read did not succeed
}

// Stats returns the current counters.
func (g *Gateway) Stats() Stats {
	s := &g.stats
	return Stats{Connections: int(s.open.Load()), Accepted: s.accepted.Load(), Refused: s.refused.Load(),
		Commands: s.commands.Load(), Ordered: s.ordered.Load(), Requests: s.requests.Load(),
		Failed: s.failed.Load(), ProtocolErrors: s.protocolErrors.Load(), FastHits: s.fastHits.Load(), Fallbacks: s.fallbacks.Load()}
}

// InfoPrefix starts every counter line of INFO's Stats section: "<prefix>name:value".
const InfoPrefix = "splitbft_gateway_"

// info renders the INFO reply: a server section and the counters.
func (s Stats) info() string {
	var b strings.Builder
	b.WriteString("# Server\r\nredis_version:" + ServerVersion + "\r\nredis_mode:standalone\r\nsplitbft_gateway:1\r\n")
	fmt.Fprintf(&b, "\r\n# Clients\r\nconnected_clients:%d\r\n\r\n# Stats\r\n", s.Connections)
	for _, kv := range []struct {
		k string
		v uint64
	}{{"connections", uint64(s.Connections)}, {"accepted", s.Accepted}, {"refused", s.Refused},
		{"commands", s.Commands}, {"ordered_ops", s.Ordered}, {"requests", s.Requests},
		{"failed", s.Failed}, {"protocol_errors", s.ProtocolErrors}, {"fast_read_hits", s.FastHits},
		{"fast_read_fallbacks", s.Fallbacks}} {
		fmt.Fprintf(&b, "%s%s:%d\r\n", InfoPrefix, kv.k, kv.v)
	}
	return b.String()
}

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
