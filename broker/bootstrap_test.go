package broker

import (
	"crypto/ed25519"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/splitbft/splitbft/spec"
)

// bootEnclave is a fake compartment good enough for Bootstrap: it enrolls with fresh
// keys, deals fake shares, and accepts (or rejects) configure.
type bootEnclave struct {
	rnd        io.Reader
	body       spec.EnrollmentBody
	reject     bool // reject configure
	wrongRole  bool // enroll as another role
	configured []spec.Configure
}

func (b *bootEnclave) Init(raw []byte) ([]byte, error) {
	var req spec.InitRequest
	if err := spec.Decode(raw, &req, 64); err != nil {
		return nil, err
	}
	seed := read32(b.rnd)
	b.body = spec.EnrollmentBody{Role: req.Role, Replica: req.Replica, Build: []byte("fake-" + spec.RoleName(req.Role)),
		SignKey: edPub(ed25519.NewKeyFromSeed(seed[:]))}
	if req.Role == spec.RoleExec {
		b.body.BoxKey = x25519Pub(read32(b.rnd))
	}
	if b.wrongRole {
		b.body.Role = (b.body.Role + 1) % 3
	}
	return spec.Encode(&spec.Enrollment{Body: b.body}), nil
}

func (b *bootEnclave) Step(raw []byte) ([]byte, error) {
	var in spec.StepInput
	if err := spec.Decode(raw, &in, spec.MaxMessageBytes); err != nil {
		return nil, err
	}
	var out spec.StepOutput
	st := spec.Status{Role: b.body.Role, Replica: b.body.Replica}
	for i, x := range in.Inputs {
		switch x.Kind {
		case spec.KindGroupKeyDeal:
			var d spec.GroupKeyDeal
			spec.Decode(x.Body, &d, 1<<16)
			var gs spec.GroupKeyShares
			for _, e := range d.Execs {
				gs.Shares = append(gs.Shares, spec.GroupKeyShare{Dealer: b.body.BoxKey, Recipient: e.BoxKey, GroupKey: spec.PublicKey{0x42}, Sealed: []byte{1}})
			}
			out.Outputs = append(out.Outputs, spec.Output{Kind: spec.KindGroupKeyShares, Body: spec.Encode(&gs)})
		case spec.KindConfigure:
			var c spec.Configure
			spec.Decode(x.Body, &c, spec.MaxMessageBytes)
			if b.reject {
				out.Outputs = append(out.Outputs, spec.Output{Kind: spec.KindReject, Body: spec.Encode(&spec.Rejection{Index: uint64(i), Kind: x.Kind, Code: spec.CodeBadConfig})})
				continue
			}
			b.configured = append(b.configured, c)
			st.Configured = true
		}
	}
	out.Outputs = append(out.Outputs, spec.Output{Kind: spec.KindStatus, Body: spec.Encode(&st)})
	return spec.Encode(&out), nil
}

func bootCluster(n int, seed uint64) ([][3]Enclave, [][3]*bootEnclave) {
	rnd := newSeeded(seed)
	encs := make([][3]Enclave, n)
	fakes := make([][3]*bootEnclave, n)
	for i := range n {
		for r := range 3 {
			fakes[i][r] = &bootEnclave{rnd: rnd}
			encs[i][r] = fakes[i][r]
		}
	}
	return encs, fakes
}

func TestBootstrap(t *testing.T) {
	encs, fakes := bootCluster(4, 1)
	w := newWorld(t, 1, 2, 5)
	clients := []spec.ClientConfig{w.clients[1].Registration(), w.clients[0].Registration()}
	cfg, err := Bootstrap(Setup{Name: "test", AllowDevInsecure: true, Clients: clients}, encs)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.N != 4 || cfg.F != 1 || cfg.CheckpointInterval != 16 || cfg.Window != 64 || cfg.MaxBatchRequests != 200 ||
		cfg.MaxRequestOps != 16 || cfg.MaxOpBytes != 4096 || string(cfg.Name) != "test" || cfg.ExecGroupKey != (spec.PublicKey{0x42}) {
		t.Fatalf("config %+v", cfg)
	}
	if len(cfg.Builds) != 3 || string(cfg.Builds[0].Build) != "fake-prep" || cfg.Builds[2].Role != spec.RoleExec {
		t.Fatalf("builds %+v", cfg.Builds)
	}
	if cfg.Clients[0].ID > cfg.Clients[1].ID {
		t.Fatal("clients not sorted")
	}
	raw := spec.Encode(cfg)
	for i := range fakes {
		for r := range fakes[i] {
			c := fakes[i][r].configured
			if len(c) != 1 || string(c[0].Config) != string(raw) {
				t.Fatalf("replica %d role %d: configured %d times", i, r, len(c))
			}
			wantShares := 0
			if r == int(spec.RoleExec) {
				wantShares = 1
				if c[0].Share[0].Recipient != cfg.Replicas[i].Exec.Body.BoxKey {
					t.Fatalf("exec %d got another exec's share", i)
				}
			}
			if len(c[0].Share) != wantShares {
				t.Fatalf("replica %d role %d: %d shares", i, r, len(c[0].Share))
			}
		}
	}
}

func TestBootstrapFailures(t *testing.T) {
	cases := []struct {
		name  string
		n     int
		setup Setup
		fault func(f [][3]*bootEnclave)
		want  string
	}{
		{"not 3f+1", 3, Setup{AllowDevInsecure: true}, nil, "3f+1"},
		{"wrong role enrolled", 4, Setup{AllowDevInsecure: true}, func(f [][3]*bootEnclave) { f[2][1].wrongRole = true }, "enrolled as"},
		{"configure rejected", 4, Setup{AllowDevInsecure: true}, func(f [][3]*bootEnclave) { f[3][2].reject = true }, "rejected"},
		{"dev-insecure not allowed", 4, Setup{}, nil, "dev-insecure"},
		{"bad name", 4, Setup{AllowDevInsecure: true, Name: strings.Repeat("x", 65)}, nil, "name"},
	}
	for _, tc := range cases {
		encs, fakes := bootCluster(tc.n, 2)
		if tc.fault != nil {
			tc.fault(fakes)
		}
		_, err := Bootstrap(tc.setup, encs)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err=%v, want %q", tc.name, err, tc.want)
		}
	}
}

// panicky is a compartment that panics: InProcess turns that into a dead enclave.
type panicky struct{}

func (panicky) Init([]byte) ([]byte, error) { panic("boom") }
func (panicky) Step([]byte) []byte          { panic("boom") }

func TestInProcessPanicIsDead(t *testing.T) {
	e := InProcess(panicky{})
	if _, err := e.Step(nil); !errors.Is(err, ErrEnclaveDead) {
		t.Fatalf("step: %v", err)
	}
	if _, err := e.Init(nil); !errors.Is(err, ErrEnclaveDead) {
		t.Fatalf("init after death: %v", err)
	}
}
