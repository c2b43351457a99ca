package tcpnet

import (
	"context"
	"net"
	"sync"
	"time"
)

// sourceLimit bounds, per source IP, the connections that have not yet authenticated
// (TLS handshake and hello) and the rate at which new ones are accepted, so that one
// unauthenticated source can neither take every handshake slot of a port nor spend
// the host's CPU on handshakes (SPEC §13.2). Refused connections are closed at once,
// before any handshake work.
type sourceLimit struct {
	max   int     // connections waiting per IP
	rate  float64 // new connections per second per IP
	burst float64 // bucket size
	mu    sync.Mutex
	n     map[string]int
	items map[string]*bucket
}

// bucket is one source's token bucket.
type bucket struct {
	tokens float64
	at     time.Time
}

// maxBuckets bounds the sources remembered: a new source beyond it makes room by
// forgetting the full buckets (they hold no information) and, if none is, some
// others (forgetSome).
const maxBuckets = 4096

func newSourceLimit(limit int, rate, burst float64) *sourceLimit {
	return &sourceLimit{max: limit, rate: rate, burst: max(burst, 1), n: map[string]int{}, items: map[string]*bucket{}}
}

// take reserves a slot for conn's source; false when its source holds max already
// or has used up its rate.
func (s *sourceLimit) take(conn net.Conn) (string, bool) {
	ip := sourceIP(conn)
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.n[ip] >= s.max || !s.spend(ip, now) {
		return ip, false
	}
	s.n[ip]++
	return ip, true
}

// spend takes one token from ip's bucket, refilled at rate per second up to burst.
func (s *sourceLimit) spend(ip string, now time.Time) bool {
	b := s.items[ip]
	if b == nil {
		if len(s.items) >= maxBuckets {
			s.forgetFull(now)
		}
		if len(s.items) >= maxBuckets {
			s.forgetSome()
		}
		b = &bucket{tokens: s.burst, at: now}
		s.items[ip] = b
	}
	b.tokens = min(s.burst, b.tokens+now.Sub(b.at).Seconds()*s.rate)
	b.at = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// forgetFull drops the buckets that have refilled (they hold no information).
func (s *sourceLimit) forgetFull(now time.Time) {
	for ip, b := range s.items {
		if b.tokens+now.Sub(b.at).Seconds()*s.rate >= s.burst {
			delete(s.items, ip)
		}
	}
}

// forgetSome drops an eighth of the buckets, chosen by map order (unspecified,
// randomised): with more than maxBuckets sources sending within one refill time (an
// attacker with that many addresses, against which no per-address limit holds
// anyway), some of them get a fresh bucket again, but the memory stays bounded, the
// limits of §13.2 that do not depend on the source (64 connections waiting in all)
// still hold, and the scans of forgetFull and forgetSome cost O(1) per new source
// amortised.
func (s *sourceLimit) forgetSome() {
	n := maxBuckets / 8
	for ip := range s.items {
		if n--; n < 0 {
			return
		}
		delete(s.items, ip)
	}
}

// release frees a slot taken for ip.
func (s *sourceLimit) release(ip string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.n[ip]--; s.n[ip] <= 0 {
		delete(s.n, ip)
	}
}

// sourceIP is the IP of conn's remote end (its whole address if it has no port).
func sourceIP(conn net.Conn) string {
	a := conn.RemoteAddr().String()
	if host, _, err := net.SplitHostPort(a); err == nil {
		return host
	}
	return a
}

// idRate is a token bucket per authenticated identity: it bounds the work that an
// identity's holder can ask for (attach verifications, SPEC §13.2). Only identities
// the cluster registers reach it (it is not used in insecure mode), and it forgets
// full buckets beyond maxBuckets, so its memory stays bounded. hostAttachKey is a
// bucket of its own, shared by all: the host-wide bound.
type idRate struct {
	rate, burst float64
	hostRate    float64
	hostBurst   float64
	mu          sync.Mutex
	items       map[uint64]*bucket
	host        bucket
	now         func() time.Time // time.Now; tests replace it
	sleep       func(context.Context, time.Duration) bool
	hostInit    bool
}

// hostAttachKey names the host-wide bucket of an idRate.
const hostAttachKey = ^uint64(0)

func newIDRate(rate, burst, hostRate, hostBurst float64) *idRate {
	return &idRate{rate: rate, burst: max(burst, 1), hostRate: hostRate, hostBurst: max(hostBurst, 1),
		items: map[uint64]*bucket{}, now: time.Now, sleep: sleepCtx}
}

// wait takes one token of id's bucket (hostAttachKey: the host's), sleeping until
// there is one; false if ctx ends first.
func (r *idRate) wait(ctx context.Context, id uint64) bool {
	for {
		d := r.take(id, r.now())
		if d == 0 {
			return true
		}
		if !r.sleep(ctx, d) {
			return false
		}
	}
}

// take takes a token and returns 0, or returns how long until there is one.
func (r *idRate) take(id uint64, now time.Time) time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	rate, burst := r.rate, r.burst
	b := r.items[id]
	switch {
	case id == hostAttachKey:
		rate, burst, b = r.hostRate, r.hostBurst, &r.host
		if !r.hostInit {
			r.hostInit, b.tokens, b.at = true, burst, now
		}
	case b == nil:
		if len(r.items) >= maxBuckets {
			for k, x := range r.items { // forget the full ones: they hold no information
				if x.tokens+now.Sub(x.at).Seconds()*rate >= burst {
					delete(r.items, k)
				}
			}
		}
		b = &bucket{tokens: burst, at: now}
		r.items[id] = b
	}
	b.tokens = min(burst, b.tokens+now.Sub(b.at).Seconds()*rate)
	b.at = now
	if b.tokens < 1 {
		return time.Duration((1 - b.tokens) / rate * float64(time.Second))
	}
	b.tokens--
	return 0
}
