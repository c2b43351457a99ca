//go:build !enclave

package attest

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestTaggedBuilds keeps the EGo code behind build tags from rotting: the enclave
// build (tag "enclave", which imports github.com/edgelesssys/ego/enclave and compiles
// with plain cgo) must vet and pass its own tests outside an enclave, and the host
// verifier (tag "egoverify") must vet against EGo's mock eclient, because the real one
// needs Open Enclave's headers and libraries, which are not installed here.
func TestTaggedBuilds(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go tool not available")
	}
	root := goOutput(t, goTool, "env", "GOMOD")
	if out := goOutput(t, goTool, "env", "CGO_ENABLED"); out != "1" {
		t.Skipf("cgo is disabled (CGO_ENABLED=%q): the EGo enclave package needs it", out)
	}
	for _, args := range [][]string{
		{"vet", "-tags", "enclave", "./attest", "./internal/enclavemain"},
		{"vet", "-tags", "egoverify,ego_mock_eclient", "./attest"},
		{"test", "-count=1", "-tags", "enclave", "./attest", "./internal/enclavemain"},
	} {
		cmd := exec.Command(goTool, args...)
		cmd.Dir = filepath.Dir(root)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

func goOutput(t *testing.T, goTool string, args ...string) string {
	t.Helper()
	out, err := exec.Command(goTool, args...).Output()
	if err != nil {
		t.Fatalf("go %s: %v", strings.Join(args, " "), err)
	}
	return strings.TrimSpace(string(out))
}
