package operator

import (
	"net"
	"net/netip"
	"strings"
)

// ReplicasOnHost returns how many replicas of t listen on the same host as replica
// id (by the host of their peer address; every loopback or unspecified address is
// this host), counting id itself; 1 if id is not in t.
func ReplicasOnHost(t *Template, id uint64) int {
	if id >= uint64(len(t.Replicas)) {
		return 1
	}
	mine := hostKey(t.Replicas[id].Peer)
	n := 0
	for _, r := range t.Replicas {
		if hostKey(r.Peer) == mine {
			n++
		}
	}
	return max(n, 1)
}

// hostKey names the host of a host:port address: "local" for every loopback or
// unspecified address, an empty host and localhost, the host name without case or a
// trailing dot otherwise.
func hostKey(addr string) string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if host == "" || host == "localhost" {
		return "local"
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		if ip.IsLoopback() || ip.IsUnspecified() {
			return "local"
		}
		return ip.Unmap().String()
	}
	return host
}

// SchedulerProcs is the number of Go scheduler Ps for a broker whose host has cpus
// CPUs shared by replicas replicas: its share of the CPUs, at least one. A Go process
// with more Ps than the CPUs it gets spends them spinning between short bursts of
// work (each P looks for work on the others' run queues before it sleeps), which on
// a host running several replicas costs CPU every replica needs; one replica per host
// keeps every CPU.
func SchedulerProcs(cpus, replicas int) int {
	return max(1, cpus/max(replicas, 1))
}
