package prepb

import (
	"bytes"
	"errors"
	"math/rand"
	"testing"

	"github.com/splitbft/splitbft/spec"
)

// countingReader counts the bytes read from it.
type countingReader struct {
	r *rand.Rand
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	c.n += len(p)
	return c.r.Read(p)
}

// TestInit covers §7.1 I1–I3, the enrollment shape and §3.5 (exactly 32 bytes read).
func TestInit(t *testing.T) {
	const seed = 7
	cr := &countingReader{r: rand.New(rand.NewSource(seed))}
	p := New(cr)
	good := spec.Encode(&spec.InitRequest{Role: spec.RolePrep, Replica: 2})
	cases := []struct {
		name string
		req  []byte
	}{
		{"I1 not a document", []byte{0xff}},
		{"I1 trailing bytes", append(append([]byte(nil), good...), 0)},
		{"I2 wrong role", spec.Encode(&spec.InitRequest{Role: spec.RoleConf, Replica: 2})},
	}
	for _, c := range cases {
		if _, err := p.Init(c.req); !errors.Is(err, ErrBadInit) {
			t.Fatalf("%s: err = %v, want bad-init", c.name, err)
		}
	}
	if cr.n != 0 || p.DebugState() != New(nil).DebugState() {
		t.Fatalf("failed Init read randomness or changed state")
	}
	raw, err := p.Init(good)
	if err != nil {
		t.Fatal(err)
	}
	if cr.n != 32 {
		t.Fatalf("Init read %d bytes of randomness, want 32", cr.n)
	}
	var e spec.Enrollment
	if err := spec.Decode(raw, &e, spec.MaxMessageBytes); err != nil {
		t.Fatal(err)
	}
	want := spec.EnrollmentBody{Role: spec.RolePrep, Replica: 2, Build: []byte("prep-b"), SignKey: e.Body.SignKey}
	if !bytes.Equal(spec.Encode(&e.Body), spec.Encode(&want)) || e.Evidence.Format != spec.EvidenceDevInsecure || len(e.Evidence.Data) != 0 {
		t.Fatalf("enrollment %+v", e)
	}
	before := p.DebugState()
	if _, err := p.Init(good); !errors.Is(err, ErrBadInit) { // I3
		t.Fatalf("second Init: err = %v, want bad-init", err)
	}
	if cr.n != 32 || p.DebugState() != before {
		t.Fatal("second Init changed state or read randomness")
	}
}

// TestInitShortRandomness checks that a failing randomness source fails Init
// without initialising.
func TestInitShortRandomness(t *testing.T) {
	p := New(bytes.NewReader(make([]byte, 31)))
	if _, err := p.Init(spec.Encode(&spec.InitRequest{Role: spec.RolePrep})); err == nil {
		t.Fatal("Init succeeded with 31 bytes of randomness")
	}
	if p.inited {
		t.Fatal("failed Init marked the prep initialised")
	}
}

// TestStatusUnconfigured checks the Status before configure (§9.8).
func TestStatusUnconfigured(t *testing.T) {
	fx := newUnconfigured(t, 2, 11)
	st := fx.status()
	want := spec.Status{Role: spec.RolePrep, Replica: 2, ViewActive: true}
	if !bytes.Equal(spec.Encode(&st), spec.Encode(&want)) {
		t.Fatalf("status %+v, want %+v", st, want)
	}
}
