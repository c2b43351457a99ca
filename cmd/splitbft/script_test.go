package main

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

// The CLI's behaviour end to end: testscript scripts in testdata/script/*.txtar run
// `splitbft` as a real command (this test binary, re-executed). Besides the standard
// commands they have:
//
//	exits N ARGS...                 run splitbft ARGS; fail unless it exits N
//	status-until N DIR              run `status --dir DIR` until it exits N (at most 2 minutes)
//	build-compartments DIR          go build the five compartment binaries into DIR
//	kill-compartment LOG ROLE       SIGKILL the ROLE compartment a replica's LOG says it started
//	log-until REGEXP LOG            wait until a line of LOG matches REGEXP (at most 30 seconds)
//	make-ledger DIR [SEED]          write a test cluster's DIR/config.cbor and a 12-batch DIR/ledger
//	ledger-delete DIR SEQ           delete the batch record of SEQ from the ledger in DIR
//
// and $BASEPORT, a base port whose 12 ports were free a moment ago. The live-cluster
// script skips itself with -short.

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"splitbft": func() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) },
	})
}

func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 filepath.Join("testdata", "script"),
		RequireExplicitExec: true,
		Setup: func(env *testscript.Env) error {
			port, err := freeBasePort()
			env.Setenv("BASEPORT", strconv.Itoa(port))
			return err
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"exits":              cmdExits,
			"status-until":       cmdStatusUntil,
			"build-compartments": cmdBuildCompartments,
			"kill-compartment":   cmdKillCompartment,
			"log-until":          cmdLogUntil,
			"make-ledger":        cmdMakeLedger,
			"ledger-delete":      cmdLedgerDelete,
		},
	})
}

// freeBasePort returns a port p such that p..p+11 could be bound just now.
func freeBasePort() (int, error) {
	for range 20 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		p := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if p+12 < 65535 && portsFree(p, 12) {
			return p, nil
		}
	}
	return 0, fmt.Errorf("no 12 consecutive free ports")
}

func portsFree(p, n int) bool {
	for i := range n {
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p+i))
		if err != nil {
			return false
		}
		l.Close()
	}
	return true
}

// cmdExits runs the splitbft command in the script's directory, with the script's
// stdout and stderr, and checks its exit status.
func cmdExits(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 1 {
		ts.Fatalf("usage: exits N ARGS...")
	}
	want, err := strconv.Atoi(args[0])
	ts.Check(err)
	cmd := exec.Command(scriptCommand(ts, "splitbft"), args[1:]...)
	cmd.Dir = ts.MkAbs(".")
	cmd.Env = append(os.Environ(), "PATH="+ts.Getenv("PATH"))
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	ts.Stdout().Write(out.Bytes())
	ts.Stderr().Write(errOut.Bytes())
	got := cmd.ProcessState.ExitCode()
	if err != nil && got < 0 {
		ts.Fatalf("splitbft %q: %v", args[1:], err)
	}
	if got != want {
		ts.Fatalf("splitbft %q exited %d, want %d\nstdout:\n%s\nstderr:\n%s", args[1:], got, want, out.String(), errOut.String())
	}
}

// scriptCommand finds a command on the script's PATH (where testscript installs this
// test binary as splitbft).
func scriptCommand(ts *testscript.TestScript, name string) string {
	for _, dir := range filepath.SplitList(ts.Getenv("PATH")) {
		if p := filepath.Join(dir, name); fileExists(p) {
			return p
		}
	}
	ts.Fatalf("%s is not on the script's PATH", name)
	return ""
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

// cmdStatusUntil polls `splitbft status --dir DIR` until it exits N: the cluster's
// processes need time to form, and to notice a dead compartment. It is bounded.
func cmdStatusUntil(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: status-until N DIR")
	}
	want, err := strconv.Atoi(args[0])
	ts.Check(err)
	deadline := time.Now().Add(2 * time.Minute)
	for {
		var out, errOut bytes.Buffer
		got := run([]string{"status", "--dir", ts.MkAbs(args[1]), "--timeout", "1s"}, &out, &errOut)
		if got == want {
			ts.Stdout().Write(out.Bytes())
			return
		}
		if time.Now().After(deadline) {
			ts.Fatalf("status still exits %d, want %d:\n%s%s", got, want, out.String(), errOut.String())
		}
		time.Sleep(250 * time.Millisecond) // polling a live cluster, not standing in for synchronisation
	}
}

// cmdBuildCompartments builds the compartment binaries into DIR.
func cmdBuildCompartments(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: build-compartments DIR")
	}
	ts.Check(os.MkdirAll(ts.MkAbs(args[0]), 0o755))
	cmd := exec.Command("go", "build", "-o", ts.MkAbs(args[0]), "./prep-a/cmd/prep-a", "./prep-b/cmd/prep-b",
		"./conf-a/cmd/conf-a", "./conf-b/cmd/conf-b", "./exec/cmd/exec")
	wd, err := os.Getwd()
	ts.Check(err)
	cmd.Dir = filepath.Join(wd, "..", "..") // the test runs in cmd/splitbft
	if out, err := cmd.CombinedOutput(); err != nil {
		ts.Fatalf("go build: %v\n%s", err, out)
	}
}

var startedRE = regexp.MustCompile(`msg="compartment started".* role=(\w+) .*pid=(\d+)`)

// cmdKillCompartment kills the compartment process of ROLE that the replica log LOG
// recorded starting.
func cmdKillCompartment(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: kill-compartment LOG ROLE")
	}
	for _, m := range startedRE.FindAllStringSubmatch(ts.ReadFile(args[0]), -1) {
		if m[1] == args[1] {
			pid, _ := strconv.Atoi(m[2])
			ts.Check(syscall.Kill(pid, syscall.SIGKILL))
			return
		}
	}
	ts.Fatalf("%s records no %s compartment starting", args[0], args[1])
}

// cmdLogUntil waits until a line of a replica's log matches: the replica logs events
// as its poll of the broker sees them.
func cmdLogUntil(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: log-until REGEXP LOG")
	}
	re, err := regexp.Compile("(?m)" + args[0])
	ts.Check(err)
	deadline := time.Now().Add(30 * time.Second)
	for !re.MatchString(ts.ReadFile(args[1])) {
		if time.Now().After(deadline) {
			ts.Fatalf("%s has no line matching %s:\n%s", args[1], args[0], ts.ReadFile(args[1]))
		}
		time.Sleep(100 * time.Millisecond) // polling a live process's log
	}
}
