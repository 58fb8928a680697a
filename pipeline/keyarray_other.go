//go:build !unix

package pipeline

// realloc moves the array to a larger one on the heap.
func (a *keyArray) realloc(capacity int) {
	keys := make([][16]byte, len(a.keys), capacity)
	copy(keys, a.keys)
	a.keys = keys
}

func (a *keyArray) release() { a.keys = nil }
