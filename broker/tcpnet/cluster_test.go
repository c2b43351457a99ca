package tcpnet_test

import (
	"fmt"
	"testing"
	"time"
)

// agree waits until the execs of the given replicas report the same last executed
// batch, at least min.
func (f *fixture) agree(t *testing.T, min uint64, ids ...int) {
	t.Helper()
	eventually(t, 8*time.Second, fmt.Sprintf("replicas %v to execute up to the same batch ≥ %d", ids, min), func() (bool, string) {
		lasts := make([]uint64, len(ids))
		for k, i := range ids {
			lasts[k] = f.execLast(i)
		}
		for _, l := range lasts {
			if l != lasts[0] || l < min {
				return false, fmt.Sprintf("exec Last per replica %v", lasts)
			}
		}
		return true, ""
	})
}

// TestClusterOverTCP runs a 4-replica cluster over loopback TCP with in-process
// compartments and completes 320 client requests (8 clients × 40; 128 under -race)
// through client.Client over DialClient; every get returns the value just put, the
// replicas agree on the last executed batch, and no connection carried garbage.
func TestClusterOverTCP(t *testing.T) {
	f := newFixture(t, 1, 8, 0, 1, 2, 3)
	for i := range replicas {
		f.start(i)
	}
	perClient := 40
	if raceEnabled {
		perClient = 16
	}
	if err := f.workload(8, perClient, "main"); err != nil {
		t.Fatal(err)
	}
	f.agree(t, 1, 0, 1, 2, 3)
	for i, nd := range f.nodes {
		st := nd.host.Stats()
		if st.BadHellos != 0 || st.Clients.Garbage != 0 {
			t.Errorf("replica %d: %d bad hellos, %d client garbage", i, st.BadHellos, st.Clients.Garbage)
		}
		for j, p := range st.Peers {
			if j == i {
				continue
			}
			if p.Garbage != 0 || p.Received == 0 || p.Sent == 0 || p.Connects == 0 {
				t.Errorf("replica %d peer %d: %+v", i, j, p)
			}
		}
		if m := f.metrics(i); m.Garbage != 0 || m.BadRequests != 0 {
			t.Errorf("replica %d broker: garbage %d, bad requests %d", i, m.Garbage, m.BadRequests)
		}
	}
	var requests uint64
	for _, nd := range f.nodes {
		requests += nd.host.Stats().Clients.Requests
	}
	if requests < uint64(8*perClient) {
		t.Errorf("front ends handed %d requests to the replicas, want ≥ %d", requests, 8*perClient)
	}
}

// TestLatePeerIsReached starts replica 3 after the others have served requests: the
// others' dials to it fail until it listens, then connect; replica 3 hears from every
// peer, catches up, and the cluster carries on with all four.
func TestLatePeerIsReached(t *testing.T) {
	f := newFixture(t, 2, 2, 0, 1, 2)
	for i := range 3 {
		f.start(i)
	}
	if err := f.workload(2, 20, "before"); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "dials to the absent replica 3 to fail", func() (bool, string) {
		st := f.nodes[0].host.Stats().Peers[3]
		return st.DialErrors > 0 && !st.Connected, fmt.Sprintf("%+v", st)
	})
	f.start(3)
	eventually(t, 5*time.Second, "every replica to connect to replica 3 and replica 3 to hear from every peer", func() (bool, string) {
		for i := range 3 {
			if st := f.nodes[i].host.Stats().Peers[3]; !st.Connected || st.Connects == 0 {
				return false, fmt.Sprintf("replica %d's link to 3: %+v", i, st)
			}
			if st := f.nodes[3].host.Stats().Peers[i]; st.Received == 0 || !st.Connected {
				return false, fmt.Sprintf("replica 3's link to %d: %+v", i, st)
			}
		}
		return true, ""
	})
	if err := f.workload(2, 20, "after"); err != nil {
		t.Fatal(err)
	}
	f.agree(t, 1, 0, 1, 2, 3)
	eventually(t, 5*time.Second, "the clients to connect to replica 3's front end", func() (bool, string) {
		return f.nodes[3].host.Stats().Clients.Conns == 2, fmt.Sprintf("%+v", f.nodes[3].host.Stats().Clients)
	})
}
