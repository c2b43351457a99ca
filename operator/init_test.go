package operator

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/splitbft/splitbft/spec"
)

func TestAssign(t *testing.T) {
	for _, tc := range []struct {
		mode string
		n    int
		want [][3]string
	}{
		{"balanced", 4, [][3]string{{"prep-a", "conf-a", "exec"}, {"prep-a", "conf-b", "exec"}, {"prep-b", "conf-a", "exec"}, {"prep-b", "conf-b", "exec"}}},
		{"balanced", 7, [][3]string{{"prep-a", "conf-a", "exec"}, {"prep-a", "conf-b", "exec"}, {"prep-b", "conf-a", "exec"}, {"prep-b", "conf-b", "exec"},
			{"prep-a", "conf-a", "exec"}, {"prep-a", "conf-b", "exec"}, {"prep-b", "conf-a", "exec"}}},
		{"a", 4, [][3]string{{"prep-a", "conf-a", "exec"}, {"prep-a", "conf-a", "exec"}, {"prep-a", "conf-a", "exec"}, {"prep-a", "conf-a", "exec"}}},
		{"b", 4, [][3]string{{"prep-b", "conf-b", "exec"}, {"prep-b", "conf-b", "exec"}, {"prep-b", "conf-b", "exec"}, {"prep-b", "conf-b", "exec"}}},
	} {
		got, err := Assign(tc.mode, tc.n, 0)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Assign(%s, %d) = %v, %v; want %v", tc.mode, tc.n, got, err, tc.want)
		}
	}
	if _, err := Assign("mixed", 4, 0); err == nil {
		t.Error("an unknown diversity mode was accepted")
	}
}

func TestAssignRandom(t *testing.T) {
	a, _ := Assign("random", 16, 42)
	b, _ := Assign("random", 16, 42)
	c, _ := Assign("random", 16, 43)
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("seed 42 gave two matrices: %v and %v", a, b)
	}
	if reflect.DeepEqual(a, c) {
		t.Errorf("seeds 42 and 43 gave the same 16-replica matrix %v", a)
	}
	seen := map[string]bool{}
	for _, row := range a {
		seen[row[0]], seen[row[1]] = true, true
		if row[2] != "exec" {
			t.Errorf("row %v: exec build %q", row, row[2])
		}
	}
	if len(seen) != 4 {
		t.Errorf("16 random replicas used builds %v, want all four prep/conf builds", seen)
	}
}

// testOptions returns init options with a seeded client key stream.
func testOptions() InitOptions {
	return InitOptions{AllowDevInsecure: true, Clients: 3, BasePort: 9000}
}

func TestInitWritesCluster(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "c")
	tmpl, err := Init(dir, testOptions(), spec.TestStream("init", 1))
	if err != nil {
		t.Fatal(err)
	}
	loaded, err := LoadTemplate(dir)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(tmpl, loaded); d != "" {
		t.Fatalf("LoadTemplate differs from what Init returned (-init +loaded):\n%s", d)
	}
	if tmpl.N != 4 || tmpl.Replicas[3].Peer != "127.0.0.1:9009" || tmpl.Replicas[3].Status != "127.0.0.1:9011" {
		t.Errorf("n=%d, replica 3 at %+v", tmpl.N, tmpl.Replicas[3])
	}
	entries, _ := os.ReadDir(filepath.Join(dir, ClientsDir))
	if len(entries) != 3 {
		t.Fatalf("%d credential files, want 3", len(entries))
	}
	for _, c := range tmpl.Clients[:3] {
		fi, err := os.Stat(CredentialsPath(dir, c.ID))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("client %d credentials: %v, mode %v; want 0600", c.ID, err, fi.Mode())
		}
		id, err := LoadIdentity(dir, c.ID)
		reg := id.Registration()
		if err != nil || !bytes.Equal(reg.SignKey[:], c.SignKey) || !bytes.Equal(reg.BoxKey[:], c.BoxKey) {
			t.Errorf("client %d: credentials do not match the registered keys (%v)", c.ID, err)
		}
	}
	for i := range tmpl.Replicas { // SPEC §13.4: one broker client per replica, in its folder
		fi, err := os.Stat(brokerClientPath(dir, uint64(i)))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("replica %d broker client: %v; want mode 0600", i, err)
		}
		if id, err := LoadBrokerClient(dir, tmpl, uint64(i)); err != nil || id.ID != tmpl.Clients[3+i].ID {
			t.Errorf("replica %d broker client %d: %v", i, id.ID, err)
		}
	}
	if raw, _ := os.ReadFile(filepath.Join(dir, TemplateFile)); bytes.Contains(raw, []byte("seed")) || bytes.Contains(raw, []byte("private")) {
		t.Errorf("cluster.json holds a secret:\n%s", raw)
	}
}

func TestInitReport(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "c")
	tmpl, err := Init(dir, testOptions(), spec.TestStream("init", 2))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	WriteInitReport(&out, dir, tmpl)
	for _, want := range []string{
		"1        prep-a   conf-b   exec     127.0.0.1:9003",
		"prep: prep-a on 2 (replicas 0,1); prep-b on 2 (replicas 2,3)",
		"conf: conf-a on 2 (replicas 0,2); conf-b on 2 (replicas 1,3)",
		"No enclave keys were written", "never writes them anywhere", "NO TEE protection",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
	tmpl.AllowDevInsecure = false
	out.Reset()
	WriteInitReport(&out, dir, tmpl)
	if !strings.Contains(out.String(), "ego-sgx evidence only") || strings.Contains(out.String(), "NO TEE") {
		t.Errorf("report of a cluster without dev-insecure:\n%s", out.String())
	}
}

func TestInitExistingDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "c")
	if _, err := Init(dir, testOptions(), spec.TestStream("init", 3)); err != nil {
		t.Fatal(err)
	}
	old, _ := LoadIdentity(dir, 1)
	os.MkdirAll(filepath.Join(dir, "bin"), 0o755)
	os.WriteFile(filepath.Join(dir, "replica-0", ConfigFile), []byte("old"), 0o644)
	oldKey, err := os.ReadFile(filepath.Join(dir, "replica-0", TransportKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Init(dir, testOptions(), spec.TestStream("init", 4)); !errors.Is(err, ErrExists) {
		t.Fatalf("Init over an existing cluster: %v, want ErrExists", err)
	}
	opt := testOptions()
	opt.Force = true
	if _, err := Init(dir, opt, spec.TestStream("init", 5)); err != nil {
		t.Fatalf("Init --force: %v", err)
	}
	if now, _ := LoadIdentity(dir, 1); now == old {
		t.Error("--force kept the old client credentials")
	}
	if _, err := os.Stat(filepath.Join(dir, "bin")); err != nil {
		t.Error("--force removed the bin folder")
	}
	if _, err := os.Stat(filepath.Join(dir, "replica-0", ConfigFile)); err == nil {
		t.Error("--force kept the old replica folder")
	}
	tmpl, err := LoadTemplate(dir)
	if err != nil {
		t.Fatal(err)
	}
	key, err := LoadTransportKey(dir, tmpl, 0)
	if err != nil {
		t.Fatalf("--force: transport key: %v", err)
	}
	if string(oldKey) == fmt.Sprintf("%x\n", key.Seed()) {
		t.Error("--force kept the old transport key")
	}
	if st, err := os.Stat(filepath.Join(dir, "replica-0", TransportKeyFile)); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("transport key file: %v, %v; want mode 0600", st, err)
	}
	if _, err := LoadTransportKey(dir, tmpl, 1); err != nil {
		t.Fatal(err)
	}
	other, _ := os.ReadFile(filepath.Join(dir, "replica-1", TransportKeyFile))
	os.WriteFile(filepath.Join(dir, "replica-0", TransportKeyFile), other, 0o600)
	if _, err := LoadTransportKey(dir, tmpl, 0); err == nil || !strings.Contains(err.Error(), "not the transport key") {
		t.Errorf("replica 1's transport key loaded as replica 0's: %v", err)
	}
	empty := t.TempDir()
	if _, err := Init(empty, testOptions(), spec.TestStream("init", 6)); err != nil {
		t.Errorf("Init into an existing empty directory: %v", err)
	}
}

func TestNewTemplateErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(o *InitOptions)
		want string
	}{
		{"hosts count", func(o *InitOptions) { o.Hosts = []string{"a", "b"} }, "2 hosts for 4 replicas"},
		{"diversity", func(o *InitOptions) { o.Diversity = "c" }, "unknown diversity"},
		{"too many replicas", func(o *InitOptions) { o.F = 30 }, "at most 64 replicas"},
		{"port range", func(o *InitOptions) { o.BasePort = 65530 }, "must lie in 1..65535"},
		{"window not multiple", func(o *InitOptions) { o.K, o.L = 16, 40 }, "window 40"},
		{"window too small", func(o *InitOptions) { o.K, o.L = 16, 16 }, "window 16"},
		{"batch", func(o *InitOptions) { o.Batch = 5000 }, "max batch requests"},
		{"ops", func(o *InitOptions) { o.MaxOps = 300 }, "max request ops"},
		{"op bytes", func(o *InitOptions) { o.MaxOpBytes = 10 }, "max op bytes"},
		{"name", func(o *InitOptions) { o.Name = strings.Repeat("x", 65) }, "name"},
		{"clients", func(o *InitOptions) { o.Clients = -1 }, "clients -1"},
	} {
		opt := testOptions()
		tc.mod(&opt)
		_, _, err := NewTemplate(opt, spec.TestStream("init", 7))
		if !errors.Is(err, ErrTemplate) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an ErrTemplate containing %q", tc.name, err, tc.want)
		}
	}
}

func TestNewTemplateHosts(t *testing.T) {
	opt := testOptions()
	opt.Hosts = []string{"10.0.0.1", "10.0.0.2", "10.0.0.3", "::1"}
	tmpl, _, err := NewTemplate(opt, spec.TestStream("init", 8))
	if err != nil {
		t.Fatal(err)
	}
	if tmpl.Replicas[1].Client != "10.0.0.2:9004" || tmpl.Replicas[3].Status != "[::1]:9011" {
		t.Errorf("addresses %+v", tmpl.Replicas)
	}
}
