package tcpnet

import (
	"net"
	"sync"
)

// sourceLimit bounds the connections from one source IP that have not yet
// authenticated (TLS handshake and hello), so that one unauthenticated source cannot
// take every handshake slot of a port (SPEC §13.2).
type sourceLimit struct {
	max int
	mu  sync.Mutex
	n   map[string]int
}

func newSourceLimit(max int) *sourceLimit { return &sourceLimit{max: max, n: map[string]int{}} }

// take reserves a slot for conn's source; false when its source holds max already.
func (s *sourceLimit) take(conn net.Conn) (string, bool) {
	ip := sourceIP(conn)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.n[ip] >= s.max {
		return ip, false
	}
	s.n[ip]++
	return ip, true
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
