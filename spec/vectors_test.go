package spec

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// External CBOR test vectors from ../shared/vectors (see its README.md), relative to
// the repository root. They are not part of the project: tests skip without them.
const vectorsDir = "../../shared/vectors"

// hexCase is the part of a vector these tests use.
type hexCase struct {
	Description string `json:"description"`
	Diagnostic  string `json:"diagnostic"`
	Hex         string `json:"hex"`
}

// loadVectors reads one vector file (a list, or an object with a "tests" list).
func loadVectors(t *testing.T, name string) []hexCase {
	t.Helper()
	if _, err := os.Stat(vectorsDir); err != nil {
		t.Skipf("external vectors not present at %s (they live in the shared/ folder beside the repository): %v", vectorsDir, err)
	}
	raw, err := os.ReadFile(filepath.Join(vectorsDir, name))
	if err != nil {
		t.Fatal(err)
	}
	var cases []hexCase
	if err := json.Unmarshal(raw, &cases); err != nil {
		var wrapped struct{ Tests []hexCase }
		if err := json.Unmarshal(raw, &wrapped); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		cases = wrapped.Tests
	}
	return cases
}

// vectorTargets are the decoders every vector goes through: several message and
// boundary types, every kind, and DecodeUint. Each returns the re-encoding of what
// it accepted.
func vectorTargets() map[string]func([]byte) ([]byte, error) {
	targets := map[string]func([]byte) ([]byte, error){
		"uint": func(b []byte) ([]byte, error) {
			v, err := DecodeUint(b)
			return Encode(v), err
		},
	}
	for _, ex := range []any{&Prepare{}, &Batch{}, &Config{}, &StepInput{}, &StepOutput{}, &Destination{},
		&Input{}, &Frame{}, &Result{}, &KVEntry{}, &Suspect{}, &Status{}, &InitRequest{}} {
		ex := ex
		targets[fmt.Sprintf("%T", ex)] = func(b []byte) ([]byte, error) {
			v := newOf(ex)
			err := Decode(b, v, MaxFrameBytes)
			return Encode(v), err
		}
	}
	for _, k := range allKinds() {
		k := k
		targets["kind "+KindName(k)] = func(b []byte) ([]byte, error) {
			v, err := DecodeKind(k, b)
			if err != nil {
				return nil, err
			}
			return Encode(v), nil
		}
	}
	return targets
}

// runVector decodes b with every target, failing on a panic or on an accepted input
// that does not re-encode identically; it returns the targets that accepted b.
func runVector(t *testing.T, label string, b []byte) (accepted []string) {
	t.Helper()
	for name, dec := range vectorTargets() {
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Errorf("%s: %s panicked on %x: %v", label, name, b, r)
				}
			}()
			again, err := dec(b)
			if err != nil {
				if !errors.Is(err, ErrMalformed) {
					t.Errorf("%s: %s error %v does not wrap ErrMalformed", label, name, err)
				}
				return
			}
			accepted = append(accepted, name)
			if !bytes.Equal(again, b) {
				t.Errorf("%s: %s accepted %x but re-encodes it as %x", label, name, b, again)
			}
		}()
	}
	return accepted
}

// TestVectorsRFC8949Bad: none of the 47 not-well-formed inputs is accepted anywhere.
func TestVectorsRFC8949Bad(t *testing.T) {
	cases := loadVectors(t, "cborwg_rfc8949_bad.json")
	if len(cases) != 47 {
		t.Fatalf("cborwg_rfc8949_bad.json has %d tests, want 47", len(cases))
	}
	for i, c := range cases {
		b, err := hex.DecodeString(c.Hex)
		if err != nil || len(b) == 0 {
			t.Fatalf("test %d (%s): bad hex %q", i, c.Description, c.Hex)
		}
		if acc := runVector(t, c.Description, b); len(acc) > 0 {
			t.Errorf("bad input %d %q (%s) accepted by %v", i, c.Description, c.Hex, acc)
		}
	}
}

// TestVectorsWellFormed runs the RFC 8949 Appendix A examples and the dCBOR vectors
// through every decoder: no panics, and anything accepted re-encodes to itself. The
// dCBOR invalid vectors are non-deterministic encodings, so none may be accepted.
func TestVectorsWellFormed(t *testing.T) {
	for _, file := range []string{"cbor_appendix_a.json", "dcbor_valid.json", "dcbor_invalid.json"} {
		cases := loadVectors(t, file)
		if len(cases) == 0 {
			t.Fatalf("%s: no vectors", file)
		}
		total := 0
		for i, c := range cases {
			b, err := hex.DecodeString(c.Hex)
			if err != nil {
				t.Fatalf("%s %d: bad hex %q", file, i, c.Hex)
			}
			acc := runVector(t, fmt.Sprintf("%s %d %s", file, i, c.Diagnostic), b)
			total += len(acc)
			if file == "dcbor_invalid.json" && len(acc) > 0 {
				t.Errorf("%s %d (%s) accepted by %v", file, i, c.Hex, acc)
			}
		}
		t.Logf("%s: %d vectors, %d acceptances", file, len(cases), total)
	}
}
