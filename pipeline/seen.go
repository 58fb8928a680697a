package pipeline

import (
	"cmp"
	"encoding/binary"
	"slices"
)

// seenSet remembers the keys of the IDs a run has taken, to skip
// duplicates, in 16 bytes a key: a sorted array, and a small map of the
// latest keys that is merged into the array whenever it fills. A map of all
// the keys would cost about 42 bytes a key (42 MiB for a million IDs).
//
// The array lives outside the Go heap (see keyArray): it is the one thing
// of a run that grows with its IDs, and on the heap the collector's target
// (twice the live heap) would count it twice, plus the copy each merge
// made. Call release when done.
type seenSet struct {
	sorted keyArray
	recent map[[16]byte]struct{}
	fresh  [][16]byte // scratch space of merge
}

// recentMax is how many keys wait in the map before a merge: a merge moves
// the whole array, so a million keys cost 15 merges.
const recentMax = 1 << 16

func newSeenSet() *seenSet { return &seenSet{recent: make(map[[16]byte]struct{})} }

// add records k and reports whether it was there already.
func (s *seenSet) add(k [16]byte) (seen bool) {
	if _, ok := s.recent[k]; ok {
		return true
	}
	if _, ok := slices.BinarySearchFunc(s.sorted.keys, k, compareKeys); ok {
		return true
	}
	s.recent[k] = struct{}{}
	if len(s.recent) >= recentMax {
		s.merge()
	}
	return false
}

// merge moves the map's keys into the sorted array, in place: from the
// back, so that no key is overwritten before it has moved.
func (s *seenSet) merge() {
	fresh := s.fresh[:0]
	for k := range s.recent {
		fresh = append(fresh, k)
	}
	slices.SortFunc(fresh, compareKeys)
	i := len(s.sorted.keys) - 1
	s.sorted.grow(len(fresh))
	keys := s.sorted.keys
	for j, k := len(fresh)-1, len(keys)-1; j >= 0; k-- {
		if i >= 0 && compareKeys(keys[i], fresh[j]) > 0 {
			keys[k] = keys[i]
			i--
		} else {
			keys[k] = fresh[j]
			j--
		}
	}
	s.fresh = fresh
	clear(s.recent)
}

// release frees the array's memory; the set must not be used afterwards.
func (s *seenSet) release() { s.sorted.release() }

func compareKeys(a, b [16]byte) int {
	if c := cmp.Compare(binary.BigEndian.Uint64(a[:8]), binary.BigEndian.Uint64(b[:8])); c != 0 {
		return c
	}
	return cmp.Compare(binary.BigEndian.Uint64(a[8:]), binary.BigEndian.Uint64(b[8:]))
}

// keyArray is a growable array of keys in memory of its own, outside the Go
// heap where the system allows (mapped pages: only those written become
// resident), on the heap otherwise.
type keyArray struct {
	keys [][16]byte
	mem  []byte // the mapping behind keys, nil on the heap
}

// keyArrayReserve is the room a keyArray maps at first, in keys: address
// space only until written (64 MiB of it for 4,194,304 keys).
const keyArrayReserve = 1 << 22

// grow lengthens the array by n zeroed keys at its end.
func (a *keyArray) grow(n int) {
	need := len(a.keys) + n
	if need > cap(a.keys) {
		a.realloc(max(need, 2*cap(a.keys), keyArrayReserve))
	}
	a.keys = a.keys[:need]
}
