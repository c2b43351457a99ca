package gateway

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/splitbft/splitbft/broker/localnet"
	"github.com/splitbft/splitbft/client"
)

// benchConns is the number of concurrent connections (redis-benchmark -c) and of
// native clients: the same request shape on both paths.
const benchConns = 16

// BenchmarkRedisGateway measures, in one run (SPEC.md §16; issue 16's performance
// goals): redis-benchmark -t set,get against the gateway in front of an in-process
// 4-replica cluster, the native Go client path at equal request shape (benchConns
// clients, one operation per request, or 16 with -P 16), and a plain Debian
// redis-server, and reports the ratios. Run it with -benchtime 1x; it skips without
// redis-benchmark and redis-server.
func BenchmarkRedisGateway(b *testing.B) {
	bench, server := needTool(b, "redis-benchmark"), needTool(b, "redis-server")
	rs := startRedisServer(b, server)
	for _, p := range []int{1, 16} {
		b.Run(fmt.Sprintf("P=%d", p), func(b *testing.B) {
			n := 3000 * p
			cl, _, addr := startClusterN(b, -1, 4, benchConns)
			gw := benchRates(b, bench, "-p", portArg(addr), "-t", "set,get", "-n", strconv.Itoa(n), "-c", strconv.Itoa(benchConns), "-P", strconv.Itoa(p))
			native := nativeRates(b, cl, 4, p, n)
			plain := benchRates(b, bench, "-p", portArg(rs), "-t", "set,get", "-n", strconv.Itoa(n), "-c", strconv.Itoa(benchConns), "-P", strconv.Itoa(p))
			for _, k := range []string{"SET", "GET"} {
				b.ReportMetric(gw[k], k+"-gateway-ops/s")
				b.ReportMetric(native[k], k+"-native-ops/s")
				b.ReportMetric(gw[k]/native[k], k+"-gateway/native")
				b.ReportMetric(gw[k]/plain[k], k+"-gateway/redis-server")
			}
			b.Logf("P=%d: gateway SET %.0f GET %.0f; native SET %.0f GET %.0f; redis-server SET %.0f GET %.0f ops/s",
				p, gw["SET"], gw["GET"], native["SET"], native["GET"], plain["SET"], plain["GET"])
		})
	}
}

// nativeRates runs n puts then n gets through benchConns native clients (client
// identities from first on), ops per request, and returns operations per second.
func nativeRates(b *testing.B, cl *localnet.Cluster, first, ops, n int) map[string]float64 {
	out := map[string]float64{}
	for _, k := range []string{"SET", "GET"} {
		start := time.Now()
		var wg sync.WaitGroup
		per := n / benchConns / ops
		for c := range benchConns {
			wg.Go(func() {
				cli := cl.Client(first + c)
				for j := range per {
					req := make([][]byte, ops)
					for i := range req {
						key := []byte(fmt.Sprintf("key:%06d", (c*per+j)*ops+i))
						req[i] = client.GetOp(key)
						if k == "SET" {
							req[i] = client.PutOp(key, []byte("xxx"))
						}
					}
					if _, err := cli.Do(context.Background(), req); err != nil {
						b.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		out[k] = float64(per*benchConns*ops) / time.Since(start).Seconds()
	}
	return out
}

// startRedisServer runs a Debian redis-server without persistence on a free loopback
// port and returns its address once it accepts connections.
func startRedisServer(b *testing.B, bin string) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cmd := exec.Command(bin, "--port", portArg(addr), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no")
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	for deadline := time.Now().Add(10 * time.Second); ; {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return addr
		}
		if time.Now().After(deadline) {
			b.Fatalf("redis-server on %s did not start: %v", addr, err)
		}
		time.Sleep(20 * time.Millisecond) // polling for readiness of an external process
	}
}
