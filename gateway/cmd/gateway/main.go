// Command gateway runs the SplitBFT Redis gateway (SPEC.md §16) of one replica as its
// own process. At start it generates, inside itself, its client identities and its TLS
// key, and writes its attested enrollment (SPEC.md §16.2) to stdout as one frame
// (SPEC.md §7.5, Op result, Body enc(GatewayAttestation)) for its replica to publish
// at formation; then it waits until the configuration that the replicas' chain reaches
// registers its identities (at formation; or, for a gateway started again, once the
// governance members re-admit it, SPEC.md §16.2), connects to the cluster as them, and
// serves RESP. Its sessions
// follow the configuration chain as every client does (SPEC.md §17.7): the epoch
// changes the brokers push, and, when one missed steps, the longest run of steps
// that verifies from its configuration among the replicas' GET /chain answers.
//
//	gateway (--dir D | --cluster-stdin) --id I [--listen ADDR] [--tls] [--tls-cert FILE] [--wait 10m] [--fast-reads=false]
//
// --listen defaults to the replica's "redis" entry in cluster.json; the client ids
// are the replica's "gateway_clients". `splitbft replica` starts it when the template
// asks for one, passing cluster.json on stdin, so that the gateway opens no file (as
// in an enclave without mounts). Without --tls the gateway serves plain TCP on
// loopback only, with a loud warning (development); with it, TLS 1.3 under the
// attested key (--tls-cert also writes the certificate to a file).
//
// TRUSTED code: this is the binary meant to run inside its own enclave. It does not
// link package operator (internal/repocheck checks).
package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/splitbft/splitbft/attest"
	"github.com/splitbft/splitbft/broker"
	"github.com/splitbft/splitbft/broker/tcpnet"
	"github.com/splitbft/splitbft/client"
	"github.com/splitbft/splitbft/gateway"
	"github.com/splitbft/splitbft/spec"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "gateway:", err)
		os.Exit(1)
	}
}

// flags are the command line.
type flags struct {
	dir, listen string
	stdin       bool   // --cluster-stdin: read cluster.json from stdin
	tls         bool   // --tls: serve TLS under the attested key
	tlsCert     string // --tls-cert: with --tls, also write the certificate here
	id          uint64
	wait        time.Duration
	fast        bool
}

func parse(args []string) (flags, error) {
	var f flags
	fs := flag.NewFlagSet("gateway", flag.ContinueOnError)
	fs.StringVar(&f.dir, "dir", "", "cluster directory (its cluster.json)")
	fs.BoolVar(&f.stdin, "cluster-stdin", false, "read cluster.json from stdin instead of --dir")
	fs.BoolVar(&f.tls, "tls", false, "serve TLS 1.3 under the attested key (check and pin its certificate with `splitbft gateway verify`)")
	fs.Uint64Var(&f.id, "id", 0, "replica id whose gateway entry to use")
	fs.StringVar(&f.listen, "listen", "", "RESP listen address (default: the replica's redis entry)")
	fs.DurationVar(&f.wait, "wait", 10*time.Minute, "how long to wait for the cluster to form")
	fs.StringVar(&f.tlsCert, "tls-cert", "", "with --tls, also write the certificate (PEM) to this file (pin the one `splitbft gateway verify` writes)")
	fs.BoolVar(&f.fast, "fast-reads", true, "answer read-only commands by the fast read path (SPEC.md §16.6); ordered writes then need 2f+1 matching replies")
	if err := fs.Parse(args); err != nil {
		return f, err
	}
	if (f.dir == "") == !f.stdin || fs.NArg() != 0 || (f.tlsCert != "" && !f.tls) {
		return f, errors.New("usage: gateway (--dir D | --cluster-stdin) --id I [--listen ADDR] [--tls [--tls-cert FILE]] [--wait DUR]")
	}
	return f, nil
}

func run(args []string) error {
	f, err := parse(args)
	if err != nil {
		return err
	}
	cl, listen, ids, err := resolve(f)
	if err != nil {
		return err
	}
	if !f.tls {
		if err := gateway.CheckDevAddress(listen); err != nil {
			return err
		}
	}
	e, enclave, err := enroll(f.id, listen, ids)
	if err != nil {
		return err
	}
	// Bind the port first, so that a conflict fails at once, before the replica
	// registers identities that would then serve nobody.
	l, err := listener(listen, f.tls, f.tlsCert, e.TLS)
	if err != nil {
		return err
	}
	defer l.Close()
	if err := spec.WriteFrame(os.Stdout, &spec.Frame{Op: spec.FrameResult, Body: spec.Encode(&e.Attestation)}); err != nil {
		return fmt.Errorf("publishing the enrollment: %w", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg, err := waitConfig(ctx, cl, f.id, &e.Attestation.Enrollment, enclave, f.wait, os.Stderr)
	if err != nil {
		return err
	}
	doers, closeAll, err := connect(ctx, cl, cfg, e.Identities)
	if err != nil {
		return err
	}
	defer closeAll()
	return serve(ctx, l, cfg, doers, f.fast)
}

// resolve returns the cluster, the listen address and the client ids.
func resolve(f flags) (*cluster, string, []uint64, error) {
	cl, err := loadCluster(f.dir, os.Stdin)
	if err != nil {
		return nil, "", nil, err
	}
	if f.id >= cl.N {
		return nil, "", nil, fmt.Errorf("replica %d: the cluster has replicas 0..%d", f.id, cl.N-1)
	}
	me := cl.Replicas[f.id]
	listen := me.Redis
	if f.listen != "" {
		listen = f.listen
	}
	if listen == "" || len(me.GatewayClients) == 0 {
		return nil, "", nil, fmt.Errorf("replica %d has no gateway: set redis and gateway_clients in cluster.json", f.id)
	}
	return cl, listen, me.GatewayClients, nil
}

// enroll generates the identities and the TLS key and attests them; enclave reports
// whether the evidence is a TEE's.
func enroll(replica uint64, listen string, ids []uint64) (*gateway.Enrolled, bool, error) {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return nil, false, err
	}
	a := attest.SelfAttester()
	e, err := gateway.Enroll(rand.Reader, replica, ids, []string{host}, time.Now(), a)
	if err != nil {
		return nil, false, err
	}
	enclave := e.Attestation.Evidence.Format != spec.EvidenceDevInsecure
	if !enclave {
		why := "this is not an enclave build"
		if d, ok := a.(attest.DevInsecure); ok && d.Why != "" {
			why = d.Why
		}
		fmt.Fprintf(os.Stderr, "gateway: WARNING: %s; the gateway's enrollment carries dev-insecure evidence (NO TEE protection)\n", why)
	}
	return e, enclave, nil
}

// connect dials the replicas' client ports for all identities over shared
// connections (one per replica for every tcpnet.MaxClientsPerDial identities, the
// others attached to it, SPEC §13.2) and returns a client for each.
func connect(ctx context.Context, cl *cluster, cfg *spec.Config, ids []client.Identity) ([]gateway.Doer, func(), error) {
	addrs := make([]string, cl.N)
	keys := make([]ed25519.PublicKey, cl.N)
	for i, r := range cl.Replicas {
		addrs[i], keys[i] = r.Client, ed25519.PublicKey(r.TransportKey)
	}
	var conns []*tcpnet.ClientConn
	closeAll := func() {
		for _, c := range conns {
			c.Close()
		}
	}
	for rest := ids; len(rest) > 0; {
		k := min(len(rest), tcpnet.MaxClientsPerDial)
		idents := make([]tcpnet.ClientIdentity, k)
		for i, id := range rest[:k] {
			idents[i] = tcpnet.ClientIdentity{ID: id.ID, Key: ed25519.NewKeyFromSeed(id.Seed[:])}
		}
		dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		more, err := tcpnet.DialClients(dctx, addrs, idents, tcpnet.ClientOptions{ServerKeys: keys})
		cancel()
		if err != nil {
			closeAll()
			return nil, nil, fmt.Errorf("clients %d..%d: %w", rest[0].ID, rest[k-1].ID, err)
		}
		conns, rest = append(conns, more...), rest[k:]
	}
	var doers []gateway.Doer
	for i, id := range ids {
		c, err := client.New(cfg, id, rand.Reader, conns[i], client.Options{Timeout: 30 * time.Second,
			Chain: chainSource(cl), Admit: broker.AdmitKey})
		if err != nil {
			closeAll()
			return nil, nil, fmt.Errorf("client %d: %w", id.ID, err)
		}
		doers = append(doers, c)
	}
	return doers, closeAll, nil
}

// serve runs the gateway on l until ctx ends.
func serve(ctx context.Context, l net.Listener, cfg *spec.Config, doers []gateway.Doer, fast bool) error {
	g, err := gateway.New(cfg, doers, gateway.Options{FastReads: fast})
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
// or TLS under the attested key, whose certificate also goes to certFile if set.
func listener(addr string, useTLS bool, certFile string, id *gateway.TLSIdentity) (net.Listener, error) {
	if !useTLS {
		fmt.Fprintln(os.Stderr, gateway.DevWarning)
		return net.Listen("tcp", addr)
	}
	fp := id.Fingerprint()
	fmt.Fprintf(os.Stderr, "gateway: TLS 1.3 under the attested key, certificate SHA-256 %x; check and pin it with `splitbft gateway verify`\n", fp)
	if certFile != "" {
		if err := os.MkdirAll(filepath.Dir(certFile), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(certFile, id.CertPEM(), 0o644); err != nil {
			return nil, err
		}
	}
	return id.Listen(addr)
}
