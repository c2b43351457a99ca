package swarm

import (
	"crypto/cipher"
	"crypto/sha256"
	"fmt"
	"io"

	"golang.org/x/crypto/chacha20poly1305"
	"golang.org/x/crypto/curve25519"
	"golang.org/x/crypto/hkdf"

	"github.com/splitbft/splitbft/spec"
)

// replyAEAD returns XChaCha20-Poly1305 under the pairwise reply key of (client,
// replica) (SPEC §12.3): HKDF-SHA256 over X25519(priv, pub) with salt cd and info
// LabelReplyKey ‖ client ‖ replica. priv and pub are the client's private and the
// exec's public box key, or the exec's private and the client's public one: X25519
// gives both sides the same secret. The clients open replies with it; a Byzantine
// exec forges them with it.
func replyAEAD(priv, pub [32]byte, cd spec.Digest, client, replica uint64) (cipher.AEAD, error) {
	shared, err := curve25519.X25519(priv[:], pub[:])
	if err != nil {
		return nil, fmt.Errorf("swarm: reply key of client %d, replica %d: %w", client, replica, err)
	}
	info := append([]byte(spec.LabelReplyKey), spec.U64(client)...)
	info = append(info, spec.U64(replica)...)
	key := make([]byte, chacha20poly1305.KeySize)
	if _, err := io.ReadFull(hkdf.New(sha256.New, shared, cd[:], info), key); err != nil {
		return nil, fmt.Errorf("swarm: reply key of client %d, replica %d: %w", client, replica, err)
	}
	return chacha20poly1305.NewX(key)
}

// replyAD returns the associated data that binds the ciphertext of reply r, sealed
// by replica, to the configuration, client, timestamp, replica and view (SPEC §12.3).
func replyAD(cd spec.Digest, r *spec.Reply, replica uint64) []byte {
	ad := append([]byte(spec.LabelReplyAD), 0)
	ad = append(ad, cd[:]...)
	for _, v := range []uint64{r.Client, r.Timestamp, replica, r.View} {
		ad = append(ad, spec.U64(v)...)
	}
	return ad
}
