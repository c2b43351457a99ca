package operator

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// This file runs a replica's Redis gateway (SPEC.md §16): its template entries, the
// gateway process `splitbft replica` starts, and the counters status and metrics show.

// gatewayClients is the number of client identities init creates for gateways.
func gatewayClients(opt InitOptions, n uint64) int {
	if opt.RedisPort == 0 {
		return 0
	}
	return int(n) * max(opt.GatewayClients, 1)
}

// assignGateways gives replica i the gateway address 127.0.0.1:RedisPort+i and its
// share of the client ids after opt.Clients.
func assignGateways(t *Template, opt InitOptions) {
	if opt.RedisPort == 0 {
		return
	}
	per := max(opt.GatewayClients, 1)
	for i := range t.Replicas {
		rt := &t.Replicas[i]
		rt.Redis = net.JoinHostPort("127.0.0.1", strconv.Itoa(opt.RedisPort+i))
		for k := range per {
			rt.GatewayClients = append(rt.GatewayClients, uint64(opt.Clients+i*per+k+1))
		}
	}
}

// checkGateways checks the gateway entries: a loopback address (plain TCP is for
// development only, SPEC.md §16.2), registered client ids, none used by two gateways.
func (t *Template) checkGateways() error {
	registered := map[uint64]bool{}
	for _, c := range t.Clients {
		registered[c.ID] = true
	}
	used := map[uint64]uint64{}
	for i, rt := range t.Replicas {
		if rt.Redis == "" {
			if len(rt.GatewayClients) > 0 {
				return tmplErr("replica %d: gateway_clients without a redis address", i)
			}
			continue
		}
		if err := checkLoopback(rt.Redis); err != nil {
			return tmplErr("replica %d: redis: %v", i, err)
		}
		if len(rt.GatewayClients) == 0 {
			return tmplErr("replica %d: a redis gateway needs gateway_clients", i)
		}
		for _, id := range rt.GatewayClients {
			if !registered[id] {
				return tmplErr("replica %d: gateway client %d is not registered", i, id)
			}
			if other, dup := used[id]; dup {
				return tmplErr("replica %d: gateway client %d is also replica %d's", i, id, other)
			}
			used[id] = uint64(i)
		}
	}
	return nil
}

// checkLoopback accepts host:port on a loopback host only.
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("%q is not a loopback address: the gateway serves plain TCP for development only (SPEC.md §16.2)", addr)
	}
	return nil
}

// GatewayPackage is the main package of the gateway binary.
const GatewayPackage = modulePath + "/gateway/cmd/gateway"

// startGateway starts the replica's gateway process when its template entry asks for
// one: binDir/gateway (built there on demand when build is set). The process ends
// with ctx.
func startGateway(ctx context.Context, dir string, id uint64, rt *ReplicaTemplate, binDir string, build bool, stderr io.Writer) (*exec.Cmd, error) {
	if rt.Redis == "" {
		return nil, nil
	}
	bin := filepath.Join(binDir, "gateway")
	if _, err := os.Stat(bin); err != nil {
		if !build {
			return nil, fmt.Errorf("operator: no gateway binary in %s (go build -o %s %s)", binDir, bin, GatewayPackage)
		}
		if err := goBuildPackage(ctx, GatewayPackage, bin); err != nil {
			return nil, err
		}
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, bin, "--dir", abs, "--id", strconv.FormatUint(id, 10))
	cmd.Stdout, cmd.Stderr = stderr, stderr
	setDeathSignal(cmd)
	return cmd, cmd.Start()
}

// goBuildPackage builds pkg of the module containing the working directory into out.
func goBuildPackage(ctx context.Context, pkg, out string) error {
	root, err := moduleRoot(ctx)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	tmp := fmt.Sprintf("%s.tmp%d", out, os.Getpid())
	cmd := exec.CommandContext(ctx, "go", "build", "-o", tmp, pkg)
	cmd.Dir = root
	if msg, err := cmd.CombinedOutput(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("operator: go build %s: %v\n%s", pkg, err, msg)
	}
	return os.Rename(tmp, out)
}

// GatewayStats are a gateway's counters as its INFO reply gives them (names without
// the "splitbft_gateway_" prefix: connections, commands, ordered_ops, requests, ...).
type GatewayStats map[string]uint64

// FetchGatewayStats asks the gateway at addr for INFO over RESP and parses its
// counters. It reads at most 64 KiB.
func FetchGatewayStats(ctx context.Context, addr string, timeout time.Duration) (GatewayStats, error) {
	d := net.Dialer{Timeout: timeout}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(timeout))
	if _, err := c.Write([]byte("INFO\r\n")); err != nil {
		return nil, err
	}
	br := bufio.NewReader(io.LimitReader(c, 64<<10))
	head, err := br.ReadString('\n')
	if err != nil || !strings.HasPrefix(head, "$") {
		return nil, fmt.Errorf("operator: gateway %s: INFO reply %q: %v", addr, strings.TrimSpace(head), err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(head[1:]))
	if err != nil || n < 0 || n > 60<<10 {
		return nil, fmt.Errorf("operator: gateway %s: bad INFO length %q", addr, strings.TrimSpace(head))
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(br, body); err != nil {
		return nil, err
	}
	return parseGatewayInfo(string(body)), nil
}

// parseGatewayInfo extracts the "splitbft_gateway_<name>:<n>" lines.
func parseGatewayInfo(info string) GatewayStats {
	st := GatewayStats{}
	for _, line := range strings.Split(info, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		name, pre := strings.CutPrefix(k, "splitbft_gateway_")
		if n, err := strconv.ParseUint(v, 10, 64); ok && pre && err == nil {
			st[name] = n
		}
	}
	return st
}

// runGateway starts the replica's gateway, if any, and logs when it ends.
func (rp *replica) runGateway(ctx context.Context) {
	me := &rp.t.Replicas[rp.opt.ID]
	binDir, build := rp.opt.BinDir, false
	if binDir == "" {
		binDir, build = filepath.Join(rp.opt.Dir, "bin"), true
	}
	cmd, err := startGateway(ctx, rp.opt.Dir, rp.opt.ID, me, binDir, build, rp.opt.Stderr)
	if err != nil {
		rp.log.Error("redis gateway did not start", "err", err)
		return
	}
	if cmd == nil {
		return
	}
	rp.log.Info("redis gateway started", "listen", me.Redis, "clients", me.GatewayClients, "pid", cmd.Process.Pid)
	err = cmd.Wait()
	if ctx.Err() == nil {
		rp.log.Error("redis gateway exited", "err", err)
	}
}

// gatewayStats reads the gateway's counters for a status snapshot.
func (n *node) gatewayStats(ctx context.Context) (GatewayStats, string) {
	addr := n.t.Replicas[n.id].Redis
	if addr == "" {
		return nil, ""
	}
	st, err := FetchGatewayStats(ctx, addr, time.Second)
	if err != nil {
		return nil, err.Error()
	}
	return st, ""
}

// gatewayMetrics calls emit for each of the gateway's counters, in name order: its
// metric name, type ("counter", or "gauge" for connections), help and value. It is
// independent of the exposition code so that the metrics writer only forwards.
func gatewayMetrics(st GatewayStats, emit func(name, typ, help string, v float64)) {
	for _, k := range slices.Sorted(maps.Keys(st)) {
		typ := "counter"
		if k == "connections" {
			typ = "gauge"
		}
		emit("splitbft_gateway_"+k, typ, "Redis gateway (SPEC.md §16): "+strings.ReplaceAll(k, "_", " "), float64(st[k]))
	}
}

// writeGatewayLines prints one line per replica running a gateway.
func writeGatewayLines(w io.Writer, results []StatusResult) {
	for _, r := range results {
		switch {
		case r.Status == nil:
		case r.Status.GatewayError != "":
			fmt.Fprintf(w, "replica %d: redis gateway unreachable: %s\n", r.Replica, oneLine(r.Status.GatewayError))
		case r.Status.Gateway != nil:
			g := r.Status.Gateway
			fmt.Fprintf(w, "replica %d: redis gateway: %d connections, %d commands, %d ordered ops in %d requests, %d failed\n",
				r.Replica, g["connections"], g["commands"], g["ordered_ops"], g["requests"], g["failed"])
		}
	}
}
