package tcpnet

import "time"

// lazyDeadline keeps one deadline (read or write) of a connection at most d ahead and
// moves it only when less than d/2 of it is left: setting a deadline re-arms a
// runtime timer under the descriptor's lock, which done before every frame was about
// 3% of a broker's CPU under load. So an operation that blocks is cut after at least
// d/2 and at most d.
type lazyDeadline struct {
	at  time.Time
	set func(time.Time) error // conn.SetReadDeadline or conn.SetWriteDeadline
}

// refresh makes the deadline at least d/2 away from now.
func (l *lazyDeadline) refresh(d time.Duration) { l.refreshAt(time.Now(), d) }

func (l *lazyDeadline) refreshAt(now time.Time, d time.Duration) {
	if l.at.Sub(now) >= d/2 {
		return
	}
	l.at = now.Add(d)
	l.set(l.at)
}
