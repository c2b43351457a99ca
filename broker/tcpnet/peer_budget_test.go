package tcpnet

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/splitbft/splitbft/broker"
)

// TestInBudget: a peer's reader gets room for messages up to the event and byte
// limits, waits beyond them (here: gives up at once on a cancelled context) until
// the event loop releases one, and a single frame larger than the byte limit still
// fits when nothing of the peer is waiting.
func TestInBudget(t *testing.T) {
	done, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tc := range []struct {
		name               string
		maxEvents, maxByte int
		sizes              []int // acquired in order; all but the last fit
		wantLastFits       bool
	}{
		{"by count", 3, 1000, []int{10, 10, 10, 10}, false},
		{"by bytes", 100, 100, []int{60, 30, 20}, false},
		{"within both", 3, 100, []int{50, 40}, true},
		{"one huge frame alone", 3, 100, []int{500}, true},
		{"huge frame after one", 3, 100, []int{1, 500}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newInBudget(tc.maxEvents, tc.maxByte)
			for i, n := range tc.sizes {
				waited, ok := b.acquire(done, n)
				last := i == len(tc.sizes)-1
				want := !last || tc.wantLastFits
				if ok != want || waited == ok {
					t.Fatalf("message %d (%d bytes): ok %v waited %v; want ok %v", i, n, ok, waited, want)
				}
			}
			if tc.wantLastFits {
				return
			}
			b.release(tc.sizes[0])
			if len(tc.sizes) > 1 {
				for _, n := range tc.sizes[1 : len(tc.sizes)-1] {
					b.release(n)
				}
			}
			if _, ok := b.acquire(done, tc.sizes[len(tc.sizes)-1]); !ok {
				t.Fatal("no room after the loop released every message")
			}
		})
	}
}

// TestInBudgetWakes: a reader waiting for room proceeds once the loop releases a
// message, whichever of the two comes first (a lost wake-up would hang it).
func TestInBudgetWakes(t *testing.T) {
	for round := range 200 {
		b := newInBudget(1, 100)
		if _, ok := b.acquire(context.Background(), 10); !ok {
			t.Fatal("first message refused")
		}
		got := make(chan bool)
		go func() {
			_, ok := b.acquire(context.Background(), 10)
			got <- ok
		}()
		b.release(10)
		select {
		case ok := <-got:
			if !ok {
				t.Fatalf("round %d: the waiting reader was refused", round)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("round %d: the waiting reader never got the released room", round)
		}
	}
}

// TestFrameRate: a peer's first burst of frames passes at once; beyond it each frame
// waits 1/rate per frame owed, and the bucket refills with (given, not wall-clock)
// time up to the burst.
func TestFrameRate(t *testing.T) {
	t0 := time.Unix(1000, 0)
	f := newFrameRate(100, 3) // 100 frames/s, burst 3
	for _, tc := range []struct {
		at   time.Duration // since t0
		want time.Duration
	}{
		{0, 0}, {0, 0}, {0, 0}, // the burst
		{0, 10 * time.Millisecond}, // one owed
		{0, 20 * time.Millisecond}, // two owed
		{20 * time.Millisecond, 10 * time.Millisecond},
		{time.Second, 0}, // refilled to the burst, not beyond
		{time.Second, 0},
		{time.Second, 0},
		{time.Second, 10 * time.Millisecond},
	} {
		if got := f.wait(t0.Add(tc.at)); (got - tc.want).Abs() > time.Microsecond {
			t.Fatalf("frame at +%v: wait %v, want %v", tc.at, got, tc.want)
		}
	}
}

// TestPeerInboxRoundRobin: the event loop takes one message of every peer with one
// waiting per round, starting one peer further each round, so peer 2's single message
// is handled second, not after peer 1's backlog of five, and the loop is woken again
// while messages remain.
func TestPeerInboxRoundRobin(t *testing.T) {
	b := newPeerInbox(4)
	var got []string
	ev := func(label string) func(*broker.Replica) {
		return func(*broker.Replica) { got = append(got, label) }
	}
	for k := range 5 {
		b.push(1, ev(fmt.Sprintf("1.%d", k)))
	}
	b.push(2, ev("2.0"))
	b.push(3, ev("3.0"))
	b.push(3, ev("3.1"))
	var rounds [][]string
	for len(b.ready) > 0 {
		<-b.ready
		got = nil
		for _, e := range b.round(nil) {
			e(nil)
		}
		rounds = append(rounds, got)
	}
	want := [][]string{{"1.0", "2.0", "3.0"}, {"1.1", "3.1"}, {"1.2"}, {"1.3"}, {"1.4"}}
	if !reflect.DeepEqual(rounds, want) {
		t.Fatalf("rounds %v, want %v", rounds, want)
	}
}

// TestSourceBucketsBounded: more than maxBuckets sources each opening a connection
// within one refill time leave at most maxBuckets buckets (none is full yet, so
// some others make room; before, the map grew without bound), and a remembered
// source that used its burst is still refused.
func TestSourceBucketsBounded(t *testing.T) {
	s := newSourceLimit(16, 10, 2)
	t0 := time.Unix(1000, 0)
	for i := range 3 * maxBuckets {
		now := t0.Add(time.Duration(i) * time.Microsecond) // all within 0.2 s, refill time 0.2 s
		if !s.spend(fmt.Sprintf("10.0.%d.%d", i/256, i%256), now) {
			t.Fatalf("source %d refused its first connection", i)
		}
		if len(s.items) > maxBuckets {
			t.Fatalf("%d buckets after %d sources, cap %d", len(s.items), i+1, maxBuckets)
		}
	}
	last := t0.Add(3 * maxBuckets * time.Microsecond)
	ip := fmt.Sprintf("10.0.%d.%d", (3*maxBuckets-1)/256, (3*maxBuckets-1)%256)
	if !s.spend(ip, last) || s.spend(ip, last) {
		t.Fatalf("the newest source's burst of 2 was not kept")
	}
}
