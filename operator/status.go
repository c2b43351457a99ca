package operator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"text/tabwriter"
	"time"
)

// ReplicaStatus is a replica's answer to GET /status (JSON). Nothing in it is trusted:
// it is what the replica's host says.
type ReplicaStatus struct {
	Replica      uint64              `json:"replica"`
	Cluster      string              `json:"cluster"`
	Phase        string              `json:"phase"` // PhaseStarting, PhaseForming, PhaseJoining, PhaseRejoining, PhaseRecovering, PhaseRunning
	Error        string              `json:"error,omitempty"`
	ConfigDigest string              `json:"config_digest,omitempty"` // hex, once formed
	Epoch        uint64              `json:"epoch"`                   // of the configuration served (SPEC §17)
	EpochStart   uint64              `json:"epoch_start"`             // its StartSeq
	Admitted     int                 `json:"admitted"`                // fresh compartments admitted since the replica started
	DevInsecure  bool                `json:"dev_insecure"`            // some enrollment has dev-insecure evidence
	Primary      uint64              `json:"primary"`                 // primary of the prep's view
	Compartments []CompartmentStatus `json:"compartments"`            // prep, conf, exec
	// Stable is the exec's stable checkpoint with its state digest, when the exec
	// itself emitted a checkpoint at that sequence number (State is empty otherwise,
	// for example after a state transfer).
	Stable      CheckpointStatus   `json:"stable"`
	Checkpoints []CheckpointStatus `json:"checkpoints"` // the exec's recent own checkpoints, oldest first
	// Gateway holds the Redis gateway's counters (SPEC.md §16), when the replica runs
	// one; GatewayError says why they could not be read.
	Gateway      GatewayStats `json:"gateway,omitempty"`
	GatewayError string       `json:"gateway_error,omitempty"`
	// Ledger is the durable ledger's state (SPEC.md §13.5); nil when it is off.
	Ledger *LedgerStatus `json:"ledger,omitempty"`
}

// Replica phases.
const (
	PhaseStarting = "starting" // compartment processes starting
	PhaseForming  = "forming"  // exchanging enrollments and the group key with peers
	PhaseJoining  = "joining"  // restarted during formation: waiting for the configuration its peers formed (SPEC §13.4)
	PhaseRunning  = "running"  // configured; the broker runs
)

// CompartmentStatus is one compartment's state as its last Status output said.
type CompartmentStatus struct {
	Role        string `json:"role"`
	Build       string `json:"build"`
	Alive       bool   `json:"alive"`
	Error       string `json:"error,omitempty"` // why it is dead
	Configured  bool   `json:"configured"`
	View        uint64 `json:"view"`
	ViewActive  bool   `json:"view_active"`
	Last        uint64 `json:"last"`   // prep: last assigned/prepared; conf: last committed; exec: last executed
	Stable      uint64 `json:"stable"` // stable checkpoint sequence number
	NeedState   bool   `json:"need_state,omitempty"`
	Attestation string `json:"attestation"`   // attest.Result.State() of its enrollment, once formed
	Pid         int    `json:"pid,omitempty"` // its process, when it runs as one
}

// CheckpointStatus is a checkpoint sequence number and state digest (hex).
type CheckpointStatus struct {
	Seq   uint64 `json:"seq"`
	State string `json:"state,omitempty"`
}

// StatusResult is one replica's status as fetched, or why it could not be.
type StatusResult struct {
	Replica uint64
	Status  *ReplicaStatus
	Err     error
}

// FetchStatus queries GET /status of every replica of the template concurrently, each
// with timeout.
func FetchStatus(ctx context.Context, t *Template, timeout time.Duration) []StatusResult {
	out := make([]StatusResult, len(t.Replicas))
	var wg sync.WaitGroup
	for i := range t.Replicas {
		wg.Go(func() {
			out[i].Replica = uint64(i)
			var st ReplicaStatus
			if err := getJSON(ctx, t.Replicas[i].Status, "/status", timeout, &st); err != nil {
				out[i].Err = err
				return
			}
			out[i].Status = &st
		})
	}
	wg.Wait()
	return out
}

// getJSON fetches http://addr/path and decodes its JSON body into v.
func getJSON(ctx context.Context, addr, path string, timeout time.Duration, v any) error {
	raw, err := httpGet(ctx, addr, path, timeout, 1<<20)
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, v)
}

// httpGet fetches http://addr/path, failing on any status but 200 or a body over max.
// PhaseHeader is the header with which a replica's status port says, on an answer
// other than 200, the phase that made it (PhaseRecovering on /chain while it
// recovers the whole cluster).
const PhaseHeader = "Splitbft-Phase"

// statusError is httpGet's error for an answer other than 200 OK.
type statusError struct {
	code  int
	phase string // the answer's PhaseHeader
	msg   string
}

func (e *statusError) Error() string { return e.msg }

// isRecoveringAnswer reports whether err is the answer of a replica that recovers
// the whole cluster.
func isRecoveringAnswer(err error) bool {
	var se *statusError
	return errors.As(err, &se) && se.phase == PhaseRecovering
}

// isRestartedAnswer reports whether err is the /chain answer of a replica that
// restarted and serves no chain: it recovers the whole cluster, or waits for f+1
// chains to rejoin.
func isRestartedAnswer(err error) bool {
	var se *statusError
	return errors.As(err, &se) && (se.phase == PhaseRecovering || se.phase == PhaseRejoining)
}

func httpGet(ctx context.Context, addr, path string, timeout time.Duration, max int64) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+path, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, max+1))
	switch {
	case err != nil:
		return nil, err
	case resp.StatusCode != http.StatusOK:
		return nil, &statusError{code: resp.StatusCode, phase: resp.Header.Get(PhaseHeader), msg: fmt.Sprintf("GET %s%s: %s: %s", addr, path, resp.Status, strings.TrimSpace(string(body[:min(len(body), 200)])))}
	case int64(len(body)) > max:
		return nil, fmt.Errorf("GET %s%s: answer over %d bytes", addr, path, max)
	}
	return body, nil
}

// WriteStatusTable prints one row per compartment of every replica: replica (with
// "*" on the primary of the current view), role, build, view, last executed (or
// prepared/committed), stable checkpoint, attestation state, alive/dead and the
// replica's health; an unreachable replica is one row saying so. It ends with the
// stable checkpoint digests and h's one-line verdict.
func WriteStatusTable(w io.Writer, results []StatusResult, h *Health) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "REPLICA\tPHASE\tROLE\tBUILD\tVIEW\tLAST\tSTABLE\tATTESTATION\tSTATE\tHEALTH")
	for i, r := range results {
		id, health := fmt.Sprint(r.Replica), "ok"
		if r.Replica == h.Primary {
			id += "*"
		}
		if i < len(h.Replicas) && !h.Replicas[i].Healthy {
			health = h.Replicas[i].Problem
		}
		if r.Err != nil {
			fmt.Fprintf(tw, "%s\tunreachable\t-\t-\t-\t-\t-\t-\t%s\t%s\n", id, oneLine(r.Err.Error()), health)
			continue
		}
		writeCompartmentRows(tw, id, r.Status, health)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	writeStableDigests(w, results)
	writeGatewayLines(w, results)
	fmt.Fprintln(w, h.Summary())
	return nil
}

// writeCompartmentRows writes a reachable replica's rows.
func writeCompartmentRows(tw io.Writer, id string, st *ReplicaStatus, health string) {
	for _, c := range st.Compartments {
		state := "alive"
		if !c.Alive {
			state = "DEAD: " + oneLine(c.Error)
		}
		view := fmt.Sprint(c.View)
		if !c.ViewActive {
			view += " (changing)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%d\t%s\t%s\t%s\n", id, st.Phase, c.Role, c.Build, view, c.Last, c.Stable, orDash(c.Attestation), state, health)
	}
	if st.Error != "" {
		fmt.Fprintf(tw, "%s\t%s\t-\t-\t-\t-\t-\t-\terror: %s\t%s\n", id, st.Phase, oneLine(st.Error), health)
	}
}

// writeStableDigests prints each reachable replica's stable checkpoint digest, the
// evidence that replicas agree on the state.
func writeStableDigests(w io.Writer, results []StatusResult) {
	for _, r := range results {
		if r.Status != nil && r.Status.Stable.State != "" {
			fmt.Fprintf(w, "replica %d: stable checkpoint %d state %s\n", r.Replica, r.Status.Stable.Seq, r.Status.Stable.State)
		}
	}
}

func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > 120 {
		s = s[:117] + "..."
	}
	return s
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
