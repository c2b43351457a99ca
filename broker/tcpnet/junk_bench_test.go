package tcpnet

import (
	"testing"

	"github.com/splitbft/splitbft/broker"
	"github.com/splitbft/splitbft/spec"
)

// BenchmarkJunkRelayFrame measures what one junk relayed request frame (R1–R4 valid,
// bad signature) costs a peer's reader: decoded strictly as a PeerMsg and its body,
// as while the peer's relays are open, against dropped by its prefix, as once the
// broker closed them (SPEC §13.3 obligation 5). The ratio of the two is the saving
// per frame of a flooding faulty peer.
func BenchmarkJunkRelayFrame(b *testing.B) {
	req := spec.Request{Body: spec.RequestBody{Client: 1, Timestamp: 1 << 62, Ops: []spec.SealedOp{{Ciphertext: make([]byte, 32)}}}}
	frame := broker.EncodePeer(spec.KindRequest, spec.Encode(&req))
	b.Run("decoded", func(b *testing.B) {
		for b.Loop() {
			if _, _, err := decodePeerFrame(frame); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("dropped", func(b *testing.B) {
		for b.Loop() {
			if !isRequestFrame(frame) {
				b.Fatal("not a request frame")
			}
		}
	})
}
