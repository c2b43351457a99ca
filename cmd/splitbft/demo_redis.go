package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/splitbft/splitbft/broker"
	"github.com/splitbft/splitbft/broker/localnet"
	"github.com/splitbft/splitbft/client"
	"github.com/splitbft/splitbft/gateway"
)

// gatewayIdentities is the number of client identities each demo gateway holds.
const gatewayIdentities = 4

// redisDemo runs the in-process cluster with one Redis gateway per replica (SPEC.md
// §16) on loopback and prints the ports, until interrupted.
func redisDemo(assign [][2]string, fl *demoFlags, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return serveRedisDemo(ctx, assign, fl, stdout, stderr, nil)
}

// serveRedisDemo is redisDemo until ctx ends; ready, if set, gets the gateways'
// addresses once they listen.
func serveRedisDemo(ctx context.Context, assign [][2]string, fl *demoFlags, stdout, stderr io.Writer, ready func([]string)) int {
	n := len(assign)
	cl, err := localnet.Start(localnet.Options{
		Replicas: replicaBuilds(assign), Clients: n * gatewayIdentities,
		Setup: broker.Setup{Name: "demo", F: uint64(fl.f), K: uint64(fl.k), L: uint64(fl.l), MaxBatchRequests: uint64(fl.batch),
			MaxRequestOps: 64, MaxOpBytes: 32 << 10},
		Client: client.Options{Timeout: 30 * time.Second},
	})
	if err != nil {
		fmt.Fprintf(stderr, "splitbft demo: starting the cluster: %v\n", err)
		return 1
	}
	defer cl.Stop()
	fmt.Fprintln(stderr, gateway.DevWarning)
	var addrs []string
	for i := range n {
		g, addr, err := startDemoGateway(cl, i, fl.redisPort)
		if err != nil {
			fmt.Fprintf(stderr, "splitbft demo: gateway of replica %d: %v\n", i, err)
			return 1
		}
		defer g.Close()
		_, port, _ := net.SplitHostPort(addr)
		fmt.Fprintf(stdout, "replica %d: Redis gateway on %s    redis-cli -p %s\n", i, addr, port)
		addrs = append(addrs, addr)
	}
	fmt.Fprintln(stdout, "serving until interrupted (Ctrl-C)")
	if ready != nil {
		ready(addrs)
	}
	<-ctx.Done()
	return 0
}

// startDemoGateway serves replica i's gateway over its share of the cluster's clients.
func startDemoGateway(cl *localnet.Cluster, i, basePort int) (*gateway.Gateway, string, error) {
	doers := make([]gateway.Doer, gatewayIdentities)
	for k := range doers {
		doers[k] = cl.Client(i*gatewayIdentities + k)
	}
	g, err := gateway.New(cl.Config, doers, gateway.Options{FastReads: true})
	if err != nil {
		return nil, "", err
	}
	port := 0
	if basePort != 0 {
		port = basePort + i
	}
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		g.Close()
		return nil, "", err
	}
	go func() { _ = g.Serve(l) }()
	return g, l.Addr().String(), nil
}
