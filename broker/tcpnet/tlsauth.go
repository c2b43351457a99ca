package tcpnet

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"net"
	"time"
)

// Authenticated transport (SPEC §13.2): every connection of both ports is TLS 1.3
// with mutual authentication by raw Ed25519 keys pinned to the configuration. Each
// side presents a self-signed certificate made from its key; no certificate
// authority is consulted: the other side only checks that the certificate's public
// key is the one the cluster names for that identity (the TLS handshake proves
// possession of the private key). A broker authenticates with its transport key, a
// client with its registered signing key.

// ErrAuth is wrapped by the error of a connection whose peer did not authenticate as
// an identity the cluster names.
var ErrAuth = errors.New("tcpnet: peer not authenticated")

// errHandshake is wrapped by the error of a failed TLS handshake.
var errHandshake = errors.New("tls handshake failed")

// isHandshakeErr reports whether err is a failed handshake (no key of the cluster).
func isHandshakeErr(err error) bool { return errors.Is(err, errHandshake) || errors.Is(err, ErrAuth) }

// selfSigned makes the certificate a side presents: its Ed25519 key, self-signed.
func selfSigned(key ed25519.PrivateKey) (tls.Certificate, error) {
	if len(key) != ed25519.PrivateKeySize {
		return tls.Certificate{}, fmt.Errorf("tcpnet: transport key is %d bytes, want %d", len(key), ed25519.PrivateKeySize)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "splitbft"},
		NotBefore: time.Unix(0, 0), NotAfter: time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("tcpnet: transport certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

// certKey returns the Ed25519 public key of the single certificate a side presented.
func certKey(raw [][]byte) (ed25519.PublicKey, error) {
	if len(raw) != 1 {
		return nil, fmt.Errorf("%w: %d certificates presented, want 1", ErrAuth, len(raw))
	}
	c, err := x509.ParseCertificate(raw[0])
	if err != nil {
		return nil, fmt.Errorf("%w: certificate: %v", ErrAuth, err)
	}
	k, ok := c.PublicKey.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("%w: certificate key is not Ed25519", ErrAuth)
	}
	return k, nil
}

// pinned returns a certificate check accepting only a key for which ok holds.
func pinned(ok func(ed25519.PublicKey) bool) func([][]byte, [][]*x509.Certificate) error {
	return func(raw [][]byte, _ [][]*x509.Certificate) error {
		k, err := certKey(raw)
		if err != nil {
			return err
		}
		if !ok(k) {
			return fmt.Errorf("%w: key %x is not pinned for this connection", ErrAuth, []byte(k))
		}
		return nil
	}
}

// baseTLS is the configuration common to both sides: TLS 1.3 only, own certificate,
// certificate chains not verified against any authority (verify checks the pinned
// key instead).
func baseTLS(cert tls.Certificate, verify func([][]byte, [][]*x509.Certificate) error) *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{cert},
		InsecureSkipVerify:    true, // no CA: VerifyPeerCertificate checks the pinned key
		VerifyPeerCertificate: verify, ServerName: "splitbft",
		SessionTicketsDisabled: true} // the acceptor of a peer link only reads
}

// serverTLS is the acceptor's configuration: a client certificate is required and
// must carry a key for which ok holds.
func serverTLS(cert tls.Certificate, ok func(ed25519.PublicKey) bool) *tls.Config {
	c := baseTLS(cert, pinned(ok))
	c.ClientAuth = tls.RequireAnyClientCert
	return c
}

// dialerTLS is the dialer's configuration: the server must present want.
func dialerTLS(cert tls.Certificate, want ed25519.PublicKey) *tls.Config {
	return baseTLS(cert, pinned(func(k ed25519.PublicKey) bool { return want.Equal(k) }))
}

// keyIn reports whether k is one of keys.
func keyIn(keys []ed25519.PublicKey, k ed25519.PublicKey) bool {
	for _, x := range keys {
		if bytes.Equal(x, k) {
			return true
		}
	}
	return false
}

// handshake runs the TLS handshake on conn (server side when cfg is a server
// configuration) within ctx, and returns the connection and the key the other side
// authenticated with. A nil cfg (insecure mode) returns conn and no key.
func handshake(ctx context.Context, conn net.Conn, cfg *tls.Config, server bool) (net.Conn, ed25519.PublicKey, error) {
	if cfg == nil {
		return conn, nil, nil
	}
	var tc *tls.Conn
	if server {
		tc = tls.Server(conn, cfg)
	} else {
		tc = tls.Client(conn, cfg)
	}
	if err := tc.HandshakeContext(ctx); err != nil {
		return nil, nil, fmt.Errorf("%w: %w", errHandshake, err)
	}
	certs := tc.ConnectionState().PeerCertificates
	if len(certs) != 1 {
		return nil, nil, fmt.Errorf("%w: no certificate", ErrAuth)
	}
	k, ok := certs[0].PublicKey.(ed25519.PublicKey)
	if !ok {
		return nil, nil, fmt.Errorf("%w: certificate key is not Ed25519", ErrAuth)
	}
	return tc, k, nil
}

// connBinding returns the binding of a client connection that attach signatures
// cover (SPEC §13.2): the TLS 1.3 exporter value under AttachBindingLabel, which both
// ends derive from the session's secrets; 32 zero bytes on an insecure connection,
// whose ids are claims anyway. A connection that is not TLS is an error unless
// insecure: a zero binding would make every attach valid on every connection.
func connBinding(conn net.Conn, insecure bool) ([32]byte, error) {
	var b [32]byte
	if insecure {
		return b, nil
	}
	tc, ok := conn.(*tls.Conn)
	if !ok {
		return b, fmt.Errorf("%w: a %T is not a TLS connection", ErrAuth, conn)
	}
	st := tc.ConnectionState()
	if st.Version != tls.VersionTLS13 {
		return b, fmt.Errorf("%w: TLS version %#x, want 1.3", ErrAuth, st.Version)
	}
	m, err := st.ExportKeyingMaterial(AttachBindingLabel, nil, len(b))
	if err != nil {
		return b, fmt.Errorf("%w: exporter: %v", ErrAuth, err)
	}
	copy(b[:], m)
	return b, nil
}
