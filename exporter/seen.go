package exporter

import (
	"cmp"
	"encoding/binary"
	"slices"
)

// seenSet remembers the keys of the IDs a run has taken, to skip
// duplicates, in about 16 bytes a key: a sorted slice (no pointers, so the
// garbage collector does not scan it), and a small map of the latest keys
// that is merged into the slice whenever it fills. A map of all the keys
// would cost about 42 bytes a key (42 MiB for a million IDs).
type seenSet struct {
	sorted [][16]byte
	recent map[[16]byte]struct{}
}

// recentMax is how many keys wait in the map before a merge: a merge copies
// the whole slice, so a million keys cost 15 merges.
const recentMax = 1 << 16

func newSeenSet() *seenSet { return &seenSet{recent: make(map[[16]byte]struct{})} }

// add records k and reports whether it was there already.
func (s *seenSet) add(k [16]byte) (seen bool) {
	if _, ok := s.recent[k]; ok {
		return true
	}
	if _, ok := slices.BinarySearchFunc(s.sorted, k, compareKeys); ok {
		return true
	}
	s.recent[k] = struct{}{}
	if len(s.recent) >= recentMax {
		s.merge()
	}
	return false
}

// merge moves the map's keys into the sorted slice.
func (s *seenSet) merge() {
	fresh := make([][16]byte, 0, len(s.recent))
	for k := range s.recent {
		fresh = append(fresh, k)
	}
	slices.SortFunc(fresh, compareKeys)
	merged := make([][16]byte, 0, len(s.sorted)+len(fresh))
	i, j := 0, 0
	for i < len(s.sorted) && j < len(fresh) {
		if compareKeys(s.sorted[i], fresh[j]) < 0 {
			merged = append(merged, s.sorted[i])
			i++
		} else {
			merged = append(merged, fresh[j])
			j++
		}
	}
	merged = append(append(merged, s.sorted[i:]...), fresh[j:]...)
	s.sorted = merged
	clear(s.recent)
}

func compareKeys(a, b [16]byte) int {
	if c := cmp.Compare(binary.BigEndian.Uint64(a[:8]), binary.BigEndian.Uint64(b[:8])); c != 0 {
		return c
	}
	return cmp.Compare(binary.BigEndian.Uint64(a[8:]), binary.BigEndian.Uint64(b[8:]))
}
