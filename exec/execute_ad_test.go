package exec

import (
	"bytes"
	"testing"

	"github.com/splitbft/splitbft/spec"
)

// TestAppendADMatchesSeal checks that the allocation-free AEAD data that execution
// writes equals requestAD and replyAD of seal.go (§12.2, §12.3), including when the
// scratch buffer already holds other bytes.
func TestAppendADMatchesSeal(t *testing.T) {
	cd := spec.Digest{1, 2, 3, 31: 9}
	cases := []struct {
		name string
		got  []byte
		want []byte
	}{
		{"request", spec.AppendAD(nil, spec.LabelRequestAD, cd, 7, 1<<40), requestAD(cd, 7, 1<<40)},
		{"request zero", spec.AppendAD(nil, spec.LabelRequestAD, spec.Digest{}, 0, 0), requestAD(spec.Digest{}, 0, 0)},
		{"reply", spec.AppendAD(nil, spec.LabelReplyAD, cd, 7, 9, 3, 1<<63), replyAD(cd, 7, 9, 3, 1<<63)},
		{"reused buffer", spec.AppendAD([]byte("old scratch contents")[:0], spec.LabelReplyAD, cd, 1, 2, 3, 4), replyAD(cd, 1, 2, 3, 4)},
	}
	for _, c := range cases {
		if !bytes.Equal(c.got, c.want) {
			t.Errorf("%s: appendAD = %x, want %x", c.name, c.got, c.want)
		}
	}
}
