//go:build linux && !enclave && race

package rawio

import "syscall"

// Under the race detector, syscall.Read and syscall.Write: they tell it about the
// buffer the kernel fills and keep its happens-before edge from every write to every
// read of a descriptor (which the old os.File and net.Conn paths gave), at the price
// of the bracket this package otherwise avoids.
func sysRead(fd uintptr, b []byte) (uintptr, syscall.Errno) {
	n, err := syscall.Read(int(fd), b)
	return errnoOf(n, err)
}

func sysWrite(fd uintptr, b []byte) (uintptr, syscall.Errno) {
	n, err := syscall.Write(int(fd), b)
	return errnoOf(n, err)
}

func errnoOf(n int, err error) (uintptr, syscall.Errno) {
	if err != nil {
		return 0, err.(syscall.Errno)
	}
	return uintptr(n), 0
}
