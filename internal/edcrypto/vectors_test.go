package edcrypto

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// vectorDir is the shared external test vector folder, relative to this package.
const vectorDir = "../../../shared/vectors"

// loadVectors decodes a vector file into v, or skips the test when the shared folder
// is absent (a fresh clone of the repository without it).
func loadVectors(t *testing.T, name string, v any) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(vectorDir, name))
	if os.IsNotExist(err) {
		t.Skipf("external vectors not present (%s): skipping", filepath.Join(vectorDir, name))
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad hex: %v", err)
	}
	return b
}

// TestCCTV runs the C2SP CCTV Ed25519 vectors: under SPEC.md §3.3 a vector is
// rejected exactly when its flags contain low_order_residue or non_canonical_R.
func TestCCTV(t *testing.T) {
	var vectors []struct {
		Number int
		Key    string
		Sig    string
		Msg    string
		Flags  []string
	}
	loadVectors(t, "cctv_ed25519vectors.json", &vectors)
	if len(vectors) != 914 {
		t.Fatalf("%d CCTV vectors, want 914", len(vectors))
	}
	accepted := 0
	for _, v := range vectors {
		want := true
		for _, f := range v.Flags {
			if f == "low_order_residue" || f == "non_canonical_R" {
				want = false
			}
		}
		var got bool
		for i, vf := range verifiers {
			g := vf.fn(mustHex(t, v.Key), []byte(v.Msg), mustHex(t, v.Sig))
			if g != want {
				t.Errorf("vector %d flags %v: %s = %v, want %v", v.Number, v.Flags, vf.name, g, want)
			}
			if i == 0 {
				got = g
			}
		}
		if got {
			accepted++
		}
	}
	if accepted == 0 || accepted == len(vectors) {
		t.Fatalf("degenerate run: %d of %d accepted", accepted, len(vectors))
	}
}

// TestWycheproof runs Wycheproof's EdDSA verification tests; SPEC.md §3.3 is
// RFC 8032 verification, so every "valid" test verifies and every "invalid" one
// does not.
func TestWycheproof(t *testing.T) {
	var file struct {
		TestGroups []struct {
			PublicKey struct{ Pk string }
			Tests     []struct {
				TcID    int
				Comment string
				Msg     string
				Sig     string
				Result  string
			}
		}
	}
	loadVectors(t, "wycheproof_ed25519_test.json", &file)
	count := 0
	for _, g := range file.TestGroups {
		pk := mustHex(t, g.PublicKey.Pk)
		for _, tc := range g.Tests {
			count++
			var want bool
			switch tc.Result {
			case "valid":
				want = true
			case "invalid":
				want = false
			default:
				t.Fatalf("tc %d: unexpected result %q", tc.TcID, tc.Result)
			}
			sig, err := hex.DecodeString(tc.Sig)
			if err != nil { // some invalid tests have odd-length signatures
				sig = []byte(tc.Sig)
			}
			for _, vf := range verifiers {
				if got := vf.fn(pk, mustHex(t, tc.Msg), sig); got != want {
					t.Errorf("tc %d (%s): %s = %v, want %v", tc.TcID, tc.Comment, vf.name, got, want)
				}
			}
		}
	}
	if count != 151 {
		t.Fatalf("%d Wycheproof tests, want 151", count)
	}
}

// TestSpeccheck runs the 12 cases of "Taming the many EdDSAs". Under the
// cofactorless rule with lenient A and strict R and S (SPEC.md §3.3), cases 0–3
// (small or mixed order points that pass the cofactorless equation) and 11
// (non-canonical A hashed as received) verify; 4 and 5 fail the cofactorless
// equation, 6 and 7 have S ≥ L, 8 and 9 have a non-canonical R, and 10 hashes a
// reduced A that differs from the received bytes.
func TestSpeccheck(t *testing.T) {
	var cases []struct {
		Message   string
		PubKey    string `json:"pub_key"`
		Signature string
	}
	loadVectors(t, "speccheck_cases.json", &cases)
	want := []bool{true, true, true, true, false, false, false, false, false, false, false, true}
	if len(cases) != len(want) {
		t.Fatalf("%d speccheck cases, want %d", len(cases), len(want))
	}
	for i, c := range cases {
		for _, vf := range verifiers {
			if got := vf.fn(mustHex(t, c.PubKey), mustHex(t, c.Message), mustHex(t, c.Signature)); got != want[i] {
				t.Errorf("case %d: %s = %v, want %v", i, vf.name, got, want[i])
			}
		}
	}
}
