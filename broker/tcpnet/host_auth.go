package tcpnet

import (
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync/atomic"
)

// hostAuth is a Host's authentication state (SPEC §13.2), fixed at Listen except
// the registered clients, which follow the configuration's epochs (SetClientKeys).
type hostAuth struct {
	cert      tls.Certificate
	peerTLS   *tls.Config // peer port acceptor; nil when Insecure
	clientTLS *tls.Config // client port acceptor; nil when Insecure
	peerSrc   *sourceLimit
	clientSrc *sourceLimit
	clients   atomic.Pointer[clientKeys]
}

// clientKeys are the registered clients' keys, by id and as a set.
type clientKeys struct {
	byID  map[uint64]ed25519.PublicKey
	byKey map[string]bool
}

func newClientKeys(keys map[uint64]ed25519.PublicKey) *clientKeys {
	ck := &clientKeys{byID: make(map[uint64]ed25519.PublicKey, len(keys)), byKey: make(map[string]bool, len(keys))}
	for id, k := range keys {
		ck.byID[id], ck.byKey[string(k)] = k, true
	}
	return ck
}

// SetClientKeys replaces the registered clients' keys (SPEC §13.2, §17.2: an epoch
// may add or remove clients); safe while the host runs. It affects connections
// authenticated from then on; open ones stay until they close.
func (h *Host) SetClientKeys(keys map[uint64]ed25519.PublicKey) {
	h.auth.clients.Store(newClientKeys(keys))
}

// initAuth checks the keys of opt and builds the acceptors' TLS configurations.
func (h *Host) initAuth() error {
	o := &h.opt
	h.auth.clients.Store(newClientKeys(o.ClientKeys))
	rate, burst := float64(o.AcceptRate), float64(o.AcceptBurst)
	h.auth.peerSrc, h.auth.clientSrc = newSourceLimit(o.MaxPendingPerIP, rate, burst), newSourceLimit(o.MaxPendingPerIP, rate, burst)
	if o.Insecure {
		h.log.Warn("tcpnet: INSECURE TRANSPORT: plain TCP, no authentication; anyone can claim any replica or client id")
		return nil
	}
	cert, err := selfSigned(o.Key)
	if err != nil {
		return err
	}
	if uint64(len(o.PeerKeys)) <= o.ID || !o.Key.Public().(ed25519.PublicKey).Equal(o.PeerKeys[o.ID]) {
		return fmt.Errorf("tcpnet: Options.PeerKeys[%d] is not the public key of Options.Key", o.ID)
	}
	for i, k := range o.PeerKeys {
		if len(k) != ed25519.PublicKeySize {
			return fmt.Errorf("tcpnet: Options.PeerKeys[%d] is %d bytes, want %d", i, len(k), ed25519.PublicKeySize)
		}
	}
	others := func(k ed25519.PublicKey) bool { return keyIn(o.PeerKeys, k) && !o.PeerKeys[o.ID].Equal(k) }
	h.auth.cert = cert
	h.auth.peerTLS = serverTLS(cert, others)
	h.auth.clientTLS = serverTLS(cert, func(k ed25519.PublicKey) bool { return h.auth.clients.Load().byKey[string(k)] })
	return nil
}

// checkPeerKeys fails unless there is one transport key per peer address.
func (h *Host) checkPeerKeys(n int) error {
	if !h.opt.Insecure && len(h.opt.PeerKeys) != n {
		return fmt.Errorf("tcpnet: %d peer transport keys for %d replicas", len(h.opt.PeerKeys), n)
	}
	return nil
}

// errIdentity is wrapped by the error of a hello that names an identity other than
// the one the connection authenticated as.
var errIdentity = errors.New("hello names another identity than the connection authenticated as")

// peerIdentity checks that key (from the handshake) is replica id's transport key.
func (h *Host) peerIdentity(key ed25519.PublicKey, id uint64) error {
	if h.opt.Insecure {
		return nil
	}
	if id >= uint64(len(h.opt.PeerKeys)) || !h.opt.PeerKeys[id].Equal(key) {
		return fmt.Errorf("%w: hello claims replica %d", errIdentity, id)
	}
	return nil
}

// clientIdentity checks that key (from the handshake) is client id's registered key.
func (h *Host) clientIdentity(key ed25519.PublicKey, id uint64) error {
	if h.opt.Insecure {
		return nil
	}
	if k, ok := h.auth.clients.Load().byID[id]; !ok || !k.Equal(key) {
		return fmt.Errorf("%w: hello claims client %d", errIdentity, id)
	}
	return nil
}

// dialPeerTLS runs the dialer's handshake to peer p (pinned to p's transport key).
func (h *Host) dialPeerTLS(ctx context.Context, conn net.Conn, p *peer) (net.Conn, error) {
	if h.opt.Insecure {
		return conn, nil
	}
	c, _, err := handshake(ctx, conn, dialerTLS(h.auth.cert, h.opt.PeerKeys[p.id]), false)
	return c, err
}
