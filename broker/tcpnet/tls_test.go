package tcpnet_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"math/big"
	"net"
	"testing"
	"time"

	"github.com/splitbft/splitbft/client"
)

// transportKey is replica i's transport key in every fixture (deterministic).
func transportKey(i int) ed25519.PrivateKey {
	seed := sha256.Sum256([]byte(fmt.Sprintf("tcpnet-transport-%d", i)))
	return ed25519.NewKeyFromSeed(seed[:])
}

// transportPubs returns the public transport keys of replicas 0..replicas−1.
func transportPubs() []ed25519.PublicKey {
	out := make([]ed25519.PublicKey, replicas)
	for i := range out {
		out[i] = transportKey(i).Public().(ed25519.PublicKey)
	}
	return out
}

// clientKey is the signing key of a client identity, with which it authenticates.
func clientKey(id client.Identity) ed25519.PrivateKey { return ed25519.NewKeyFromSeed(id.Seed[:]) }

// testCert is a self-signed certificate of key, as the transport presents.
func testCert(t testing.TB, key ed25519.PrivateKey) tls.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Unix(0, 0), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// testTLS is a TLS 1.3 configuration presenting key's certificate and accepting any
// certificate of the other side (the fakes stand for a side whose checks are not
// under test).
func testTLS(t testing.TB, key ed25519.PrivateKey) *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{testCert(t, key)},
		InsecureSkipVerify: true, ClientAuth: tls.RequireAnyClientCert}
}

// tlsServe wraps an accepted connection as the TLS server of key.
func tlsServe(t testing.TB, conn net.Conn, key ed25519.PrivateKey) net.Conn {
	return tls.Server(conn, testTLS(t, key))
}

// dialAs connects to addr and authenticates with key (no handshake error is
// reported here: in TLS 1.3 a refused client certificate shows on the first read).
// A nil key dials plain TCP, as an attacker without any key would.
func dialAs(t *testing.T, addr string, key ed25519.PrivateKey) net.Conn {
	t.Helper()
	raw, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	if key == nil {
		return raw
	}
	conn := tls.Client(raw, testTLS(t, key))
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	if err := conn.Handshake(); err != nil {
		t.Fatalf("handshake with %s: %v", addr, err)
	}
	conn.SetDeadline(time.Time{})
	return conn
}
