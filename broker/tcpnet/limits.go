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
// identity's holder can ask for (attach verifications, SPEC §13.2), and a bucket of
// the host's, shared by all (waitHost). Only identities the cluster registers reach
// it (it is not used in insecure mode), and beyond maxBuckets identities it forgets
// the full buckets and then some others, as sourceLimit does, so its memory stays
// bounded.
type idRate struct {
	rate, burst         float64
	hostRate, hostBurst float64
	mu                  sync.Mutex
	items               map[uint64]*bucket
	host                *bucket // nil until first used
	now                 func() time.Time
	sleep               func(context.Context, time.Duration) bool
}

func newIDRate(rate, burst, hostRate, hostBurst float64) *idRate {
	return &idRate{rate: rate, burst: max(burst, 1), hostRate: hostRate, hostBurst: max(hostBurst, 1),
		items: map[uint64]*bucket{}, now: time.Now, sleep: sleepCtx}
}

// wait takes one token of id's bucket, sleeping until there is one; false if ctx
// ends first.
func (r *idRate) wait(ctx context.Context, id uint64) bool {
	return r.waitFor(ctx, func(now time.Time) time.Duration { return r.take(id, now) })
}

// waitHost takes one token of the host's bucket, as wait does.
func (r *idRate) waitHost(ctx context.Context) bool { return r.waitFor(ctx, r.takeHost) }

func (r *idRate) waitFor(ctx context.Context, take func(time.Time) time.Duration) bool {
	for {
		d := take(r.now())
		if d == 0 {
			return true
		}
		if !r.sleep(ctx, d) {
			return false
		}
	}
}

// take takes a token of id's bucket and returns 0, or returns how long until there
// is one.
func (r *idRate) take(id uint64, now time.Time) time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	b := r.items[id]
	if b == nil {
		if len(r.items) >= maxBuckets {
			r.forget(now)
		}
		b = &bucket{tokens: r.burst, at: now}
		r.items[id] = b
	}
	return spendToken(b, now, r.rate, r.burst)
}

// takeHost takes a token of the host's bucket, as take does.
func (r *idRate) takeHost(now time.Time) time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.host == nil {
		r.host = &bucket{tokens: r.hostBurst, at: now}
	}
	return spendToken(r.host, now, r.hostRate, r.hostBurst)
}

// forget drops the full buckets (they hold no information), and if that leaves
// maxBuckets or more, an eighth of them chosen by map order.
func (r *idRate) forget(now time.Time) {
	for k, b := range r.items {
		if b.tokens+now.Sub(b.at).Seconds()*r.rate >= r.burst {
			delete(r.items, k)
		}
	}
	if len(r.items) < maxBuckets {
		return
	}
	n := maxBuckets / 8
	for k := range r.items {
		if n--; n < 0 {
			return
		}
		delete(r.items, k)
	}
}

// spendToken refills b at rate up to burst, then takes a token and returns 0, or
// returns how long until there is one (at least a nanosecond).
func spendToken(b *bucket, now time.Time, rate, burst float64) time.Duration {
	b.tokens = min(burst, b.tokens+now.Sub(b.at).Seconds()*rate)
	b.at = now
	if b.tokens < 1 {
		return max(time.Duration((1-b.tokens)/rate*float64(time.Second)), time.Nanosecond)
	}
	b.tokens--
	return 0
}
