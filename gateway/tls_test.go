package gateway

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/splitbft/splitbft/exec/kv"
)

// seeded is a deterministic byte stream for test keys.
type seeded struct{ r *rand.ChaCha8 }

func (s seeded) Read(p []byte) (int, error) { return s.r.Read(p) }

// startTLS runs a gateway over a storeDoer behind TLS and returns its address and
// certificate file.
func startTLS(t *testing.T) (string, string) {
	t.Helper()
	id, err := NewTLSIdentity(seeded{rand.NewChaCha8([32]byte{16})}, []string{"127.0.0.1"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	g, err := New(testConfig(), []Doer{&storeDoer{s: kv.New()}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	l, err := id.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = g.Serve(l) }()
	t.Cleanup(g.Close)
	certFile := filepath.Join(t.TempDir(), "gateway.pem")
	if err := os.WriteFile(certFile, id.CertPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	return l.Addr().String(), certFile
}

// TestTLS checks the TLS listener (SPEC.md §16.2): a client pinning the gateway's
// certificate talks RESP over TLS 1.3; a client that does not trust it fails the
// handshake.
func TestTLS(t *testing.T) {
	addr, certFile := startTLS(t)
	pemBytes, _ := os.ReadFile(certFile)
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemBytes) {
		t.Fatal("certificate PEM does not parse")
	}
	c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS13})
	if err != nil {
		t.Fatalf("pinned TLS dial: %v", err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write([]byte("SET k v\r\nGET k\r\n")); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(c)
	for _, want := range []string{"+OK\r\n", "$1\r\n", "v\r\n"} {
		if got, err := r.ReadString('\n'); err != nil || got != want {
			t.Fatalf("got %q, %v; want %q", got, err, want)
		}
	}
	if c2, err := tls.Dial("tcp", addr, &tls.Config{MinVersion: tls.VersionTLS13}); err == nil {
		c2.Close()
		t.Fatal("a client without the pinned certificate completed the handshake")
	}
}

// TestRedisCLITLS runs redis-cli --tls --cacert against the TLS gateway.
func TestRedisCLITLS(t *testing.T) {
	cli := needTool(t, "redis-cli")
	addr, certFile := startTLS(t)
	if got := runTool(t, cli, "--tls", "--cacert", certFile, "-h", "127.0.0.1", "-p", portArg(addr), "PING"); got != "PONG\n" {
		t.Fatalf("redis-cli over TLS: %q", got)
	}
}
