package attest

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/splitbft/splitbft/broker"
	"github.com/splitbft/splitbft/internal/builds"
	"github.com/splitbft/splitbft/spec"
)

// recordingAttester plays an enclave's EGo runtime: it "signs" a report by recording
// it in the fake verifier under a fresh quote name, with the given identity and the
// requested report data padded as GetRemoteReport pads it.
type recordingAttester struct {
	v        *fakeVerifier
	identity Report
}

func (a *recordingAttester) Evidence(d [64]byte) (spec.Evidence, error) {
	quote := fmt.Sprintf("quote-%d", len(a.v.reports))
	r := a.identity
	r.Data = append([]byte(nil), d[:]...)
	a.v.reports[quote] = r
	return spec.Evidence{Format: spec.EvidenceEgoSGX, Data: []byte(quote)}, nil
}

// attestedEnclave attaches its attester's evidence to the enrollment, as
// internal/enclavemain does inside an enclave.
type attestedEnclave struct {
	broker.Enclave
	a Attester
}

func (e attestedEnclave) Init(req []byte) ([]byte, error) {
	raw, err := e.Enclave.Init(req)
	if err != nil {
		return nil, err
	}
	return Attach(e.a, raw, spec.Digest{})
}

// Identities of the builds in the mixed cluster.
var (
	uidPrepA = measurement("mrenclave prep-a v1")
	idPrepA  = Report{UniqueID: uidPrepA, SignerID: signerOps, ProductID: ProductIDField(1), SecurityVersion: 1}
	idConfA  = Report{UniqueID: uidConfA, SignerID: signerOps, ProductID: ProductIDField(3), SecurityVersion: 2}
	idExec   = Report{UniqueID: measurement("mrenclave exec v1"), SignerID: signerOps, ProductID: ProductIDField(5), SecurityVersion: 1}
)

// mixedCluster bootstraps 4 real replicas: replicas 0 and 1 run prep-a and conf-a in
// (fake) enclaves, replicas 2 and 3 run prep-b and conf-b with dev-insecure evidence,
// and only replica 0's exec is in an enclave. It returns the configuration and the
// verifier that knows the recorded reports.
func mixedCluster(t *testing.T, seed uint64) (*spec.Config, *fakeVerifier) {
	t.Helper()
	rnd := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8)})
	v := &fakeVerifier{reports: map[string]Report{}}
	ego := func(id Report, e broker.Enclave) broker.Enclave {
		return attestedEnclave{Enclave: e, a: &recordingAttester{v: v, identity: id}}
	}
	var encs [][3]broker.Enclave
	for i := range 4 {
		var trio [3]broker.Enclave
		if i < 2 {
			f := builds.Trio("a", "a")
			trio[0] = ego(idPrepA, broker.InProcess(f[0](rnd)))
			trio[1] = ego(idConfA, broker.InProcess(f[1](rnd)))
		} else {
			f := builds.Trio("b", "b")
			trio[0] = broker.InProcess(f[0](rnd))
			trio[1] = broker.InProcess(f[1](rnd))
		}
		trio[2] = broker.InProcess(builds.MustLookup(builds.Exec).New(rnd))
		if i == 0 {
			trio[2] = ego(idExec, trio[2])
		}
		encs = append(encs, trio)
	}
	setup := broker.Setup{AllowDevInsecure: true, Builds: []spec.BuildPolicy{
		{Role: spec.RolePrep, Build: []byte(builds.PrepA), UniqueID: uidPrepA},
		{Role: spec.RolePrep, Build: []byte(builds.PrepB)},
		{Role: spec.RoleConf, Build: []byte(builds.ConfA), SignerID: signerOps, ProductID: 3, MinSVN: 2},
		{Role: spec.RoleConf, Build: []byte(builds.ConfB)},
		{Role: spec.RoleExec, Build: []byte(builds.Exec), SignerID: signerOps, ProductID: 5, MinSVN: 1},
	}}
	cfg, err := broker.Bootstrap(setup, encs)
	if err != nil {
		t.Fatalf("seed %d: bootstrap: %v", seed, err)
	}
	return cfg, v
}

// states returns "replica role: state" lines of the results.
func states(rs []Result) []string {
	var out []string
	for _, r := range rs {
		out = append(out, fmt.Sprintf("%d %s %s: %s", r.Replica, spec.RoleName(r.Role), r.Build, r.State()))
	}
	return out
}

func TestCheckConfigMixed(t *testing.T) {
	const seed = 6
	cfg, v := mixedCluster(t, seed)
	want := []string{
		"0 prep prep-a: ego-sgx verified", "0 conf conf-a: ego-sgx verified", "0 exec exec: ego-sgx verified",
		"1 prep prep-a: ego-sgx verified", "1 conf conf-a: ego-sgx verified", "1 exec exec: dev-insecure (NO TEE)",
		"2 prep prep-b: dev-insecure (NO TEE)", "2 conf conf-b: dev-insecure (NO TEE)", "2 exec exec: dev-insecure (NO TEE)",
		"3 prep prep-b: dev-insecure (NO TEE)", "3 conf conf-b: dev-insecure (NO TEE)", "3 exec exec: dev-insecure (NO TEE)",
	}
	rs := CheckConfig(cfg, v)
	if got := states(rs); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("seed %d: states\n%s\nwant\n%s", seed, strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if err := Rejected(rs); err != nil {
		t.Errorf("Rejected = %v", err)
	}
	if len(v.reports) != 5 {
		t.Errorf("%d reports recorded, want 5 (replica 0's three, replica 1's prep and conf)", len(v.reports))
	}
}

func TestCheckConfigMixedRefusals(t *testing.T) {
	const seed = 7
	cfg, v := mixedCluster(t, seed)
	strict := *cfg
	strict.AllowDevInsecure = false
	low := &fakeVerifier{reports: map[string]Report{}}
	for q, r := range v.reports {
		if r.SecurityVersion == 2 { // conf-a
			r.SecurityVersion = 1
		}
		low.reports[q] = r
	}
	for _, c := range []struct {
		name     string
		cfg      *spec.Config
		v        Verifier
		rejected map[string]string // "replica role" → reason substring; all others admitted
	}{
		{"no dev-insecure", &strict, v, map[string]string{"1 exec": "AllowDevInsecure is false", "2 prep": "AllowDevInsecure is false",
			"2 conf": "AllowDevInsecure", "2 exec": "AllowDevInsecure", "3 prep": "AllowDevInsecure", "3 conf": "AllowDevInsecure", "3 exec": "AllowDevInsecure"}},
		{"conf-a svn revoked", cfg, low, map[string]string{"0 conf": "security version 1, want at least 2", "1 conf": "security version 1, want at least 2"}},
		{"no verifier", cfg, DefaultVerifier(), map[string]string{"0 prep": ErrNoVerifier.Error(), "0 conf": ErrNoVerifier.Error(),
			"0 exec": ErrNoVerifier.Error(), "1 prep": ErrNoVerifier.Error(), "1 conf": ErrNoVerifier.Error()}},
	} {
		rs := CheckConfig(c.cfg, c.v)
		for _, r := range rs {
			key := fmt.Sprintf("%d %s", r.Replica, spec.RoleName(r.Role))
			want, bad := c.rejected[key]
			switch {
			case bad && (r.Err == nil || !strings.Contains(r.State(), "REJECTED: ") || !strings.Contains(r.State(), want)):
				t.Errorf("seed %d, %s: %s: state %q, want a rejection containing %q", seed, c.name, key, r.State(), want)
			case !bad && r.Err != nil:
				t.Errorf("seed %d, %s: %s: %v", seed, c.name, key, r.Err)
			}
		}
		if err := Rejected(rs); err == nil || strings.Count(err.Error(), "\n")+1 != len(c.rejected) {
			t.Errorf("seed %d, %s: Rejected = %v, want %d refusals", seed, c.name, err, len(c.rejected))
		}
	}
}

func TestInsecureWarning(t *testing.T) {
	cfg, _ := mixedCluster(t, 8)
	w := InsecureWarning(cfg)
	for _, s := range []string{"NO TEE", "7 of 12 compartments", "replica 1: exec (exec)\n",
		"replica 2: prep (prep-b), conf (conf-b), exec (exec)\n", "development and testing only"} {
		if !strings.Contains(w, s) {
			t.Errorf("warning lacks %q:\n%s", s, w)
		}
	}
	if strings.Contains(w, "replica 0") || !strings.HasSuffix(w, "\n") || strings.Count(w, "\n") < 5 {
		t.Errorf("warning names replica 0 (all in enclaves), or is not a multi-line block:\n%s", w)
	}
	all := *cfg
	all.Replicas = nil
	for i := range cfg.Replicas {
		rc := cfg.Replicas[i]
		for _, e := range []*spec.Enrollment{&rc.Prep, &rc.Conf, &rc.Exec} {
			e.Evidence = spec.Evidence{Format: spec.EvidenceEgoSGX, Data: []byte("q")}
		}
		all.Replicas = append(all.Replicas, rc)
	}
	if w := InsecureWarning(&all); w != "" {
		t.Errorf("warning for a cluster without dev-insecure evidence:\n%s", w)
	}
}

func TestDebugResult(t *testing.T) {
	body := confBody()
	rep := goodReport(body)
	rep.Debug = true
	v := &fakeVerifier{reports: map[string]Report{"q": rep}}
	cfg := &spec.Config{AllowDevInsecure: true, Builds: []spec.BuildPolicy{uniquePolicy(uidConfA)},
		Replicas: []spec.ReplicaConfig{{}, {}, {Conf: spec.Enrollment{Body: body, Evidence: spec.Evidence{Format: spec.EvidenceEgoSGX, Data: []byte("q")}}}}}
	r := CheckConfig(cfg, v)[2*3+1]
	if r.Err != nil || !r.Debug || r.State() != "ego-sgx verified, DEBUG enclave (NO TEE protection)" {
		t.Errorf("result %+v, state %q", r, r.State())
	}
	cfg.AllowDevInsecure = false
	if r := CheckConfig(cfg, v)[2*3+1]; r.Err == nil || r.Debug || !strings.Contains(r.State(), "DEBUG") {
		t.Errorf("result %+v, state %q", r, r.State())
	}
}

// errAttester fails every evidence request.
type errAttester struct{}

func (errAttester) Evidence([64]byte) (spec.Evidence, error) {
	return spec.Evidence{}, errors.New("no quote provider")
}

func TestAttach(t *testing.T) {
	body := confBody()
	raw := spec.Encode(&spec.Enrollment{Body: body, Evidence: spec.Evidence{Format: spec.EvidenceDevInsecure}})
	v := &fakeVerifier{reports: map[string]Report{}}
	out, err := Attach(&recordingAttester{v: v, identity: idConfA}, raw, spec.Digest{})
	var e spec.Enrollment
	if err != nil || spec.Decode(out, &e, spec.MaxMessageBytes) != nil {
		t.Fatalf("Attach: %v", err)
	}
	if e.Evidence.Format != spec.EvidenceEgoSGX || string(e.Evidence.Data) != "quote-0" || string(spec.Encode(&e.Body)) != string(spec.Encode(&body)) {
		t.Errorf("attached enrollment %+v", e)
	}
	cfg := &spec.Config{Builds: []spec.BuildPolicy{uniquePolicy(uidConfA)}}
	if err := CheckEnrollment(e, cfg, v); err != nil {
		t.Errorf("attached enrollment refused: %v", err)
	}
	for _, c := range []struct {
		name string
		a    Attester
		in   []byte
		err  string
	}{
		{"dev-insecure attester", DevInsecure{}, raw, ""},
		{"attester fails", errAttester{}, raw, "no quote provider"},
		{"not an enrollment", DevInsecure{}, []byte{0x01}, "does not decode"},
		{"evidence already there", errAttester{}, out, ""},
	} {
		got, err := Attach(c.a, c.in, spec.Digest{})
		if string(got) != string(c.in) || (err == nil) != (c.err == "") || (err != nil && !strings.Contains(err.Error(), c.err)) {
			t.Errorf("%s: Attach returned %x, %v; want the input unchanged and error %q", c.name, got, err, c.err)
		}
	}
}

// TestAttachChallenge: evidence attached for a challenge (SPEC.md §7.2, §17.5) is
// admitted by CheckEnrollmentFor with that challenge only.
func TestAttachChallenge(t *testing.T) {
	body := confBody()
	raw := spec.Encode(&spec.Enrollment{Body: body, Evidence: spec.Evidence{Format: spec.EvidenceDevInsecure}})
	v := &fakeVerifier{reports: map[string]Report{}}
	ch := spec.Digest{7, 7, 7}
	out, err := Attach(&recordingAttester{v: v, identity: idConfA}, raw, ch)
	var e spec.Enrollment
	if err != nil || spec.Decode(out, &e, spec.MaxMessageBytes) != nil {
		t.Fatalf("Attach: %v", err)
	}
	cfg := &spec.Config{Builds: []spec.BuildPolicy{uniquePolicy(uidConfA)}}
	for _, c := range []struct {
		name      string
		challenge spec.Digest
		ok        bool
	}{
		{"the challenge", ch, true},
		{"zero challenge", spec.Digest{}, false},
		{"another challenge", spec.Digest{7, 7, 8}, false},
	} {
		err := CheckEnrollmentFor(&e, cfg, v, c.challenge)
		if (err == nil) != c.ok || (err != nil && !strings.Contains(err.Error(), "challenge")) {
			t.Errorf("%s: CheckEnrollmentFor = %v, want ok=%v", c.name, err, c.ok)
		}
	}
	if CheckEnrollment(e, cfg, v) == nil {
		t.Errorf("CheckEnrollment (zero challenge) admitted evidence made for challenge %x", ch)
	}
}
