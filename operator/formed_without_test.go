package operator

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/splitbft/splitbft/attest"
)

// TestFormedWithout drives the first decision of replica 3 starting without a genesis
// (SPEC §13.4, "Restarted during formation") against fake peers' status ports: join
// the genesis f+1 replicas serve, form when fewer do (whatever else is served: one
// replica formed alone, garbage, or f copies of a forged configuration), and refuse
// two valid configurations with f+1 copies each.
func TestFormedWithout(t *testing.T) {
	tmpl := validTemplate(t)
	good, other := assembled(t, tmpl, 1), assembled(t, tmpl, 2)
	garbage := []byte{0x83, 0x01}
	allow := attest.VerifierFunc(func([]byte) (attest.Report, error) { return attest.Report{}, errors.New("no ego evidence here") })
	for _, tc := range []struct {
		name  string
		serve [][]byte // replicas 0–3; 3 is the one deciding (nil: 503, not formed)
		want  []byte   // the genesis to join; nil: form
		err   string
	}{
		{"the peers formed", [][]byte{good, good, good, nil}, good, ""},
		{"f+1 peers formed, one is down", [][]byte{good, nil, good, nil}, good, ""},
		{"one peer formed", [][]byte{nil, good, nil, nil}, nil, ""},
		{"nobody formed", [][]byte{nil, nil, nil, nil}, nil, ""},
		{"one peer formed alone, another serves garbage", [][]byte{other, garbage, nil, nil}, nil, ""},
		{"f+1 formed, one peer formed alone", [][]byte{good, other, good, nil}, good, ""},
		{"two valid configurations with f+1 each", [][]byte{good, good, other, other}, nil, "two different valid configurations"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tmpl := validTemplate(t)
			serveConfigs(t, tmpl, tc.serve)
			rp := &replica{t: tmpl, opt: ReplicaOptions{ID: 3, Verifier: allow}, log: slog.New(slog.DiscardHandler)}
			got, err := rp.formedWithout(context.Background())
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %v, want an error containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("wrong genesis to join (-want +got):\n%s", diff)
			}
		})
	}
}
