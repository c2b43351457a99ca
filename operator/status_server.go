package operator

import (
	"net"
	"net/http"
	"sync"
	"time"
)

// Bounds of the status port's HTTP server (SPEC §13.2: every server bounds its
// connections and time per peer).
const (
	statusMaxConns       = 64               // connections served at once; more are closed at accept
	statusHeaderTimeout  = 5 * time.Second  // to read a request's headers
	statusReadTimeout    = 10 * time.Second // to read a whole request
	statusWriteTimeout   = 30 * time.Second // to write a response
	statusIdleTimeout    = 30 * time.Second // an idle keep-alive connection is closed after this
	statusMaxHeaderBytes = 16 << 10
)

// newStatusServer is the status port's HTTP server with its timeouts and caps.
func newStatusServer(h http.Handler) *http.Server {
	return &http.Server{Handler: h, ReadHeaderTimeout: statusHeaderTimeout, ReadTimeout: statusReadTimeout,
		WriteTimeout: statusWriteTimeout, IdleTimeout: statusIdleTimeout, MaxHeaderBytes: statusMaxHeaderBytes}
}

// limitListener returns l serving at most n connections at once: a connection
// accepted while n are open is closed at once (the client may retry), so that the
// accept loop never blocks.
func limitListener(l net.Listener, n int) net.Listener {
	return &limitedListener{Listener: l, sem: make(chan struct{}, n)}
}

type limitedListener struct {
	net.Listener
	sem chan struct{}
}

// Accept accepts the next connection that finds a free slot.
func (l *limitedListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		select {
		case l.sem <- struct{}{}:
			return &limitedConn{Conn: c, release: func() { <-l.sem }}, nil
		default:
			c.Close()
		}
	}
}

type limitedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

// Close closes the connection and frees its slot once.
func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
