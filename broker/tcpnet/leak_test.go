package tcpnet_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/splitbft/splitbft/broker"
	"github.com/splitbft/splitbft/broker/tcpnet"
)

// TestRunStopsWithoutLeaks runs a cluster with clients and with idle connections that
// never say hello, cancels every host, and checks that each Run returns, that every
// goroutine the hosts and clients started has ended, and that the hosts refuse
// further use.
func TestRunStopsWithoutLeaks(t *testing.T) {
	base := runtime.NumGoroutine()
	f := newFixture(t, 8, 2, 0, 1, 2, 3)
	for i := range replicas {
		f.start(i)
	}
	if err := f.workload(2, 10, "leak"); err != nil {
		t.Fatal(err)
	}
	for _, addr := range []string{f.peerAddrs[0], f.clientAddrs[0]} {
		dialAs(t, addr, nil)
	}
	dialAs(t, f.peerAddrs[0], transportKey(2))
	dialAs(t, f.clientAddrs[0], clientKey(f.ids[0]))
	f.closeClients()
	for i := range replicas {
		f.stop(i)
	}
	nd := f.nodes[0]
	if err := nd.host.Query(context.Background(), func(*broker.Replica) {}); !errors.Is(err, tcpnet.ErrStopped) {
		t.Errorf("Query after Run returned: %v, want ErrStopped", err)
	}
	if err := nd.host.Run(context.Background(), nd.rep); !errors.Is(err, tcpnet.ErrRunning) {
		t.Errorf("second Run: %v, want ErrRunning", err)
	}
	eventually(t, 5*time.Second, fmt.Sprintf("the goroutine count to return to %d", base), func() (bool, string) {
		if n := runtime.NumGoroutine(); n > base {
			buf := make([]byte, 1<<20)
			return false, fmt.Sprintf("%d goroutines:\n%s", n, buf[:runtime.Stack(buf, true)])
		}
		return true, ""
	})
}
