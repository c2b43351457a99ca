package attest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/splitbft/splitbft/spec"
)

// fakeVerifier returns recorded reports by evidence bytes; unknown evidence fails.
type fakeVerifier struct {
	reports map[string]Report
	err     error // returned for every evidence when set
}

func (f *fakeVerifier) Verify(ev []byte) (Report, error) {
	if f.err != nil {
		return Report{}, f.err
	}
	r, ok := f.reports[string(ev)]
	if !ok {
		return Report{}, errors.New("quote signature does not verify")
	}
	return r, nil
}

// measurement returns a realistic 32-byte id (MRENCLAVE or MRSIGNER) named by s.
func measurement(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

var (
	uidConfA    = measurement("mrenclave conf-a v1")
	signerOps   = measurement("mrsigner splitbft operators")
	signerOther = measurement("mrsigner someone else")
)

// confBody is the enrollment body used by the table: replica 2's conf, build conf-a.
func confBody() spec.EnrollmentBody {
	return spec.EnrollmentBody{Role: spec.RoleConf, Replica: 2, Build: []byte("conf-a"), SignKey: spec.PublicKey{7, 7, 7}}
}

// goodReport is a release-mode report of build conf-a (product 3, SVN 2, up to date)
// over body's enrollment digest.
func goodReport(body spec.EnrollmentBody) Report {
	return Report{Data: ReportData(&body), SecurityVersion: 2, UniqueID: uidConfA, SignerID: signerOps,
		ProductID: ProductIDField(3), TCBStatus: 0}
}

// checkCase is one row of TestCheckEnrollment: a report (recorded under evidence
// "quote") and policies, and the expected refusal substring ("" = admitted).
type checkCase struct {
	name     string
	format   uint64
	data     string
	report   func(r *Report)
	policies []spec.BuildPolicy
	allowDev bool
	verifier Verifier // nil: the fake verifier with the recorded report
	want     string
}

func uniquePolicy(uid []byte) spec.BuildPolicy {
	return spec.BuildPolicy{Role: spec.RoleConf, Build: []byte("conf-a"), UniqueID: uid}
}

func signerPolicy(signer []byte, product, minSVN uint64) spec.BuildPolicy {
	return spec.BuildPolicy{Role: spec.RoleConf, Build: []byte("conf-a"), SignerID: signer, ProductID: product, MinSVN: minSVN}
}

func checkCases() []checkCase {
	ego, dev := spec.EvidenceEgoSGX, spec.EvidenceDevInsecure
	sig := signerPolicy(signerOps, 3, 2)
	other := confBody()
	other.SignKey[0] = 8
	none := func(*Report) {}
	return []checkCase{
		{name: "unique id matches", format: ego, report: none, policies: []spec.BuildPolicy{uniquePolicy(uidConfA)}},
		{name: "signer, product, svn match", format: ego, report: none, policies: []spec.BuildPolicy{sig}},
		{name: "svn above minimum", format: ego, report: func(r *Report) { r.SecurityVersion = 9 }, policies: []spec.BuildPolicy{sig}},
		{name: "wrong unique id", format: ego, report: func(r *Report) { r.UniqueID = measurement("mrenclave conf-a v2") },
			policies: []spec.BuildPolicy{uniquePolicy(uidConfA)}, want: "unique id " + hexOf(measurement("mrenclave conf-a v2")) + ", want " + hexOf(uidConfA)},
		{name: "unique id policy ignores signer", format: ego, report: func(r *Report) { r.SignerID = signerOther },
			policies: []spec.BuildPolicy{uniquePolicy(uidConfA)}},
		{name: "wrong signer", format: ego, report: func(r *Report) { r.SignerID = signerOther },
			policies: []spec.BuildPolicy{sig}, want: "signer id " + hexOf(signerOther) + ", want " + hexOf(signerOps)},
		{name: "low svn", format: ego, report: func(r *Report) { r.SecurityVersion = 1 },
			policies: []spec.BuildPolicy{sig}, want: "security version 1, want at least 2"},
		{name: "wrong product", format: ego, report: func(r *Report) { r.ProductID = ProductIDField(4) },
			policies: []spec.BuildPolicy{sig}, want: "product id 4, want 3"},
		{name: "product id big-endian", format: ego, report: func(r *Report) { r.ProductID = append([]byte{0, 3}, make([]byte, 14)...) },
			policies: []spec.BuildPolicy{sig}, want: "product id 768, want 3"},
		{name: "product id padding not zero", format: ego, report: func(r *Report) { r.ProductID[15] = 1 },
			policies: []spec.BuildPolicy{sig}, want: "product id field 03000000000000000000000000000001 is not a 16-bit"},
		{name: "product id 2 bytes", format: ego, report: func(r *Report) { r.ProductID = []byte{3, 0} },
			policies: []spec.BuildPolicy{sig}, want: "product id field 0300 is not"},
		{name: "policy product id beyond 16 bits", format: ego, report: none,
			policies: []spec.BuildPolicy{signerPolicy(signerOps, 3+65536, 0)}, want: "product id 3, want 65539"},
		{name: "all signer mismatches named", format: ego, report: func(r *Report) { r.SignerID, r.SecurityVersion, r.ProductID = signerOther, 0, ProductIDField(9) },
			policies: []spec.BuildPolicy{sig}, want: "signer id " + hexOf(signerOther) + ", want " + hexOf(signerOps) + ", product id 9, want 3, security version 0, want at least 2"},
		{name: "policy without ids", format: ego, report: none,
			policies: []spec.BuildPolicy{{Role: spec.RoleConf, Build: []byte("conf-a")}}, want: "admits dev-insecure evidence only"},
		{name: "second policy matches", format: ego, report: none,
			policies: []spec.BuildPolicy{uniquePolicy(measurement("old")), sig}},
		{name: "no policy matches, each named", format: ego, report: func(r *Report) { r.SecurityVersion = 1 },
			policies: []spec.BuildPolicy{uniquePolicy(measurement("old")), sig}, want: "policy 0: unique id"},
		{name: "policy of another role", format: ego, report: none,
			policies: []spec.BuildPolicy{{Role: spec.RolePrep, Build: []byte("conf-a"), UniqueID: uidConfA}}, want: "no build policy accepts this build for role conf"},
		{name: "policy of another build", format: ego, report: none,
			policies: []spec.BuildPolicy{{Role: spec.RoleConf, Build: []byte("conf-b"), UniqueID: uidConfA}}, want: "no build policy accepts this build"},
		{name: "debug enclave", format: ego, report: func(r *Report) { r.Debug = true },
			policies: []spec.BuildPolicy{uniquePolicy(uidConfA)}, want: "DEBUG enclave"},
		{name: "debug enclave, dev-insecure allowed", format: ego, report: func(r *Report) { r.Debug = true },
			policies: []spec.BuildPolicy{uniquePolicy(uidConfA)}, allowDev: true},
		{name: "report data of another enrollment", format: ego, report: func(r *Report) { r.Data = ReportData(&other) },
			policies: []spec.BuildPolicy{sig}, want: "does not bind this enrollment"},
		{name: "report data unpadded", format: ego, report: func(r *Report) { r.Data = r.Data[:32] },
			policies: []spec.BuildPolicy{sig}, want: "does not bind this enrollment"},
		{name: "report data padding not zero", format: ego, report: func(r *Report) { r.Data[40] = 1 },
			policies: []spec.BuildPolicy{sig}, want: "does not bind this enrollment"},
		{name: "verifier error", format: ego, report: none, policies: []spec.BuildPolicy{sig},
			verifier: &fakeVerifier{err: errors.New("OE_TCB_LEVEL_INVALID")}, want: "report does not verify: OE_TCB_LEVEL_INVALID"},
		{name: "unknown evidence", format: ego, data: "forged", report: none, policies: []spec.BuildPolicy{sig}, want: "quote signature does not verify"},
		{name: "default verifier", format: ego, report: none, policies: []spec.BuildPolicy{sig}, verifier: DefaultVerifier(), want: ErrNoVerifier.Error()},
		{name: "dev-insecure allowed", format: dev, data: "-", report: none, policies: []spec.BuildPolicy{sig}, allowDev: true},
		{name: "dev-insecure not allowed", format: dev, data: "-", report: none, policies: []spec.BuildPolicy{sig}, want: "AllowDevInsecure is false"},
		{name: "dev-insecure with data", format: dev, report: none, policies: []spec.BuildPolicy{sig}, allowDev: true, want: "must carry no data, it carries 5 bytes"},
		{name: "dev-insecure unknown build", format: dev, data: "-", report: none,
			policies: []spec.BuildPolicy{{Role: spec.RoleConf, Build: []byte("conf-b")}}, allowDev: true, want: "no build policy accepts this build"},
		{name: "unknown format", format: 2, report: none, policies: []spec.BuildPolicy{sig}, allowDev: true, want: "unknown evidence format 2"},
	}
}

func hexOf(b []byte) string { return hex.EncodeToString(b) }

func TestCheckEnrollment(t *testing.T) {
	for _, c := range checkCases() {
		t.Run(c.name, func(t *testing.T) {
			body := confBody()
			rep := goodReport(body)
			c.report(&rep)
			data := []byte("quote")
			switch c.data {
			case "-":
				data = nil
			case "":
			default:
				data = []byte(c.data)
			}
			v := c.verifier
			if v == nil {
				v = &fakeVerifier{reports: map[string]Report{"quote": rep}}
			}
			cfg := &spec.Config{Name: []byte("t"), AllowDevInsecure: c.allowDev, Builds: c.policies}
			err := CheckEnrollment(spec.Enrollment{Body: body, Evidence: spec.Evidence{Format: c.format, Data: data}}, cfg, v)
			checkRefusal(t, err, c.want)
		})
	}
}

// checkRefusal checks that err is nil when want is "", and otherwise a *Refusal that
// names replica 2's conf build conf-a and contains want.
func checkRefusal(t *testing.T, err error, want string) {
	t.Helper()
	if want == "" {
		if err != nil {
			t.Fatalf("refused: %v", err)
		}
		return
	}
	var ref *Refusal
	if !errors.As(err, &ref) {
		t.Fatalf("got %v, want a *Refusal containing %q", err, want)
	}
	if ref.Replica != 2 || ref.Role != spec.RoleConf || ref.Build != "conf-a" {
		t.Errorf("refusal names replica %d role %d build %q", ref.Replica, ref.Role, ref.Build)
	}
	if !strings.Contains(err.Error(), `replica 2 conf build "conf-a": `) || !strings.Contains(err.Error(), want) {
		t.Errorf("error %q\nwant it to name the enrollment and contain %q", err, want)
	}
}

func TestRefusalUnwraps(t *testing.T) {
	body := confBody()
	cfg := &spec.Config{Builds: []spec.BuildPolicy{uniquePolicy(uidConfA)}}
	ev := spec.Enrollment{Body: body, Evidence: spec.Evidence{Format: spec.EvidenceEgoSGX, Data: []byte("q")}}
	for _, v := range []Verifier{nil, DefaultVerifier()} {
		if err := CheckEnrollment(ev, cfg, v); !errors.Is(err, ErrNoVerifier) {
			t.Errorf("verifier %v: got %v, want ErrNoVerifier", v, err)
		}
	}
	cause := errors.New("cause")
	if err := CheckEnrollment(ev, cfg, VerifierFunc(func([]byte) (Report, error) { return Report{}, cause })); !errors.Is(err, cause) {
		t.Errorf("got %v, want it to wrap the verifier's error", err)
	}
}

func TestProductID(t *testing.T) {
	for _, c := range []struct {
		field []byte
		id    uint16
		ok    bool
	}{
		{ProductIDField(0), 0, true},
		{ProductIDField(1), 1, true},
		{ProductIDField(0xbeef), 0xbeef, true},
		{append([]byte{0xef, 0xbe}, make([]byte, 14)...), 0xbeef, true},
		{nil, 0, false},
		{[]byte{1, 0}, 0, false},
		{make([]byte, 17), 0, false},
		{append([]byte{1, 0, 1}, make([]byte, 13)...), 0, false},
	} {
		id, ok := ProductID(c.field)
		if id != c.id || ok != c.ok {
			t.Errorf("ProductID(%x) = %d, %v; want %d, %v", c.field, id, ok, c.id, c.ok)
		}
	}
}

func TestReportData(t *testing.T) {
	body := confBody()
	d := spec.EnrollmentDigest(&body)
	got := ReportData(&body)
	if len(got) != 64 || !bytes.Equal(got[:32], d[:]) || !bytes.Equal(got[32:], make([]byte, 32)) {
		t.Fatalf("ReportData = %x, want %x and 32 zero bytes", got, d)
	}
	ch := spec.Digest{1, 2, 3}
	if got := ReportDataFor(&body, ch); len(got) != 64 || !bytes.Equal(got[:32], d[:]) || !bytes.Equal(got[32:], ch[:]) {
		t.Fatalf("ReportDataFor = %x, want %x then %x", got, d, ch)
	}
}
