package repocheck

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// sharedDecodeRe matches a call of the decoders whose values share their input's memory.
var sharedDecodeRe = regexp.MustCompile(`\bDecode(?:Kind)?Shared\(`)

// sharedDecodeAllowed reports whether the Go file at path (relative to the repository)
// may call spec.DecodeShared or spec.DecodeKindShared: only spec itself and the
// untrusted broker, on frames it read into fresh buffers. Trusted code (the
// compartments, the gateway) and the client decode bytes their host could still
// change, and must copy (spec.Decode).
func sharedDecodeAllowed(path string) bool {
	return strings.HasPrefix(path, "spec/") || strings.HasPrefix(path, "broker/")
}

// TestSharedDecodingOnlyInTheBroker fails if code outside spec/ and broker/ calls the
// sharing decoders (test files included: a test would show a pattern to copy).
func TestSharedDecodingOnlyInTheBroker(t *testing.T) {
	found := 0
	for _, p := range sourceFiles(t) {
		if !strings.HasSuffix(p, ".go") || strings.HasPrefix(p, "internal/repocheck/") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(root, p))
		if err != nil {
			t.Fatal(err)
		}
		n := len(sharedDecodeRe.FindAllIndex(b, -1))
		found += n
		if n > 0 && !sharedDecodeAllowed(p) {
			t.Errorf("%s calls spec.DecodeShared or DecodeKindShared %d times: only spec/ and the broker may (their values share bytes a host could change)", p, n)
		}
	}
	if found == 0 {
		t.Fatal("no call of the sharing decoders found at all: is the pattern stale?")
	}
}

func TestSharedDecodeAllowed(t *testing.T) {
	for path, want := range map[string]bool{
		"broker/wire.go": true, "broker/tcpnet/wire.go": true, "spec/codec.go": true,
		"exec/step.go": false, "prep-a/step.go": false, "gateway/gateway.go": false,
		"client/reply.go": false, "internal/agreeb/crypto.go": false, "specx/a.go": false,
	} {
		if got := sharedDecodeAllowed(path); got != want {
			t.Errorf("sharedDecodeAllowed(%q) = %v, want %v", path, got, want)
		}
	}
}
