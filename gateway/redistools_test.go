package gateway

import (
	"context"
	"encoding/csv"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// needTool skips the test when a Redis command-line tool is not installed (CI
// installs Debian's redis-tools).
func needTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s not installed (apt-get install redis-tools): skipping", name)
	}
	return p
}

// runTool runs a tool with a deadline and returns its standard output.
func runTool(t testing.TB, bin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, args...).Output()
	if err != nil {
		t.Fatalf("%s %q: %v\n%s", bin, args, err, out)
	}
	return string(out)
}

func portArg(addr string) string {
	_, p, _ := net.SplitHostPort(addr)
	return p
}

// TestRedisCLI runs the unmodified redis-cli against a gateway in front of a real
// cluster and checks its printed answers.
func TestRedisCLI(t *testing.T) {
	cli := needTool(t, "redis-cli")
	_, _, addr := startCluster(t, -1)
	p := portArg(addr)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"PING"}, "PONG\n"},
		{[]string{"SET", "cli:a", "hello"}, "OK\n"},
		{[]string{"GET", "cli:a"}, "hello\n"},
		{[]string{"APPEND", "cli:a", " world"}, "11\n"},
		{[]string{"INCRBY", "cli:n", "41"}, "41\n"},
		{[]string{"INCR", "cli:n"}, "42\n"},
		{[]string{"MGET", "cli:a", "cli:none", "cli:n"}, "hello world\n\n42\n"},
		{[]string{"DEL", "cli:a", "cli:n", "cli:none"}, "2\n"},
		{[]string{"EXISTS", "cli:a"}, "0\n"},
		{[]string{"MULTI"}, "ERR MULTI/EXEC transactions are not supported by the SplitBFT gateway\n\n"},
	}
	for _, c := range cases {
		if got := runTool(t, cli, append([]string{"-p", p}, c.args...)...); got != c.want {
			t.Errorf("redis-cli %q: got %q, want %q", c.args, got, c.want)
		}
	}
	if got := runTool(t, cli, "-3", "-p", p, "GET", "cli:none"); got != "\n" {
		t.Errorf("redis-cli -3 GET of a missing key: got %q", got)
	}
	if info := runTool(t, cli, "-p", p, "INFO"); !strings.Contains(info, "splitbft_gateway:1") {
		t.Errorf("INFO: %q", info)
	}
}

// benchRates runs redis-benchmark with --csv and returns requests per second by test
// name (SET, GET), failing unless both are present and positive.
func benchRates(t testing.TB, bin string, args ...string) map[string]float64 {
	t.Helper()
	out := runTool(t, bin, append(args, "--csv")...)
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatalf("redis-benchmark output is not CSV: %v\n%s", err, out)
	}
	rates := map[string]float64{}
	for _, r := range rows {
		if len(r) >= 2 {
			if v, err := strconv.ParseFloat(r[1], 64); err == nil {
				rates[r[0]] = v
			}
		}
	}
	for _, k := range []string{"SET", "GET"} {
		if rates[k] <= 0 {
			t.Fatalf("redis-benchmark: no positive rate for %s in:\n%s", k, out)
		}
	}
	return rates
}

// TestRedisBenchmarkSmoke runs a short unmodified redis-benchmark against the gateway,
// without and with pipelining, and checks that it parsed rates for SET and GET and
// that the keys it wrote are there.
func TestRedisBenchmarkSmoke(t *testing.T) {
	bench := needTool(t, "redis-benchmark")
	_, g, addr := startCluster(t, -1)
	p := portArg(addr)
	plain := benchRates(t, bench, "-p", p, "-t", "set,get", "-n", "400", "-c", "8")
	piped := benchRates(t, bench, "-p", p, "-t", "set,get", "-n", "2000", "-c", "8", "-P", "16")
	t.Logf("redis-benchmark via the gateway: SET %.0f/s GET %.0f/s; with -P 16: SET %.0f/s GET %.0f/s",
		plain["SET"], plain["GET"], piped["SET"], piped["GET"])
	if s := g.Stats(); s.Failed != 0 || s.ProtocolErrors != 0 || s.Ordered < 4800 {
		t.Fatalf("gateway stats after the benchmark: %+v", s)
	}
}
