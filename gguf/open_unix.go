//go:build unix

package gguf

import (
	"fmt"
	"os"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Open maps the file at path read-only and parses it. Tensor data stays in the mapping
// (pages are read on first touch); Close unmaps it.
func Open(path string) (*File, error) {
	fd, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("gguf: %w", err)
	}
	defer fd.Close()
	st, err := fd.Stat()
	if err != nil {
		return nil, fmt.Errorf("gguf: %w", err)
	}
	size := st.Size()
	if size == 0 {
		return nil, fmt.Errorf("gguf: %s: empty file", path)
	}
	if size != int64(int(size)) {
		return nil, fmt.Errorf("gguf: %s: size %d too large to map", path, size)
	}
	data, err := syscall.Mmap(int(fd.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("gguf: mmap %s: %w", path, err)
	}
	f, err := Parse(data)
	if err != nil {
		syscall.Munmap(data)
		return nil, fmt.Errorf("%w (file %s)", err, path)
	}
	f.unmap = func() error { return syscall.Munmap(data) }
	f.drop = func(b []byte) {
		// Whole pages inside b only: the partial pages at its ends may hold other tensors.
		page := uintptr(os.Getpagesize())
		start := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
		lo := (start + page - 1) &^ (page - 1)
		hi := (start + uintptr(len(b))) &^ (page - 1)
		if hi > lo {
			_ = unix.Madvise(b[lo-start:hi-start], unix.MADV_DONTNEED)
		}
	}
	return f, nil
}
