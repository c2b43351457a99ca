package operator

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/splitbft/splitbft/attest"
	"github.com/splitbft/splitbft/spec"
)

// TestFormedWithout drives the first decision of replica 3 starting without a genesis
// but with the record of an earlier formation attempt (SPEC §13.4, "Restarted during
// formation") against fake peers' status ports: join the genesis f+1 replicas serve
// that holds the recorded enrollments; form when fewer serve it, whatever else is
// served (one replica formed alone, garbage, f copies of a forged configuration, or
// f+1 copies of a valid configuration of the template formed without the recorded
// attempt: an older cluster, or copies replayed by someone on the network); refuse
// two valid configurations with f+1 copies each.
func TestFormedWithout(t *testing.T) {
	tmpl := validTemplate(t)
	good, other := assembled(t, tmpl, 1), assembled(t, tmpl, 2)
	var g spec.Config
	if err := spec.Decode(good, &g, spec.MaxMessageBytes); err != nil {
		t.Fatal(err)
	}
	attempt := &ReplicaEnrollments{Replica: 3, Enrollments: []spec.Enrollment{g.Replicas[3].Prep, g.Replicas[3].Conf, g.Replicas[3].Exec}}
	holds := func(cfg *spec.Config) bool { return holdsEnrollments(cfg, 3, attempt) }
	garbage := []byte{0x83, 0x01}
	allow := attest.VerifierFunc(func([]byte) (attest.Report, error) { return attest.Report{}, errors.New("no ego evidence here") })
	for _, tc := range []struct {
		name  string
		serve [][]byte // replicas 0–3; 3 is the one deciding (nil: 503, not formed)
		want  []byte   // the genesis to join; nil: form
		err   string
		// anyCopy: every valid copy would hold the attempt (two formations with it
		// cannot happen among correct replicas; this checks the refusal)
		anyCopy bool
	}{
		{"the peers formed", [][]byte{good, good, good, nil}, good, "", false},
		{"f+1 peers formed, one is down", [][]byte{good, nil, good, nil}, good, "", false},
		{"one peer formed", [][]byte{nil, good, nil, nil}, nil, "", false},
		{"nobody formed", [][]byte{nil, nil, nil, nil}, nil, "", false},
		{"one peer formed alone, another serves garbage", [][]byte{other, garbage, nil, nil}, nil, "", false},
		{"f+1 formed, one peer formed alone", [][]byte{good, other, good, nil}, good, "", false},
		{"f+1 serve a configuration without the attempt", [][]byte{other, other, other, nil}, nil, "", false},
		{"two valid configurations with f+1 each, both with the attempt", [][]byte{good, good, other, other}, nil, "two different valid configurations", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tmpl := validTemplate(t)
			serveConfigs(t, tmpl, tc.serve)
			hold := holds
			if tc.anyCopy {
				hold = func(*spec.Config) bool { return true }
			}
			rp := &replica{t: tmpl, opt: ReplicaOptions{ID: 3, Verifier: allow}, log: slog.New(slog.DiscardHandler)}
			got, err := rp.formedWithout(context.Background(), hold)
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

// TestFormingRecord: every formation attempt is added to the record, oldest first and
// at most maxAttempts; a record that does not decode, or entries for another replica,
// count as no attempt.
func TestFormingRecord(t *testing.T) {
	tmpl := validTemplate(t)
	_, enr := testReplicas(t, tmpl, 6)
	rp := &replica{t: tmpl, opt: ReplicaOptions{ID: 2, Dir: t.TempDir()}, log: slog.New(slog.DiscardHandler)}
	if got := rp.earlierAttempts(); len(got) != 0 {
		t.Fatalf("no record: %d attempts", len(got))
	}
	attempt := func(i int) ReplicaEnrollments {
		return ReplicaEnrollments{Replica: 2, Enrollments: enr[i%len(enr)][:]}
	}
	for i := range maxAttempts + 3 {
		if err := rp.recordAttempt(attempt(i)); err != nil {
			t.Fatal(err)
		}
		got := rp.earlierAttempts()
		want := min(i+1, maxAttempts)
		if len(got) != want {
			t.Fatalf("after %d attempts the record holds %d, want %d", i+1, len(got), want)
		}
		if diff := cmp.Diff(spec.Encode(&got[want-1]), spec.Encode(ptr(attempt(i)))); diff != "" {
			t.Fatalf("the last attempt recorded differs (-got +want):\n%s", diff)
		}
	}
	path := filepath.Join(replicaDir(rp.opt.Dir, 2), FormingFile)
	other := spec.Encode(&FormingRecord{Attempts: []ReplicaEnrollments{{Replica: 1, Enrollments: enr[1][:]}, attempt(0)}})
	for _, tc := range []struct {
		name string
		raw  []byte
		want int
	}{{"garbage", []byte{0x83, 0x01}, 0}, {"another replica's entry", other, 1}} {
		if err := os.WriteFile(path, tc.raw, 0o644); err != nil {
			t.Fatal(err)
		}
		if got := rp.earlierAttempts(); len(got) != tc.want {
			t.Errorf("%s: %d attempts, want %d", tc.name, len(got), tc.want)
		}
	}
}

func ptr[T any](v T) *T { return &v }

// TestHoldsEnrollments: a configuration holds an attempt only with all three of its
// enrollments in this replica's slot.
func TestHoldsEnrollments(t *testing.T) {
	tmpl := validTemplate(t)
	var g, o spec.Config
	if err := spec.Decode(assembled(t, tmpl, 1), &g, spec.MaxMessageBytes); err != nil {
		t.Fatal(err)
	}
	if err := spec.Decode(assembled(t, tmpl, 2), &o, spec.MaxMessageBytes); err != nil {
		t.Fatal(err)
	}
	mine := []spec.Enrollment{g.Replicas[3].Prep, g.Replicas[3].Conf, g.Replicas[3].Exec}
	theirs := []spec.Enrollment{o.Replicas[3].Prep, o.Replicas[3].Conf, o.Replicas[3].Exec}
	if !holdsEnrollments(&g, 3, &ReplicaEnrollments{Replica: 3, Enrollments: mine}) {
		t.Fatal("the configuration does not hold the attempt it was formed with")
	}
	if holdsEnrollments(&g, 2, &ReplicaEnrollments{Replica: 3, Enrollments: mine}) || holdsEnrollments(&g, 9, &ReplicaEnrollments{Replica: 3, Enrollments: mine}) {
		t.Error("another slot, or one beyond the configuration, holds the attempt")
	}
	if holdsEnrollments(&g, 3, &ReplicaEnrollments{Replica: 3, Enrollments: mine[:2]}) {
		t.Error("an attempt of two enrollments is held")
	}
	for r := range 3 {
		mixed := append([]spec.Enrollment(nil), mine...)
		mixed[r] = theirs[r]
		if holdsEnrollments(&g, 3, &ReplicaEnrollments{Replica: 3, Enrollments: mixed}) {
			t.Errorf("an attempt with another %s enrollment is held", []string{"prep", "conf", "exec"}[r])
		}
	}
}
