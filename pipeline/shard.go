package pipeline

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
)

// Shard is one of Count disjoint parts of every ID space: an ID belongs to
// shard Index when the first 8 bytes of SHA-256(ID), read as a big-endian
// unsigned integer, are Index modulo Count. The hash depends on the ID alone,
// so Count processes with Index 0..Count-1 cover every ID of any source
// exactly once, whatever the order or the source.
type Shard struct {
	Index, Count uint64
}

// ParseShard reads "I/N" with 0 <= I < N. The empty string is the whole set.
func ParseShard(s string) (Shard, error) {
	if s == "" {
		return Shard{}, nil
	}
	i, n, ok := strings.Cut(s, "/")
	index, err1 := strconv.ParseUint(strings.TrimSpace(i), 10, 64)
	count, err2 := strconv.ParseUint(strings.TrimSpace(n), 10, 64)
	if !ok || err1 != nil || err2 != nil || count == 0 || index >= count {
		return Shard{}, fmt.Errorf("shard %q: want I/N with 0 <= I < N, e.g. 0/4 (in a Kubernetes Indexed Job: $(JOB_COMPLETION_INDEX)/4)", s)
	}
	return Shard{Index: index, Count: count}, nil
}

// String is "I/N", "0/1" for the whole set.
func (s Shard) String() string {
	if s.Count == 0 {
		return "0/1"
	}
	return fmt.Sprintf("%d/%d", s.Index, s.Count)
}

// Holds reports whether id belongs to shard s.
func (s Shard) Holds(id string) bool { return s.holds(idKey(id)) }

// holds is the one shard formula: the first 8 bytes of the ID's key, read
// big-endian, modulo Count.
func (s Shard) holds(key [16]byte) bool {
	return s.Count <= 1 || binary.BigEndian.Uint64(key[:8])%s.Count == s.Index
}

// idKey is a 128-bit digest of an ID: the run remembers every ID it has seen
// in 16 bytes, whatever the ID's length, with no practical risk of collision.
// Its first 8 bytes also place the ID in a shard.
func idKey(id string) [16]byte {
	sum := sha256.Sum256([]byte(id))
	return [16]byte(sum[:16])
}
