package main

import (
	"bytes"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

var (
	viewsLine     = regexp.MustCompile(`(?m)^views +final view (\d+), (\d+) view change\(s\) seen; replica (\d+) \(primary of view 0\) killed at `)
	agreementLine = regexp.MustCompile(`(?m)^agreement +every live replica executed (\d+) batches; checkpoint (\d+) state digest [0-9a-f]{16} \(([r0-9,]+)\)$`)
	opsLine       = regexp.MustCompile(`(?m)^operations +(\d+) ok, 0 failed requests, 0 wrong results$`)
	passRE        = regexp.MustCompile(`PASS: ([0-9,]+) operations checked against a model of the store; (\d+) replicas agree on the state at checkpoint ([0-9,]+)\n$`)
)

// TestDemoKillPrimary runs `splitbft demo -duration 3s -kill-primary 1s`: the primary
// (replica 0 in view 0) is stopped mid-run, the cluster changes view and completes the
// run: exit status 0, no failed or wrong result, a final view above 0, and a common
// checkpoint digest on every live replica and only on them.
func TestDemoKillPrimary(t *testing.T) {
	if testing.Short() {
		t.Skip("a 3-second real-time run")
	}
	var out, errOut bytes.Buffer
	code := run([]string{"demo", "-duration", "3s", "-kill-primary", "1s", "-clients", "4", "-quiet"}, &out, &errOut)
	report := out.String()
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, report, errOut.String())
	}
	v := viewsLine.FindStringSubmatch(report)
	a := agreementLine.FindStringSubmatch(report)
	if v == nil || a == nil || opsLine.FindStringSubmatch(report) == nil {
		t.Fatalf("report lacks the views, agreement or operations line:\n%s", report)
	}
	view, _ := strconv.Atoi(v[1])
	killed := v[3]
	if view < 1 {
		t.Errorf("final view %d after killing the primary", view)
	}
	var want []string
	for i := range 4 {
		if strconv.Itoa(i) != killed {
			want = append(want, fmt.Sprintf("r%d", i))
		}
	}
	if who := strings.Split(a[3], ","); !slices.Equal(who, want) {
		t.Errorf("agreement among %v; want the live replicas %v", who, want)
	}
	if a[1] == "0" || a[1] != a[2] {
		t.Errorf("agreement on %s batches, checkpoint %s", a[1], a[2])
	}
	p := passRE.FindStringSubmatch(report)
	if p == nil || p[2] != "3" || strings.ReplaceAll(p[1], ",", "") != opsLine.FindStringSubmatch(report)[1] || strings.ReplaceAll(p[3], ",", "") != a[2] {
		t.Errorf("the last line is not the PASS line for %s: %q", a[0], p)
	}
}

func TestThousands(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 5800: "5,800", 1234567: "1,234,567", -1234: "-1,234"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestDemoKillPrimaryFlag(t *testing.T) {
	for _, args := range [][]string{{"-kill-primary", "-1s"}, {"-duration", "2s", "-kill-primary", "2s"}} {
		var out, errOut bytes.Buffer
		if code := run(append([]string{"demo"}, args...), &out, &errOut); code != 2 || !strings.Contains(errOut.String(), "-kill-primary") {
			t.Errorf("%q: exit %d, stderr %q; want 2 and a message about -kill-primary", args, code, errOut.String())
		}
	}
}
