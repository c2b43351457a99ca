package operator

import "testing"

func TestReplicasOnHost(t *testing.T) {
	tmpl := func(peers ...string) *Template {
		t := &Template{}
		for i, p := range peers {
			t.Replicas = append(t.Replicas, ReplicaTemplate{ID: uint64(i), Peer: p})
		}
		return t
	}
	for _, tc := range []struct {
		name  string
		t     *Template
		id    uint64
		want  int
		procs [2]int // SchedulerProcs(2 CPUs), SchedulerProcs(8 CPUs) for want replicas
	}{
		{"all on loopback", tmpl("127.0.0.1:7000", "127.0.0.1:7003", "localhost:7006", "[::1]:7009"), 2, 4, [2]int{1, 2}},
		{"one per host", tmpl("10.0.0.1:7000", "10.0.0.2:7000", "10.0.0.3:7000", "10.0.0.4:7000"), 1, 1, [2]int{2, 8}},
		{"two hosts", tmpl("10.0.0.1:7000", "10.0.0.1:7003", "10.0.0.2:7000", "10.0.0.2:7003"), 3, 2, [2]int{1, 4}},
		{"local spellings", tmpl(":7000", "0.0.0.0:7003", "LOCALHOST.:7006", "[::]:7009", "10.0.0.9:7000"), 1, 4, [2]int{1, 2}},
		{"names", tmpl("Node-1.example:7000", "node-1.example.:7003", "node-2.example:7000"), 1, 2, [2]int{1, 4}},
		{"mapped address", tmpl("10.0.0.1:7000", "[::ffff:10.0.0.1]:7003", "10.0.0.2:7000", "h:1"), 0, 2, [2]int{1, 4}},
		{"unknown id", tmpl("127.0.0.1:7000"), 5, 1, [2]int{2, 8}},
	} {
		if got := ReplicasOnHost(tc.t, tc.id); got != tc.want {
			t.Errorf("%s: ReplicasOnHost = %d, want %d", tc.name, got, tc.want)
		}
		if p2, p8 := SchedulerProcs(2, tc.want), SchedulerProcs(8, tc.want); [2]int{p2, p8} != tc.procs {
			t.Errorf("%s: SchedulerProcs(2, %d), (8, %d) = %d, %d; want %v", tc.name, tc.want, tc.want, p2, p8, tc.procs)
		}
	}
	if got := SchedulerProcs(2, 0); got != 2 {
		t.Errorf("SchedulerProcs(2, 0) = %d, want 2", got)
	}
}
