package load

import (
	"crypto/sha256"
	"encoding/binary"
	"hash"
)

// digest is a SHA-256 of the interview's content as it is stored: status,
// interview ID, score, summary and each message (ID, position, role,
// content, sent_at to the microsecond). Every field is length-prefixed and
// NULL is told apart from "", so two different contents never share one.
func (iv *Interview) digest() []byte {
	h := sha256.New()
	put := func(s string) {
		var n [binary.MaxVarintLen64]byte
		h.Write(n[:binary.PutUvarint(n[:], uint64(len(s))+1)])
		h.Write([]byte(s))
	}
	putNull := func(s *string) {
		if s == nil {
			h.Write([]byte{0})
			return
		}
		put(*s)
	}
	put(string(iv.Status))
	putNull(iv.InterviewID)
	putNull(iv.Score)
	putNull(iv.Summary)
	putInt(h, int64(len(iv.Messages)))
	for i := range iv.Messages {
		m := &iv.Messages[i]
		put(m.ID)
		putInt(h, int64(m.Position))
		put(m.Role)
		put(m.Content)
		putInt(h, m.SentAt.UnixMicro())
	}
	return h.Sum(nil)
}

func putInt(h hash.Hash, v int64) {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(v))
	h.Write(b[:])
}
