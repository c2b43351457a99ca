package tcpnet_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/sha256"
	"crypto/tls"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/splitbft/splitbft/broker"
	"github.com/splitbft/splitbft/broker/tcpnet"
)

// TestSetClientKeysNeverWaitsOnAClient: a registered client that floods TLS 1.3
// KeyUpdate(update_requested) records and never reads makes the broker's reader block
// writing the answers while it holds the TLS connection's output lock. Removing that
// client's key (SetClientKeys, on the broker's event loop at an epoch change) must
// still return at once: it shuts the TCP connection instead of sending close_notify
// under that lock, which blocked the event loop for as long as the client wanted.
func TestSetClientKeysNeverWaitsOnAClient(t *testing.T) {
	if testing.Short() {
		t.Skip("fills a connection's buffers with TLS records; skipped in -short mode")
	}
	f := newFixture(t, 31, 2, 0)
	nd := f.start(0)
	raw, err := net.Dial("tcp", f.clientAddrs[0])
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var kl keyLog
	cfg := testTLS(t, clientKey(f.ids[0]))
	cfg.KeyLogWriter = &kl
	conn := tls.Client(raw, cfg)
	if err := conn.Handshake(); err != nil {
		t.Fatal(err)
	}
	if cs := conn.ConnectionState().CipherSuite; cs != tls.TLS_AES_128_GCM_SHA256 {
		t.Skipf("negotiated cipher suite %#x; the test writes AES-128-GCM records by hand", cs)
	}
	if _, err := conn.Write(clientMsg(tcpnet.ClientHello, 100, []byte(tcpnet.ClientProto))); err != nil { // record 0
		t.Fatal(err)
	}
	var secret []byte
	for _, l := range strings.Split(kl.String(), "\n") {
		if p := strings.Fields(l); len(p) == 3 && p[0] == "CLIENT_TRAFFIC_SECRET_0" {
			secret, _ = hex.DecodeString(p[2])
		}
	}
	eventually(t, 5*time.Second, "the connection", func() (bool, string) {
		return nd.host.Stats().Clients.Conns == 1, ""
	})
	w := &recWriter{}
	w.setSecret(secret)
	w.seq = 1
	self := clientMsg(tcpnet.ClientAttach, 100, make([]byte, ed25519.SignatureSize)) // already attached: costs nothing
	var progress atomic.Uint64
	go func() { // KeyUpdates until the socket buffers are full and the broker's reader blocks
		bw := bufio.NewWriterSize(raw, 64<<10)
		for i := 0; ; i++ {
			if _, err := bw.Write(w.record(0x16, []byte{24, 0, 0, 1, 1})); err != nil {
				return
			}
			w.setSecret(expandLabel(w.secret, "traffic upd", 32))
			if i%8 == 7 { // application data now and then, or Go's TLS stops accepting KeyUpdates
				if _, err := bw.Write(w.record(0x17, self)); err != nil {
					return
				}
			}
			if i%256 == 255 {
				if bw.Flush() != nil {
					return
				}
				progress.Add(1)
			}
		}
	}()
	// The writer stalls once the kernel's buffers in both directions are full: wait
	// until it made no progress for a second.
	last, since := progress.Load(), time.Now()
	eventually(t, 60*time.Second, "the client's writer to stall", func() (bool, string) {
		if p := progress.Load(); p != last {
			last, since = p, time.Now()
		}
		return time.Since(since) > time.Second, fmt.Sprintf("%d×256 key updates", last)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = nd.host.Query(ctx, func(*broker.Replica) { // on the event loop, as an epoch change does
		nd.host.SetClientKeys(map[uint64]ed25519.PublicKey{101: clientKey(f.ids[1]).Public().(ed25519.PublicKey)})
	})
	if err != nil {
		t.Fatalf("SetClientKeys removing a client whose connection is stuck did not return within 5s: %v", err)
	}
	if ctx.Err() != nil {
		t.Fatal("the event loop was held")
	}
}

// keyLog collects the TLS key log, from which the test takes the client's traffic
// secret to write records the Go TLS client does not offer (KeyUpdate requests).
type keyLog struct{ bytes.Buffer }

func expandLabel(secret []byte, label string, n int) []byte {
	full := "tls13 " + label
	info := []byte{byte(n >> 8), byte(n), byte(len(full))}
	info = append(info, full...)
	info = append(info, 0)
	out, err := hkdf.Expand(sha256.New, secret, string(info), n)
	if err != nil {
		panic(err)
	}
	return out
}

type recWriter struct {
	secret []byte
	aead   cipher.AEAD
	iv     []byte
	seq    uint64
}

func (w *recWriter) setSecret(s []byte) {
	w.secret = s
	blk, _ := aes.NewCipher(expandLabel(s, "key", 16))
	w.aead, _ = cipher.NewGCM(blk)
	w.iv = expandLabel(s, "iv", 12)
	w.seq = 0
}

func (w *recWriter) record(typ byte, msg []byte) []byte {
	inner := append(append([]byte{}, msg...), typ)
	hdr := []byte{0x17, 3, 3, 0, 0}
	binary.BigEndian.PutUint16(hdr[3:], uint16(len(inner)+16))
	nonce := append([]byte{}, w.iv...)
	var s [8]byte
	binary.BigEndian.PutUint64(s[:], w.seq)
	for i := range 8 {
		nonce[4+i] ^= s[i]
	}
	w.seq++
	return append(hdr, w.aead.Seal(nil, nonce, inner, hdr)...)
}
