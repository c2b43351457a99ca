package enclavemain

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/splitbft/splitbft/attest"
	"github.com/splitbft/splitbft/spec"
)

// enroller is a compartment whose Init returns a dev-insecure enrollment of prep
// replica 1 with a key read from its randomness, or fails if fail is set.
type enroller struct {
	rand io.Reader
	fail bool
}

func (c *enroller) Init([]byte) ([]byte, error) {
	if c.fail {
		return nil, errors.New("init refused")
	}
	body := spec.EnrollmentBody{Role: spec.RolePrep, Replica: 1, Build: []byte("prep-x")}
	io.ReadFull(c.rand, body.SignKey[:])
	return spec.Encode(&spec.Enrollment{Body: body}), nil
}

func (c *enroller) Step(in []byte) []byte { return in }

// fakeAttester gives ego-sgx evidence whose data is "report:" and the report data, or
// fails.
type fakeAttester struct{ fail bool }

func (a fakeAttester) Evidence(d [64]byte) (spec.Evidence, error) {
	if a.fail {
		return spec.Evidence{}, errors.New("OE_QUOTE_PROVIDER_LOAD_ERROR")
	}
	return spec.Evidence{Format: spec.EvidenceEgoSGX, Data: append([]byte("report:"), d[:]...)}, nil
}

// testChallenge is the InitRequest challenge of initWith.
var testChallenge = spec.Digest{0xc4, 0xa1, 0x1e}

// initWith serves one init frame (with testChallenge) to an enroller behind
// runAttested with attester a and returns the exit status, the answer frame and stderr.
func initWith(t *testing.T, a attest.Attester, fail bool) (int, *spec.Frame, string) {
	t.Helper()
	var in, out, errOut bytes.Buffer
	spec.WriteFrame(&in, &spec.Frame{Op: spec.FrameInit, Body: spec.Encode(&spec.InitRequest{Role: spec.RolePrep, Replica: 1, Challenge: testChallenge})})
	code := runAttested("prep-x", []string{}, &in, &out, &errOut,
		func(r io.Reader) spec.Compartment { return &enroller{rand: r, fail: fail} }, func() attest.Attester { return a })
	f, err := spec.ReadFrame(&out)
	if err != nil || out.Len() != 0 {
		t.Fatalf("want exactly one answer frame: %v, %d bytes left", err, out.Len())
	}
	return code, f, errOut.String()
}

func decodeEnrollment(t *testing.T, f *spec.Frame) spec.Enrollment {
	t.Helper()
	var e spec.Enrollment
	if f.Op != spec.FrameResult || spec.Decode(f.Body, &e, spec.MaxMessageBytes) != nil {
		t.Fatalf("answer %+v is not an enrollment", f)
	}
	return e
}

func TestEgoEvidenceAttached(t *testing.T) {
	code, f, stderr := initWith(t, fakeAttester{}, false)
	e := decodeEnrollment(t, f)
	d := spec.EnrollmentDigest(&e.Body)
	want := append(append([]byte("report:"), d[:]...), testChallenge[:]...) // SPEC §7.2: digest || challenge
	if code != 0 || stderr != "" || e.Evidence.Format != spec.EvidenceEgoSGX || !bytes.Equal(e.Evidence.Data, want) {
		t.Fatalf("exit %d, stderr %q, evidence %+v; want ego-sgx over the enrollment digest %x and the challenge %x", code, stderr, e.Evidence, d, testChallenge)
	}
	if e.Body.Replica != 1 || string(e.Body.Build) != "prep-x" || e.Body.SignKey == (spec.PublicKey{}) {
		t.Errorf("body changed: %+v", e.Body)
	}
}

func TestEvidenceFallbacks(t *testing.T) {
	for _, c := range []struct {
		name   string
		a      attest.Attester
		stderr string // "" = no output at all
	}{
		{"not an enclave build", attest.DevInsecure{}, ""},
		{"enclave build outside an enclave", attest.DevInsecure{Why: "self-report failed"}, "self-report failed"},
		{"remote report fails", fakeAttester{fail: true}, "OE_QUOTE_PROVIDER_LOAD_ERROR"},
	} {
		code, f, stderr := initWith(t, c.a, false)
		e := decodeEnrollment(t, f)
		if code != 0 || e.Evidence.Format != spec.EvidenceDevInsecure || len(e.Evidence.Data) != 0 {
			t.Errorf("%s: exit %d, evidence %+v; want dev-insecure", c.name, code, e.Evidence)
		}
		if (c.stderr == "") != (stderr == "") || !strings.Contains(stderr, c.stderr) || (stderr != "" && !strings.Contains(stderr, "NO TEE")) {
			t.Errorf("%s: stderr %q, want a warning containing %q", c.name, stderr, c.stderr)
		}
	}
}

func TestInitFailureNotAttested(t *testing.T) {
	code, f, stderr := initWith(t, fakeAttester{}, true)
	if code != 0 || f.Op != spec.FrameError || !bytes.Equal(f.Body, spec.Encode(spec.CodeBadInit)) || stderr != "" {
		t.Errorf("exit %d, frame %+v, stderr %q; want a bad-init error frame", code, f, stderr)
	}
}
