//go:build linux && !enclave

package rawio

import (
	"os"
	"os/exec"
	"runtime"
	"syscall"
	"testing"
)

// The cost of a hand-off between two processes against one between two threads of one
// process: each round trip writes 8 bytes into a pipe, the other side (blocked in a
// read) wakes, reads them and writes them back. A replica's broker and compartments
// hand off this way several times per batch (README, "Session 17"): on a machine
// where switching address spaces is expensive (no PCID, a paravirtualised MMU) the
// processes variant costs a multiple of the threads one, in wall time and in CPU.
//
//	go test ./internal/rawio -run XXX -bench BenchmarkHandoff
//	taskset -c 0 go test ./internal/rawio -run XXX -bench BenchmarkHandoff   # one CPU

// echoEnv makes the test binary, started by BenchmarkHandoff, echo stdin to stdout.
const echoEnv = "SPLITBFT_RAWIO_ECHO"

func TestMain(m *testing.M) {
	if os.Getenv(echoEnv) == "1" {
		echo(0, 1)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// echo copies what it reads from fd r to fd w until r ends.
func echo(r, w int) {
	b := make([]byte, 64)
	for {
		n, err := syscall.Read(r, b)
		if err != nil || n == 0 {
			return
		}
		if _, err := syscall.Write(w, b[:n]); err != nil {
			return
		}
	}
}

// roundTrips writes and reads back n times through w and r, blocking reads.
func roundTrips(b *testing.B, r, w int) {
	buf := make([]byte, 64)
	for b.Loop() {
		if _, err := syscall.Write(w, buf[:8]); err != nil {
			b.Fatal(err)
		}
		if n, err := syscall.Read(r, buf); err != nil || n != 8 {
			b.Fatalf("read %d bytes: %v", n, err)
		}
	}
}

// cpuTime returns the CPU time of this process and its waited-for children so far.
func cpuTime() int64 {
	var self, kids syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &self)
	syscall.Getrusage(syscall.RUSAGE_CHILDREN, &kids)
	return self.Utime.Nano() + self.Stime.Nano() + kids.Utime.Nano() + kids.Stime.Nano()
}

func BenchmarkHandoff(b *testing.B) {
	b.Run("threads", func(b *testing.B) {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		var there, back [2]int
		if err := syscall.Pipe(there[:]); err != nil {
			b.Fatal(err)
		}
		if err := syscall.Pipe(back[:]); err != nil {
			b.Fatal(err)
		}
		done := make(chan struct{})
		go func() {
			runtime.LockOSThread()
			echo(there[0], back[1])
			close(done)
		}()
		c0 := cpuTime()
		roundTrips(b, back[0], there[1])
		b.ReportMetric(float64(cpuTime()-c0)/float64(b.N), "cpu-ns/op")
		syscall.Close(there[1])
		<-done
		for _, fd := range []int{there[0], back[0], back[1]} {
			syscall.Close(fd)
		}
	})
	b.Run("processes", func(b *testing.B) {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		cmd := exec.Command(os.Args[0], "-test.run=XXX")
		cmd.Env = append(os.Environ(), echoEnv+"=1")
		in, err := cmd.StdinPipe()
		if err != nil {
			b.Fatal(err)
		}
		out, err := cmd.StdoutPipe()
		if err != nil {
			b.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		// Blocking descriptors of our own, so that reads sleep in the kernel as the
		// threads variant's do (Fd puts them in blocking mode).
		w, r := int(in.(*os.File).Fd()), int(out.(*os.File).Fd())
		c0 := cpuTime()
		roundTrips(b, r, w)
		in.Close()
		if err := cmd.Wait(); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(cpuTime()-c0)/float64(b.N), "cpu-ns/op")
	})
}
