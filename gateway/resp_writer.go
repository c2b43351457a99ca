package gateway

import (
	"strconv"
)

// writer appends RESP replies in the connection's protocol version (2 or 3). The
// two differ here only in null and map encodings.
type writer struct {
	buf   []byte
	proto int
}

func (w *writer) simple(s string) { w.line('+', s) }

// err writes an error reply; s starts with its code ("ERR ...", "NOPROTO ...").
func (w *writer) err(s string) { w.line('-', s) }

func (w *writer) integer(n int64) {
	w.buf = append(w.buf, ':')
	w.buf = strconv.AppendInt(w.buf, n, 10)
	w.buf = append(w.buf, '\r', '\n')
}

func (w *writer) bulk(b []byte) {
	w.buf = append(w.buf, '$')
	w.buf = strconv.AppendInt(w.buf, int64(len(b)), 10)
	w.buf = append(w.buf, '\r', '\n')
	w.buf = append(w.buf, b...)
	w.buf = append(w.buf, '\r', '\n')
}

func (w *writer) null() {
	if w.proto == 3 {
		w.buf = append(w.buf, '_', '\r', '\n')
		return
	}
	w.buf = append(w.buf, "$-1\r\n"...)
}

func (w *writer) array(n int) { w.header('*', n) }

// mapHeader starts a map of n pairs: a RESP3 map, or a flat array of 2n in RESP2.
func (w *writer) mapHeader(n int) {
	if w.proto == 3 {
		w.header('%', n)
		return
	}
	w.header('*', 2*n)
}

func (w *writer) header(c byte, n int) {
	w.buf = append(w.buf, c)
	w.buf = strconv.AppendInt(w.buf, int64(n), 10)
	w.buf = append(w.buf, '\r', '\n')
}

// line writes a simple string or error; CR and LF in s become spaces, since a
// simple reply cannot contain them.
func (w *writer) line(c byte, s string) {
	w.buf = append(w.buf, c)
	for i := 0; i < len(s); i++ {
		b := s[i]
		if b == '\r' || b == '\n' {
			b = ' '
		}
		w.buf = append(w.buf, b)
	}
	w.buf = append(w.buf, '\r', '\n')
}
