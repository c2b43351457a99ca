package localnet_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"sync"
	"testing"
	"time"

	"github.com/splitbft/splitbft/broker"
	"github.com/splitbft/splitbft/broker/localnet"
	"github.com/splitbft/splitbft/client"
	"github.com/splitbft/splitbft/internal/builds"
	"github.com/splitbft/splitbft/internal/edcrypto"
	"github.com/splitbft/splitbft/internal/stdcrypto"
)

// spread makes the benchmark's clients start at replica i mod n instead of at the
// primary: then three requests in four reach a backup, whose broker verifies the
// client's signature before forwarding (SPEC §13.3 obligation 5).
var spread = flag.Bool("cluster.spread", false, "BenchmarkCluster: clients start at replica i mod n, not at the primary")

// mixed is the diversity matrix of the benchmark: (prep, conf) = (a,a), (a,b), (b,a), (b,b).
func mixed() []localnet.Builds {
	var out []localnet.Builds
	for _, pc := range [][2]string{{"a", "a"}, {"a", "b"}, {"b", "a"}, {"b", "b"}} {
		t := builds.Trio(pc[0], pc[1])
		out = append(out, localnet.Builds{Prep: localnet.Factory(t[0]), Conf: localnet.Factory(t[1]), Exec: localnet.Factory(t[2])})
	}
	return out
}

// BenchmarkCluster measures the in-process 4-replica mixed cluster under 64 clients
// writing 10-byte values, batches of up to 200 requests, for signed requests of 1 and
// of 16 operations. In the same run it measures one Ed25519 verification on each crypto
// stack and reports the ratio of the measured throughput to the bound that client
// signature verification alone sets (every request is verified by the n preps, spread
// over the machine's cores), and the share of CPU time spent inside each compartment
// (from a CPU profile labelled per Step call) and in the host (brokers, network,
// clients, runtime), and the clients' part of the host's (cpu-client). Clients send to the primary, as tcpnet's ClientConn does (see
// -cluster.spread); each client's first request, which derives its keys, is not
// timed. With CLUSTER_CPUPROFILE=path set, the profile of each request
// shape is written to path.ops1 and path.ops16.
func BenchmarkCluster(b *testing.B) {
	verifyNs := measureVerify()
	for _, ops := range []int{1, 16} {
		b.Run(fmt.Sprintf("ops=%d", ops), func(b *testing.B) { benchCluster(b, ops, verifyNs) })
	}
}

func benchCluster(b *testing.B, ops int, verifyNs float64) {
	const clients = 64
	cl, err := localnet.Start(localnet.Options{Replicas: mixed(), Clients: clients, ClientsToPrimary: !*spread,
		Setup:  broker.Setup{Name: "bench", MaxBatchRequests: 200, MaxRequestOps: 16},
		Client: client.Options{Timeout: time.Minute}})
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Stop()
	// One request per client before the clock starts: the first request of a client
	// derives its keys in every exec and in the client (two X25519 each), a one-time
	// cost that would otherwise weigh on the short runs the 16-operation shape gets.
	runRequests(b, cl, clients, ops)
	requests := max(b.N/ops, clients)
	var prof bytes.Buffer
	b.ResetTimer()
	if err := pprof.StartCPUProfile(&prof); err != nil {
		b.Fatal(err)
	}
	before, err := cl.Metrics(0) // replica 0 is the primary: it cuts every batch
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	runRequests(b, cl, requests, ops)
	elapsed := time.Since(start)
	pprof.StopCPUProfile()
	b.StopTimer()
	if path := os.Getenv("CLUSTER_CPUPROFILE"); path != "" { // for go tool pprof; -cpuprofile would clash
		if err := os.WriteFile(fmt.Sprintf("%s.ops%d", path, ops), prof.Bytes(), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	shares, err := labelShares(&prof)
	if err != nil {
		b.Fatal(err)
	}
	opsPerSec := float64(requests*ops) / elapsed.Seconds()
	bound := float64(runtime.NumCPU()) * 1e9 / (float64(cl.N()) * verifyNs) * float64(ops)
	b.ReportMetric(opsPerSec, "ops/s")
	b.ReportMetric(verifyNs, "verify-ns")
	b.ReportMetric(bound, "bound-ops/s")
	b.ReportMetric(opsPerSec/bound, "of-bound")
	if after, err := cl.Metrics(0); err == nil && after.Batches > before.Batches {
		b.ReportMetric(float64(after.Requests-before.Requests)/float64(after.Batches-before.Batches), "batch-reqs")
	}
	for _, k := range []string{"prep", "conf", "exec", "host", "client"} {
		b.ReportMetric(shares[k], "cpu-"+k)
	}
}

// runRequests has every client issue its share of requests, each of ops puts.
func runRequests(b *testing.B, cl *localnet.Cluster, requests, ops int) {
	var wg sync.WaitGroup
	per := requests / cl.Clients()
	for i := range cl.Clients() {
		wg.Add(1)
		go pprof.Do(context.Background(), clientLabel, func(context.Context) {
			defer wg.Done()
			c := cl.Client(i)
			keys := make([][]byte, ops) // the workload's own formatting, kept out of the per-op figures
			for k := range keys {
				keys[k] = fmt.Appendf(nil, "c%d/k%d", i, k)
			}
			for j := range per {
				req := make([][]byte, ops)
				for k := range req {
					req[k] = client.PutOp(keys[k], fmt.Appendf(nil, "v%09d", j))
				}
				if _, err := c.Do(context.Background(), req); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// clientLabel marks the benchmark's client goroutines in the CPU profile, so that
// the host's share splits into the clients' (signing requests, opening replies) and
// the rest (brokers, network, runtime).
var clientLabel = pprof.Labels("bench", "client")

// measureVerify returns the mean cost in ns of one Ed25519 verification of a
// request-sized message, averaged over the two crypto stacks (the benchmark cluster
// runs two replicas of each).
func measureVerify() float64 {
	seed := bytes.Repeat([]byte{7}, 32)
	msg := bytes.Repeat([]byte{1}, 160)
	sa, _ := stdcrypto.NewSigner(seed)
	sb, _ := edcrypto.NewKey(seed)
	pa, pb := sa.Public(), sb.Public()
	siga, sigb := sa.Sign(msg), sb.Sign(msg)
	const n = 2000
	start := time.Now()
	for range n {
		if !stdcrypto.Verify(pa[:], msg, siga[:]) || !edcrypto.Verify(pb[:], msg, sigb[:]) {
			panic("benchmark signature does not verify")
		}
	}
	return float64(time.Since(start).Nanoseconds()) / (2 * n)
}
