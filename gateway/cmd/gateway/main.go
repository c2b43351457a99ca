// Command gateway runs the SplitBFT Redis gateway (SPEC.md §16) of one replica as its
// own process: it connects to the cluster as the client identities given, checks the
// configuration the replicas serve (f+1 identical copies, every enrollment's evidence),
// and serves RESP on a loopback address.
//
//	gateway --dir D --id I [--listen 127.0.0.1:PORT] [--clients 17,18] [--wait 60s] [--fast-reads=false]
//
// --listen and --clients default to the replica's "redis" and "gateway_clients" entries
// in D/cluster.json. `splitbft replica` starts it when the template asks for one.
//
// TRUSTED code: this is the binary meant to run inside its own enclave. This version
// implements the development mode of SPEC.md §16.2 only: client credentials come from
// the cluster directory and the port is plain TCP on loopback, with a loud warning.
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/splitbft/splitbft/gateway"
	"github.com/splitbft/splitbft/operator"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "gateway:", err)
		os.Exit(1)
	}
}

// flags are the command line.
type flags struct {
	dir, listen, clients string
	tlsCert              string // --tls-cert: serve TLS, write the certificate here
	id                   uint64
	wait                 time.Duration
	fast                 bool
}

func parse(args []string) (flags, error) {
	var f flags
	fs := flag.NewFlagSet("gateway", flag.ContinueOnError)
	fs.StringVar(&f.dir, "dir", "", "cluster directory (required)")
	fs.Uint64Var(&f.id, "id", 0, "replica id whose gateway entry to use")
	fs.StringVar(&f.listen, "listen", "", "RESP listen address (default: the replica's redis entry)")
	fs.StringVar(&f.clients, "clients", "", "comma-separated client ids (default: the replica's gateway_clients)")
	fs.DurationVar(&f.wait, "wait", time.Minute, "how long to wait for the cluster to form")
	fs.StringVar(&f.tlsCert, "tls-cert", "", "serve TLS 1.3 with a key generated at start, and write its certificate (PEM) to this file for clients to pin (redis-cli --tls --cacert FILE)")
	fs.BoolVar(&f.fast, "fast-reads", true, "answer read-only commands by the fast read path (SPEC.md §16.6); ordered writes then need 2f+1 matching replies")
	if err := fs.Parse(args); err != nil {
		return f, err
	}
	if f.dir == "" || fs.NArg() != 0 {
		return f, errors.New("usage: gateway --dir D --id I [--listen ADDR] [--clients IDS] [--wait DUR]")
	}
	return f, nil
}

func run(args []string) error {
	f, err := parse(args)
	if err != nil {
		return err
	}
	listen, ids, err := resolve(f)
	if err != nil {
		return err
	}
	if f.tlsCert == "" {
		if err := gateway.CheckDevAddress(listen); err != nil {
			return err
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	doers := make([]gateway.Doer, 0, len(ids))
	for _, id := range ids {
		kv, err := operator.Connect(ctx, operator.KVOptions{Dir: f.dir, ID: id, Wait: f.wait})
		if err != nil {
			return fmt.Errorf("client %d: %w", id, err)
		}
		defer kv.Close()
		doers = append(doers, kv)
	}
	l, err := listener(listen, f.tlsCert)
	if err != nil {
		return err
	}
	return serve(ctx, l, doers, doers[0].(*operator.KV), f.fast)
}

// resolve returns the listen address and client ids from the flags or the template.
func resolve(f flags) (string, []uint64, error) {
	t, err := operator.LoadTemplate(f.dir)
	if err != nil {
		return "", nil, err
	}
	if f.id >= t.N {
		return "", nil, fmt.Errorf("replica %d: the cluster has replicas 0..%d", f.id, t.N-1)
	}
	me := t.Replicas[f.id]
	listen, ids := me.Redis, me.GatewayClients
	if f.listen != "" {
		listen = f.listen
	}
	if f.clients != "" {
		ids = nil
		for _, s := range strings.Split(f.clients, ",") {
			id, err := strconv.ParseUint(strings.TrimSpace(s), 10, 64)
			if err != nil {
				return "", nil, fmt.Errorf("--clients: %q is not a client id", s)
			}
			ids = append(ids, id)
		}
	}
	if listen == "" || len(ids) == 0 {
		return "", nil, fmt.Errorf("replica %d has no gateway: give --listen and --clients, or set redis and gateway_clients in cluster.json", f.id)
	}
	return listen, ids, nil
}

// serve runs the gateway on listen until ctx ends.
func serve(ctx context.Context, l net.Listener, doers []gateway.Doer, first *operator.KV, fast bool) error {
	g, err := gateway.New(first.Config, doers, gateway.Options{FastReads: fast})
	if err != nil {
		l.Close()
		return err
	}
	fmt.Fprintf(os.Stderr, "gateway: serving RESP on %s for %d client identities (redis-cli -p %s)\n", l.Addr(), len(doers), portOf(l.Addr()))
	go func() {
		<-ctx.Done()
		g.Close()
	}()
	if err := g.Serve(l); !errors.Is(err, gateway.ErrClosed) {
		return err
	}
	return nil
}

func portOf(a net.Addr) string {
	_, p, _ := net.SplitHostPort(a.String())
	return p
}

// listener listens on addr: plain TCP (loopback only, with the development warning),
// or TLS under a key generated here, whose certificate goes to certFile.
func listener(addr, certFile string) (net.Listener, error) {
	if certFile == "" {
		fmt.Fprintln(os.Stderr, gateway.DevWarning)
		return net.Listen("tcp", addr)
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	id, err := gateway.NewTLSIdentity(rand.Reader, []string{host}, time.Now())
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(certFile, id.CertPEM(), 0o644); err != nil {
		return nil, err
	}
	fp := id.Fingerprint()
	fmt.Fprintf(os.Stderr, "gateway: TLS certificate (SHA-256 %x) written to %s\n", fp, certFile)
	fmt.Fprintln(os.Stderr, "WARNING: this gateway runs outside any enclave: its TLS key is not bound to an attestation (SPEC.md §16.2).")
	return id.Listen(addr)
}
