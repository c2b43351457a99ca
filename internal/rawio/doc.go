// Package rawio reads and writes non-blocking pipes (the compartments' frame pipes,
// at both ends) with raw system calls, waiting for readiness in the Go runtime's
// poller; its subpackage rawnet does the same for the brokers' and clients' TCP
// connections.
//
// Why: the processes of a replica alternate between idle and a few hundred
// microseconds of work many times per request. Through os.File and net.Conn every
// read and write is a system call that the runtime brackets (entersyscall), and the
// first one after an idle spell wakes the runtime's monitor thread, which then polls
// every 20 µs until the process is idle again; a bracketed call that takes longer
// than that (a loopback TCP write runs the receiver's network stack) also loses its
// P to another thread. On two shared cores this was about two thirds of a
// compartment's context switches per Step. A read or write on a non-blocking
// descriptor never sleeps in the kernel, so it needs no bracket; waiting is the
// poller's, as with os.File and net.Conn, and deadlines work the same way.
//
// Under the race detector the calls are bracketed again (syscall.Read and Write), so
// that it sees the kernel fill read buffers and order writes before reads.
//
// On platforms other than Linux, and in enclave builds (where every system call
// leaves the enclave through EGo's runtime, whose handling of raw system calls this
// package does not rely on), the functions return their argument unchanged.
package rawio
