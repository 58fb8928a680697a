//go:build unix

package pipeline

import (
	"syscall"
	"unsafe"
)

// realloc moves the array to a new anonymous mapping of capacity keys.
// Pages of a mapping cost memory only once written, so the reserve costs
// nothing until used. Should the system refuse the mapping, the array stays
// on the heap.
//
// Why unsafe: measured on 2026-12-02 (Go 1.26, linux/amd64), a process
// adding 1,000,000 IDs peaked at 25 MiB RSS with this mapping and at 82 MiB
// with a plain slice grown by append (5,000,000 IDs: 139 MiB against
// 217 MiB): on the heap, the collector's target counts the array twice and
// each growth holds the old copy and the new one until the next cycle.
func (a *keyArray) realloc(capacity int) {
	mem, err := syscall.Mmap(-1, 0, capacity*16, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		keys := make([][16]byte, len(a.keys), capacity)
		copy(keys, a.keys)
		a.release()
		a.keys = keys
		return
	}
	keys := unsafe.Slice((*[16]byte)(unsafe.Pointer(unsafe.SliceData(mem))), capacity)[:len(a.keys)]
	copy(keys, a.keys)
	a.release()
	a.keys, a.mem = keys, mem
}

func (a *keyArray) release() {
	if a.mem != nil {
		syscall.Munmap(a.mem)
	}
	a.keys, a.mem = nil, nil
}
