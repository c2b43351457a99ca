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

// hostAuth is a Host's authentication state (SPEC §13.2), fixed at Listen but for
// the client keys (SetClientKeys).
type hostAuth struct {
	cert      tls.Certificate
	peerTLS   *tls.Config // peer port acceptor; nil when Insecure
	clientTLS *tls.Config // client port acceptor; nil when Insecure
	peerSrc   *sourceLimit
	clientSrc *sourceLimit
	clients   atomic.Pointer[clientSet] // the registered clients' keys; SetClientKeys replaces them
}

// clientSet is the registered clients' signing keys, by id and by key.
type clientSet struct {
	byID  map[uint64]ed25519.PublicKey
	byKey map[string]bool
}

func newClientSet(keys map[uint64]ed25519.PublicKey) *clientSet {
	cs := &clientSet{byID: make(map[uint64]ed25519.PublicKey, len(keys)), byKey: make(map[string]bool, len(keys))}
	for id, k := range keys {
		cs.byID[id], cs.byKey[string(k)] = k, true
	}
	return cs
}

// SetClientKeys replaces the registered clients' signing keys that the client port
// accepts (Options.ClientKeys): a cluster whose formation registers client identities
// (a gateway's, SPEC §16.2) calls it once the configuration is known, and a replica
// at every epoch (SPEC §17.2). What the new keys no longer allow is dropped at once
// (SPEC §13.2): every client attached under a key they do not register for it (a
// removed client, or one registered again with another key) is detached from its
// connections, and a connection whose hello's client they do not register with the
// key it authenticated with is closed, as is one left with no client; the other
// clients of a closed connection reconnect as after any lost connection. Counted in
// ClientStats.Revoked and RevokedConns. In insecure mode ids are claims and nothing
// is dropped. Safe for concurrent use.
func (h *Host) SetClientKeys(keys map[uint64]ed25519.PublicKey) {
	cs := newClientSet(keys)
	if h.opt.Insecure {
		h.auth.clients.Store(cs)
		return
	}
	// The handshake and attach checks (auth.clients) and the registry's re-check
	// (rekey) change together, under the registry's lock: a hello or attach checked
	// under one key set is never re-checked under the other.
	closing, dropped := h.clients.rekey(cs, func() { h.auth.clients.Store(cs) })
	h.c.revoked.Add(uint64(dropped))
	h.c.revokedConns.Add(uint64(len(closing)))
	for _, fc := range closing {
		fc.shut() // its session ends; its clients reconnect (never blocks: see shut)
	}
	if dropped > 0 || len(closing) > 0 {
		h.log.Info("tcpnet: client keys replaced; dropped the clients no longer registered", "detached", dropped, "closed", len(closing))
	}
}

// initAuth checks the keys of opt and builds the acceptors' TLS configurations.
func (h *Host) initAuth() error {
	o := &h.opt
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
	h.SetClientKeys(o.ClientKeys)
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
