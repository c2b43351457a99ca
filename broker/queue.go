package broker

// fifo is a bounded first-in first-out queue: pushing onto a full queue drops the
// oldest item, which push returns so the caller can count it.
type fifo[T any] struct {
	buf   []T
	head  int // buf[head:] are the items; buf[:head] are cleared slots
	limit int // ≥ 1
}

func newFIFO[T any](limit int) *fifo[T] { return &fifo[T]{limit: max(limit, 1)} }

// Len returns the number of items.
func (q *fifo[T]) Len() int { return len(q.buf) - q.head }

// Push appends v; when the queue was full it first drops and returns the oldest item.
func (q *fifo[T]) Push(v T) (dropped T, didDrop bool) {
	if q.Len() >= q.limit {
		dropped, didDrop = q.Pop(), true
	}
	q.buf = append(q.buf, v)
	return dropped, didDrop
}

// Pop removes and returns the oldest item; the queue must not be empty.
func (q *fifo[T]) Pop() T {
	var zero T
	v := q.buf[q.head]
	q.buf[q.head] = zero
	q.head++
	if q.head == len(q.buf) {
		q.buf, q.head = q.buf[:0], 0
	} else if q.head >= 64 && q.head*2 >= len(q.buf) {
		n := copy(q.buf, q.buf[q.head:])
		clear(q.buf[n:])
		q.buf, q.head = q.buf[:n], 0
	}
	return v
}

// Peek returns the oldest item; the queue must not be empty.
func (q *fifo[T]) Peek() T { return q.buf[q.head] }

// Items returns the items, oldest first, without copying; do not retain.
func (q *fifo[T]) Items() []T { return q.buf[q.head:] }

// Reset empties the queue.
func (q *fifo[T]) Reset() {
	clear(q.buf)
	q.buf, q.head = q.buf[:0], 0
}
