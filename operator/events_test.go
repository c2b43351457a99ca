package operator

import (
	"fmt"
	"strings"
	"testing"

	"github.com/splitbft/splitbft/broker"
	"github.com/splitbft/splitbft/spec"
)

// obs is one observation of a replica's broker for TestEventWatch.
type obs struct {
	prepView, confView uint64
	prepActive         bool
	confActive         bool
	prepLast, stable   uint64
	execLast           uint64
	needState          bool
	suspects           uint64
}

func (o obs) status() [3]spec.Status {
	return [3]spec.Status{
		{Role: spec.RolePrep, View: o.prepView, ViewActive: o.prepActive, Last: o.prepLast, Stable: o.stable},
		{Role: spec.RoleConf, View: o.confView, ViewActive: o.confActive, Stable: o.stable},
		{Role: spec.RoleExec, Last: o.execLast, Stable: o.stable, NeedState: o.needState},
	}
}

// TestEventWatch drives one replica's observations through a normal run, a view
// change it started, one started by its peers, a state transfer and a checkpoint
// stall, and checks the events logged after each (message and cause).
func TestEventWatch(t *testing.T) {
	cfg := &spec.Config{N: 4, F: 1, CheckpointInterval: 16, Window: 64}
	w := NewEventWatch(cfg)
	base := obs{prepActive: true, confActive: true}
	steps := []struct {
		name string
		mod  func(o *obs)
		want []string
	}{
		{"first observation", func(o *obs) {}, nil},
		{"progress", func(o *obs) { o.prepLast, o.execLast, o.stable = 20, 20, 16 }, nil},
		{"timer fires", func(o *obs) { o.suspects = 1 }, []string{"suspecting the primary view=0 primary=0 suspicions=1"}},
		{"conf starts a view change", func(o *obs) { o.suspects, o.confView, o.confActive = 2, 1, false },
			[]string{"suspecting the primary view=0 primary=0 suspicions=1", "view change started to_view=1 from_view=0 new_primary=1 cause=this replica suspected"}},
		{"new view", func(o *obs) { o.prepView, o.confActive = 1, true }, []string{"entered view view=1 from_view=0 primary=1"}},
		{"peers change view", func(o *obs) { o.confView, o.confActive = 2, false }, []string{"view change started to_view=2 from_view=1 new_primary=2 cause=VIEW-CHANGE messages from other replicas"}},
		{"two views at once", func(o *obs) { o.confView, o.prepView, o.confActive = 3, 3, true }, []string{"entered view view=3 from_view=1 primary=3"}},
		{"behind: state transfer", func(o *obs) { o.needState, o.stable = true, 48 }, []string{"state transfer started executed=20 stable_checkpoint=48"}},
		{"transfer done", func(o *obs) { o.needState, o.execLast, o.prepLast = false, 48, 48 }, []string{"state transfer done executed=48"}},
		{"exec runs ahead of stable", func(o *obs) { o.execLast, o.prepLast = 80, 80 }, []string{"checkpoint stall executed=80 stable_checkpoint=48", "have not gathered 2f+1"}},
		{"still stalled: logged once", func(o *obs) { o.execLast, o.prepLast = 90, 90 }, nil},
		{"window full", func(o *obs) { o.prepLast = 112 }, nil},
		{"stable again", func(o *obs) { o.stable = 96 }, []string{"checkpoint stall over executed=90 stable_checkpoint=96"}},
	}
	cur := base
	for _, st := range steps {
		st.mod(&cur)
		got := render(w.Observe(cur.status(), broker.Metrics{Suspects: cur.suspects}))
		if len(st.want) == 0 && got != "" {
			t.Errorf("%s: events %q, want none", st.name, got)
		}
		for _, want := range st.want {
			if !strings.Contains(got, want) {
				t.Errorf("%s: events %q lack %q", st.name, got, want)
			}
		}
	}
}

// render writes events as "msg k=v k=v; msg ...".
func render(ev []Event) string {
	var parts []string
	for _, e := range ev {
		s := e.Msg
		for i := 0; i+1 < len(e.Attrs); i += 2 {
			s += fmt.Sprintf(" %v=%v", e.Attrs[i], e.Attrs[i+1])
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "; ")
}
