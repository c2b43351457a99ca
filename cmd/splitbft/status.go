package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/signal"
	"syscall"
	"time"

	"github.com/splitbft/splitbft/operator"
)

const statusUsage = `usage: splitbft status --dir DIR [--json] [--watch [--every D]]

Queries GET /status of every replica of the cluster in DIR and prints, per compartment:
replica ("*" marks the primary of the current view), phase, role, build, view, last
executed (prep: prepared, conf: committed), stable checkpoint, attestation state,
alive/dead and the replica's health; then each replica's stable checkpoint digest and
one verdict line: the current view and primary, how many replicas are healthy and
whether they form a quorum (2f+1). A replica is healthy when it is reachable, running,
all three compartments are alive, it formed the configuration most replicas formed,
and its prep and conf are in the current view.

--watch redraws the table in place every --every until interrupted (exit status of the
last round).

Exit status (for scripts and monitors):
  0  healthy: every replica healthy
  1  degraded: some replica or compartment down, unreachable, in another view or
     configuration, but a quorum of 2f+1 replicas healthy
  2  no quorum: fewer than 2f+1 healthy replicas (the cluster cannot make progress),
     or a usage error
  3  the cluster directory cannot be read

example:
  splitbft status --dir /tmp/sbft
  splitbft status --dir /tmp/sbft --watch --every 2s`

// statusMain is `splitbft status`: every replica's view, progress, builds and
// attestation state, as a table or JSON, and the cluster's health as the exit status.
func statusMain(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("status", statusUsage, stderr)
	dir := fs.String("dir", "", "cluster directory (required)")
	asJSON := fs.Bool("json", false, "print the replicas' /status documents and the health verdict as JSON")
	timeout := fs.Duration("timeout", 3*time.Second, "per replica")
	watch := fs.Bool("watch", false, "refresh in place until interrupted")
	every := fs.Duration("every", time.Second, "refresh period of --watch")
	words, err := parseFlags(fs, args, stdout)
	if err == nil && (*dir == "" || len(words) > 0) {
		err = errors.New("--dir is required and takes no arguments")
	}
	if err == nil && *every <= 0 {
		err = errors.New("--every must be positive")
	}
	if err != nil {
		return usageError("status", err, stderr)
	}
	t, err := operator.LoadTemplate(*dir)
	if err != nil {
		fmt.Fprintf(stderr, "splitbft status: %v\n", err)
		return 3
	}
	if !*watch {
		return statusOnce(context.Background(), t, *timeout, *asJSON, stdout, stderr)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	return statusWatch(ctx, t, *timeout, *every, *asJSON, stdout, stderr)
}

// statusOnce prints the status once and returns the health's exit code.
func statusOnce(ctx context.Context, t *operator.Template, timeout time.Duration, asJSON bool, stdout, stderr io.Writer) int {
	results := operator.FetchStatus(ctx, t, timeout)
	h := operator.AssessHealth(t, results)
	if err := printStatus(stdout, results, h, asJSON); err != nil {
		fmt.Fprintf(stderr, "splitbft status: %v\n", err)
		return 3
	}
	return h.ExitCode()
}

// statusWatch redraws the status every period until ctx ends: the cursor goes home
// and the screen below is cleared before each round (ANSI), so the table refreshes
// in place.
func statusWatch(ctx context.Context, t *operator.Template, timeout, every time.Duration, asJSON bool, stdout, stderr io.Writer) int {
	code := 0
	for {
		var buf bytes.Buffer
		code = statusOnce(ctx, t, timeout, asJSON, &buf, stderr)
		fmt.Fprintf(stdout, "\x1b[H\x1b[2J%s  (every %s; %s)\n%s", time.Now().Format(time.TimeOnly), every, "Ctrl-C to stop", buf.Bytes())
		select {
		case <-ctx.Done():
			return code
		case <-time.After(every):
		}
	}
}

// printStatus writes the results as a table, or as JSON: one entry per replica (a
// null status for an unreachable one, with its error) and the health verdict.
func printStatus(w io.Writer, results []operator.StatusResult, h *operator.Health, asJSON bool) error {
	if !asJSON {
		return operator.WriteStatusTable(w, results, h)
	}
	type entry struct {
		Replica uint64                  `json:"replica"`
		Status  *operator.ReplicaStatus `json:"status"`
		Error   string                  `json:"error,omitempty"`
		Healthy bool                    `json:"healthy"`
		InView  bool                    `json:"in_view"`
		Problem string                  `json:"problem,omitempty"`
	}
	out := struct {
		Replicas []entry `json:"replicas"`
		View     uint64  `json:"view"`
		Primary  uint64  `json:"primary"`
		Healthy  int     `json:"healthy"`
		Quorum   bool    `json:"quorum"`
		Exit     int     `json:"exit"`
	}{View: h.View, Primary: h.Primary, Healthy: h.Healthy, Quorum: h.Quorum, Exit: h.ExitCode()}
	for i, r := range results {
		e := entry{Replica: r.Replica, Status: r.Status}
		if r.Err != nil {
			e.Error = r.Err.Error()
		}
		rh := h.Replicas[i]
		e.Healthy, e.InView, e.Problem = rh.Healthy, rh.InView, rh.Problem
		out.Replicas = append(out.Replicas, e)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
