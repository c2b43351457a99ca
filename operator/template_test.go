package operator

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/splitbft/splitbft/spec"
)

// validTemplate returns a valid 4-replica template with seeded client keys.
func validTemplate(t *testing.T) *Template {
	t.Helper()
	tmpl, _, err := NewTemplate(testOptions(), spec.TestStream("template", 1))
	if err != nil {
		t.Fatal(err)
	}
	return tmpl
}

func TestTemplateValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(t *Template)
		want string
	}{
		{"n not 3f+1", func(t *Template) { t.N = 5 }, "n=5 f=1"},
		{"replica count", func(t *Template) { t.Replicas = t.Replicas[:3] }, "3 replicas listed"},
		{"replica id", func(t *Template) { t.Replicas[2].ID = 3 }, "replica 2 has id 3"},
		{"address", func(t *Template) { t.Replicas[1].Peer = "nohost" }, `address "nohost"`},
		{"address reused", func(t *Template) { t.Replicas[1].Client = t.Replicas[0].Status }, "used twice"},
		{"unknown build", func(t *Template) { t.Replicas[0].Prep = "prep-c" }, `unknown prep build "prep-c"`},
		{"build of another role", func(t *Template) { t.Replicas[0].Conf = "prep-a" }, `unknown conf build "prep-a"`},
		{"build without policy", func(t *Template) { t.Builds = t.Builds[1:] }, `prep build "prep-a" is not accepted`},
		{"policy role", func(t *Template) { t.Builds[0].Role = "preparation" }, `unknown role "preparation"`},
		{"policy unique id", func(t *Template) { t.Builds[0].UniqueID = make(Hex, 31) }, "0 or 32 bytes"},
		{"policy signer id", func(t *Template) { t.Builds[0].SignerID = make(Hex, 33) }, "0 or 32 bytes"},
		{"clients unsorted", func(t *Template) { t.Clients[0], t.Clients[1] = t.Clients[1], t.Clients[0] }, "not sorted"},
		{"client key size", func(t *Template) { t.Clients[1].BoxKey = t.Clients[1].BoxKey[:31] }, "32 bytes"},
		{"client key admission", func(t *Template) { t.Clients[0].SignKey = make(Hex, 32) }, "not admitted"},
		{"client keys shared", func(t *Template) { t.Clients[1].BoxKey = t.Clients[0].BoxKey }, "box key used twice"},
		{"window", func(t *Template) { t.Window = 24 }, "window 24"},
	} {
		tmpl := validTemplate(t)
		tc.mod(tmpl)
		err := tmpl.Validate()
		if !errors.Is(err, ErrTemplate) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an ErrTemplate containing %q", tc.name, err, tc.want)
		}
	}
	if err := validTemplate(t).Validate(); err != nil {
		t.Errorf("the valid template: %v", err)
	}
}

func TestTemplatePolicies(t *testing.T) {
	tmpl := validTemplate(t)
	tmpl.Builds[4] = BuildPolicy{Role: "exec", Build: "exec", UniqueID: make(Hex, 32), ProductID: 7, MinSVN: 2}
	pol, err := tmpl.Policies()
	if err != nil || len(pol) != 5 {
		t.Fatalf("%d policies, %v", len(pol), err)
	}
	want := []struct {
		role  spec.Role
		build string
	}{{0, "prep-a"}, {0, "prep-b"}, {1, "conf-a"}, {1, "conf-b"}, {2, "exec"}}
	for i, w := range want {
		if pol[i].Role != w.role || string(pol[i].Build) != w.build {
			t.Errorf("policy %d = %d %s, want %d %s", i, pol[i].Role, pol[i].Build, w.role, w.build)
		}
	}
	if len(pol[4].UniqueID) != 32 || pol[4].ProductID != 7 || pol[4].MinSVN != 2 {
		t.Errorf("exec policy %+v lost its measurement", pol[4])
	}
}

func TestLoadTemplateErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := LoadTemplate(dir); err == nil {
		t.Error("a missing cluster.json loaded")
	}
	os.WriteFile(filepath.Join(dir, TemplateFile), []byte(`{"n": 4, "replicas": [`), 0o644)
	if _, err := LoadTemplate(dir); !errors.Is(err, ErrTemplate) {
		t.Errorf("truncated JSON: %v", err)
	}
	os.WriteFile(filepath.Join(dir, TemplateFile), []byte(`{"n": 4, "f": 1, "clients": [{"id": 1, "sign_key": "zz"}]}`), 0o644)
	if _, err := LoadTemplate(dir); !errors.Is(err, ErrTemplate) {
		t.Errorf("bad hex: %v", err)
	}
	// A misspelt field is an error naming it, not silently ignored.
	if err := validTemplate(t).Save(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadTemplate(dir); err != nil {
		t.Fatalf("a saved template does not load: %v", err)
	}
	raw, _ := os.ReadFile(filepath.Join(dir, TemplateFile))
	for _, tc := range []struct{ from, to, want string }{
		{`"window"`, `"windw"`, `unknown field "windw"`},
		{`"peer"`, `"peers"`, `unknown field "peers"`},
		{"\n}\n", "\n}\n{}", "data after the JSON object"},
	} {
		os.WriteFile(filepath.Join(dir, TemplateFile), []byte(strings.Replace(string(raw), tc.from, tc.to, 1)), 0o644)
		if _, err := LoadTemplate(dir); !errors.Is(err, ErrTemplate) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.to, err, tc.want)
		}
	}
}

func TestCheckClient(t *testing.T) {
	tmpl := validTemplate(t)
	if err := tmpl.checkClient(tmpl.Clients[0].ID); err != nil {
		t.Errorf("a registered client: %v", err)
	}
	if err := tmpl.checkClient(99); err == nil || !strings.Contains(err.Error(), "client 99 is not registered in cluster.json (registered clients: 1, 2") {
		t.Errorf("an unknown client: %v", err)
	}
}

func TestCredentialsErrors(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, ClientsDir), 0o700)
	if _, err := LoadIdentity(dir, 1); err == nil {
		t.Error("missing credentials loaded")
	}
	os.WriteFile(CredentialsPath(dir, 1), []byte(`{"id": 2, "ed25519_seed": "00", "x25519_private": "00"}`), 0o600)
	if _, err := LoadIdentity(dir, 1); err == nil || !strings.Contains(err.Error(), "not the credentials of client 1") {
		t.Errorf("credentials of another client: %v", err)
	}
}

// TestTemplateNewClient: keygen --client (NewClient) needs a cluster directory (a
// mistyped one is not created) and an id the template does not use for a client, a
// broker client or a gateway; the registration it returns is what the credentials
// file and the printed public keys (ParseRegistration) give.
func TestTemplateNewClient(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "c")
	opt := testOptions()
	opt.RedisPort, opt.GatewayClients = 9500, 2
	tmpl, err := Init(dir, opt, spec.TestStream("template-new-client", 1))
	if err != nil {
		t.Fatal(err)
	}
	rand := spec.TestStream("template-new-client-keys", 1)
	typo := filepath.Join(filepath.Dir(dir), "typo")
	if _, err := NewClient(typo, 99, rand); err == nil || !strings.Contains(err.Error(), "must be a cluster directory") {
		t.Errorf("a directory without cluster.json: %v", err)
	}
	if _, err := os.Stat(typo); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the mistyped directory was created (stat: %v)", err)
	}
	for _, tc := range []struct {
		id   uint64
		want string
	}{
		{tmpl.Clients[0].ID, "client id 1 is already registered in cluster.json"},
		{tmpl.Replicas[2].BrokerClient, "is replica 2's broker client"},
		{tmpl.Replicas[1].GatewayClients[1], "is a client identity of replica 1's gateway"},
	} {
		if _, err := NewClient(dir, tc.id, rand); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("client %d: %v, want %q", tc.id, err, tc.want)
		}
		if _, err := os.Stat(CredentialsPath(dir, tc.id)); tc.id != 1 && !errors.Is(err, os.ErrNotExist) { // init wrote client 1's
			t.Errorf("client %d: credentials written (stat: %v)", tc.id, err)
		}
	}
	reg, err := NewClient(dir, 99, rand)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := LoadRegistration(CredentialsPath(dir, 99), 99); err != nil || got != reg {
		t.Errorf("the credentials file: %+v, %v; want %+v", got, err, reg)
	}
	printed := fmt.Sprintf("%x:%x", reg.SignKey[:], reg.BoxKey[:])
	if !IsKeyPair(printed) || IsKeyPair("clients/client-99.json") || IsKeyPair("a:b/c") {
		t.Error("IsKeyPair tells keys from file names wrongly")
	}
	if got, err := ParseRegistration(99, printed); err != nil || got != reg {
		t.Errorf("the printed public keys: %+v, %v; want %+v", got, err, reg)
	}
}
