package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/splitbft/splitbft/conformance/swarm"
)

// TestSimRunsSeeds runs three seeds through splitbft-sim and checks the progress
// line and the summary.
func TestSimRunsSeeds(t *testing.T) {
	var out, errb bytes.Buffer
	code := run([]string{"-seeds", "3", "-from", "7", "-j", "2", "-progress", "0s", "-out", t.TempDir()}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errb.String())
	}
	for _, want := range []string{"sim: 3/3 seeds (100%), 0 failed", "sim: 3 seeds from 7 (mixed): 0 failed;", "requests completed"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

// TestSimReplaysScenario writes the scenario of a run caught by a mutant and replays
// it with `splitbft-sim -scenario`: the same failure, every event printed.
func TestSimReplaysScenario(t *testing.T) {
	dir := t.TempDir()
	rep := swarm.Run(swarm.Options{Seed: 2, Mutant: swarm.MutantConfNoPrePrepare, SkipNVersion: true, ScenarioDir: dir})
	if rep.Failure == nil || rep.Scenario == "" {
		t.Fatalf("seed 2 with mutant %s: want a failure and a scenario file, got %s", swarm.MutantConfNoPrePrepare, rep)
	}
	var out, errb bytes.Buffer
	if code := run([]string{"-scenario", rep.Scenario}, &out, &errb); code != 1 {
		t.Fatalf("replay exit %d, want 1\nstderr:\n%s", code, errb.String())
	}
	if !strings.Contains(out.String(), rep.Failure.Error()) {
		t.Errorf("replay did not reproduce %q; tail:\n%s", rep.Failure.Error(), lastLines(out.String(), 5))
	}
	if strings.Count(out.String(), "\n") < 100 {
		t.Errorf("replay printed %d lines; want every event", strings.Count(out.String(), "\n"))
	}
}

// TestSimBadFlags checks that bad flags get a clear message and exit code 2.
func TestSimBadFlags(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "none.json")
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"-seeds", "0"}, "-seeds 0: want at least 1"},
		{[]string{"-j", "0"}, "-j 0: want at least 1"},
		{[]string{"-profile", "chaos"}, `-profile "chaos": unknown`},
		{[]string{"-scenario", missing}, "none.json"},
		{[]string{"-mutant", "nope"}, `-mutant "nope": unknown`},
		{[]string{"-log", filepath.Join(missing, "x.log")}, "-log: "},
	}
	for _, tc := range cases {
		var out, errb bytes.Buffer
		if code := run(tc.args, &out, &errb); code != 2 || !strings.Contains(errb.String(), tc.want) {
			t.Errorf("sim %v: exit %d, stderr %q; want 2 and %q", tc.args, code, errb.String(), tc.want)
		}
	}
	if _, err := os.Stat(missing); err == nil {
		t.Fatal("scenario file appeared")
	}
}

// lastLines returns the last n lines of s.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// TestSimMutantDebug runs one seed with a mutant deployed and every event logged: the
// seed catches it (exit 1, the catch count printed) and the log holds the events.
func TestSimMutantDebug(t *testing.T) {
	logPath := filepath.Join(t.TempDir(), "events.log")
	var out, errb bytes.Buffer
	args := []string{"-seeds", "1", "-from", "2", "-mutant", string(swarm.MutantConfNoPrePrepare), "-log", logPath, "-progress", "0s", "-out", t.TempDir()}
	if code := run(args, &out, &errb); code != 1 {
		t.Fatalf("exit %d, want 1 (the mutant caught)\nstdout:\n%s\nstderr:\n%s", code, out.String(), errb.String())
	}
	if want := "mutant " + string(swarm.MutantConfNoPrePrepare) + " caught by 1 of 1 seeds"; !strings.Contains(out.String(), want) {
		t.Errorf("output lacks %q:\n%s", want, out.String())
	}
	b, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(b, []byte("\n")); n < 100 {
		t.Errorf("event log has %d lines; want every event", n)
	}
}

// TestSimWholeRestart runs a seed whose parameters place no whole-cluster restart with
// -whole-restart: the summary counts one restart, recovered. Then the scenario of
// a run caught by the lower-head mutant (its restart placed by -whole-restart's
// option) replays to the same durability failure: the restart's step travels in
// the scenario's parameters.
func TestSimWholeRestart(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"-seeds", "1", "-from", "22", "-whole-restart", "-j", "1", "-progress", "0s", "-out", t.TempDir()}, &out, &errb); code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errb.String())
	}
	if want := "1 whole-cluster restarts (1 recovered)"; !strings.Contains(out.String(), want) {
		t.Errorf("output lacks %q:\n%s", want, out.String())
	}
	rep := swarm.Run(swarm.Options{Seed: 23, WholeRestart: true, Mutant: swarm.MutantToolLowHead, SkipNVersion: true, ScenarioDir: t.TempDir()})
	if rep.Failure == nil || rep.Failure.Oracle != "durability" || rep.Scenario == "" {
		t.Fatalf("seed 23 with mutant %s: want a durability failure and a scenario file, got %s", swarm.MutantToolLowHead, rep)
	}
	out.Reset()
	if code := run([]string{"-scenario", rep.Scenario}, &out, &errb); code != 1 || !strings.Contains(out.String(), rep.Failure.Error()) {
		t.Errorf("replay exit %d did not reproduce %q; tail:\n%s", code, rep.Failure.Error(), lastLines(out.String(), 5))
	}
}
