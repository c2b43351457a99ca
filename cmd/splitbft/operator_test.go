package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/splitbft/splitbft/operator"
)

// The operator commands' flag handling and offline behaviour. The commands' cluster
// behaviour is tested with real processes in package operator (TestClusterProcesses,
// TestNamespaceCluster).

func TestInitCommand(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "c")
	var out, errOut bytes.Buffer
	code := run([]string{"init", "--dir", dir, "--n", "7", "--allow-dev-insecure", "--diversity", "random", "--seed", "9", "--clients", "2"}, &out, &errOut)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	tmpl, err := operator.LoadTemplate(dir)
	if err != nil || tmpl.N != 7 || tmpl.F != 2 || len(tmpl.Clients) != 2+7 || !tmpl.AllowDevInsecure {
		t.Fatalf("template %+v, %v", tmpl, err)
	}
	want, _ := operator.Assign("random", 7, 9)
	for i, rt := range tmpl.Replicas {
		if [3]string{rt.Prep, rt.Conf, rt.Exec} != want[i] {
			t.Errorf("replica %d runs %s/%s/%s, --seed 9 gives %v", i, rt.Prep, rt.Conf, rt.Exec, want[i])
		}
		if !strings.Contains(out.String(), fmt.Sprintf("%-8d %-8s %-8s", i, rt.Prep, rt.Conf)) {
			t.Errorf("matrix lacks replica %d's row:\n%s", i, out.String())
		}
	}
	if code := run([]string{"init", "--dir", dir}, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), "--force") {
		t.Errorf("init over an existing cluster: exit %d, stderr %q", code, errOut.String())
	}
}

func TestInitFlagErrors(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "c")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{}, "--dir is required"},
		{[]string{"--dir", dir, "--n", "5"}, "--n 5 is not 3f+1"},
		{[]string{"--dir", dir, "--n", "1"}, "--n 1 is not 3f+1"},
		{[]string{"--dir", dir, "--n", "4", "--f", "2"}, "disagree"},
		{[]string{"--dir", dir, "--f", "0"}, "--f must be at least 1"},
		{[]string{"--dir", dir, "--seed", "3"}, "--seed only applies"},
		{[]string{"--dir", dir, "--diversity", "c"}, `unknown diversity "c"`},
		{[]string{"--dir", dir, "--hosts", "a,,b,c"}, "bad host"},
		{[]string{"--dir", dir, "--hosts", "a,b"}, "2 hosts for 4 replicas"},
		{[]string{"--dir", dir, "--k", "0"}, "--k must be positive"},
		{[]string{"--dir", dir, "--k", "16", "--l", "24"}, "window 24"},
		{[]string{"--dir", dir, "--base-port", "70000"}, "base port"},
		{[]string{"--dir", dir, "extra"}, `unexpected argument "extra"`},
		{[]string{"--dir", dir, "--nope"}, "flag provided but not defined"},
	} {
		var out, errOut bytes.Buffer
		code := run(append([]string{"init"}, tc.args...), &out, &errOut)
		if code != 2 || !strings.Contains(errOut.String(), tc.want) {
			t.Errorf("init %q: exit %d, stderr %q; want 2 and %q", tc.args, code, errOut.String(), tc.want)
		}
	}
	if _, err := operator.LoadTemplate(dir); err == nil {
		t.Error("a refused init wrote a cluster")
	}
}

func TestReplicaAndKVFlagErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"replica", "--id", "0"}, "--dir is required"},
		{[]string{"replica", "--dir", "x"}, "--id is required"},
		{[]string{"replica", "--dir", "x", "--id", "0", "--log-level", "loud"}, "--log-level"},
		{[]string{"replica", "--dir", "x", "--id", "0", "--tick", "0s"}, "--tick must be positive"},
		{[]string{"kv", "--client", "1", "get", "k"}, "--dir is required"},
		{[]string{"kv", "--dir", "x", "get", "k"}, "--client is required"},
		{[]string{"kv", "--dir", "x", "--client", "1"}, "no command"},
		{[]string{"kv", "--dir", "x", "--client", "1", "get"}, "get takes 1 argument(s), got 0"},
		{[]string{"kv", "--dir", "x", "--client", "1", "frob", "k"}, `unknown operation "frob"`},
		{[]string{"kv", "--dir", "x", "--client", "1", "cas", "k", "v"}, "cas takes 3 argument(s), got 2"},
		{[]string{"kv", "--dir", "x", "--client", "1", "cas", "--absent", "k", "old", "new"}, "cas --absent takes 2 argument(s), got 3"},
		{[]string{"kv", "--dir", "x", "--client", "1", "cas-absent", "k", "v"}, "use cas --absent"},
		{[]string{"kv", "--dir", "x", "--client", "1", "script", "more"}, "script takes no arguments"},
		{[]string{"kv", "--dir", "x", "--client", "1", "bench", "--ops", "0"}, "must be positive"},
		{[]string{"status"}, "--dir is required"},
		{[]string{"replica", "--dir", "x", "--id", "-1"}, "--id -1: ids are 0 or more"},
		{[]string{"kv", "--dir", "x", "--client", "1", "frob", "k"}, "cas --absent, script or bench"},
		{[]string{"kv", "--dir", "x", "--client", "1", "get", "k", "--clients", "2"}, "--clients only applies to bench"},
		{[]string{"kv", "--dir", "x", "--client", "1", "put", "k", "v", "--absent"}, "--absent only applies to cas"},
		{[]string{"kv", "--dir", "x", "--client", "1", "bench", "--ops", "5", "--duration", "1s"}, "not both"},
		{[]string{"kv", "--dir", "x", "--client", "1", "bench", "--label", "x"}, "--label only applies with --report"},
	} {
		var out, errOut bytes.Buffer
		if code := run(tc.args, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), tc.want) {
			t.Errorf("%q: exit %d, stderr %q; want 2 and %q", tc.args, code, errOut.String(), tc.want)
		}
	}
}

// TestOfflineCluster runs status and kv against a cluster whose replicas are not
// running: status shows every replica unreachable and exits 2 (no quorum); kv fails
// with exit 1 saying the cluster has not formed.
func TestOfflineCluster(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "c")
	port := closedPort(t)
	var out, errOut bytes.Buffer
	if code := run([]string{"init", "--dir", dir, "--allow-dev-insecure", "--base-port", fmt.Sprint(port)}, &out, &errOut); code != 0 {
		t.Fatalf("init: exit %d: %s", code, errOut.String())
	}
	out.Reset()
	if code := run([]string{"status", "--dir", dir, "--timeout", "1s"}, &out, &errOut); code != 2 || strings.Count(out.String(), "unreachable") != 9 || !strings.Contains(out.String(), "NO QUORUM") {
		t.Errorf("status of a stopped cluster: exit %d\n%s", code, out.String())
	}
	out.Reset()
	if code := run([]string{"status", "--dir", dir, "--json", "--timeout", "1s"}, &out, &errOut); code != 2 {
		t.Errorf("status --json of a stopped cluster: exit %d", code)
	}
	var doc struct {
		Replicas []struct {
			Replica uint64
			Status  any
			Error   string
			Problem string
		}
		Quorum bool
		Exit   int
	}
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil || len(doc.Replicas) != 4 || doc.Replicas[3].Error == "" || doc.Replicas[3].Status != nil ||
		doc.Replicas[3].Problem != "unreachable" || doc.Quorum || doc.Exit != 2 {
		t.Errorf("status --json: %v %+v\n%s", err, doc, out.String())
	}
	errOut.Reset()
	if code := run([]string{"kv", "--dir", dir, "--client", "1", "--wait", "0s", "get", "k"}, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), "has not formed") {
		t.Errorf("kv against a stopped cluster: exit %d, stderr %q", code, errOut.String())
	}
	if code := run([]string{"kv", "--dir", dir, "--client", "9", "get", "k"}, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), "client 9 is not registered in cluster.json (registered clients: 1, 2, 3, 4, 5, 6, 7, 8)") {
		t.Errorf("kv with unknown credentials: exit %d, stderr %q", code, errOut.String())
	}
}

// closedPort returns a base port whose 12 ports nothing listens on, probably.
func closedPort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return min(port, 65000)
}

// TestStatusWatch runs one round of `status --watch` (its context already ended):
// the screen is cleared and the table redrawn from the top, and the exit status is
// that round's verdict.
func TestStatusWatch(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "c")
	var out, errOut bytes.Buffer
	if code := run([]string{"init", "--dir", dir, "--allow-dev-insecure", "--base-port", fmt.Sprint(closedPort(t))}, &out, &errOut); code != 0 {
		t.Fatalf("init: exit %d: %s", code, errOut.String())
	}
	tmpl, err := operator.LoadTemplate(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	out.Reset()
	code := statusWatch(ctx, tmpl, time.Second, time.Hour, false, &out, &errOut)
	if code != 2 || !strings.HasPrefix(out.String(), "\x1b[H\x1b[2J") || strings.Count(out.String(), "\x1b[2J") != 1 ||
		!strings.Contains(out.String(), "NO QUORUM") {
		t.Errorf("one watch round: exit %d\n%q", code, out.String())
	}
}
