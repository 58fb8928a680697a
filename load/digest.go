package load

import (
	"crypto/sha256"
	"encoding/binary"
)

// digest is a SHA-256 of the interview's content as it is stored: status,
// interview ID, score, summary and each message (ID, position, role,
// content, sent_at to the microsecond) and the extra members. Every field is length-prefixed and
// NULL is told apart from "", so two different contents never share one.
// buf is scratch space, returned grown for the next call.
func (iv *Interview) digest(buf []byte) (sum [sha256.Size]byte, scratch []byte) {
	b := buf[:0]
	put := func(s string) {
		b = binary.AppendUvarint(b, uint64(len(s))+1)
		b = append(b, s...)
	}
	putNull := func(s *string) {
		if s == nil {
			b = append(b, 0)
			return
		}
		put(*s)
	}
	// Extra members count only where there are some, so that a digest
	// stored before they were kept still matches a transcript without any.
	putExtra := func(extra []byte) {
		if extra != nil {
			b = append(b, 0xff)
			put(string(extra))
		}
	}
	put(string(iv.Status))
	putNull(iv.InterviewID)
	putNull(iv.Score)
	putNull(iv.Summary)
	b = binary.BigEndian.AppendUint64(b, uint64(len(iv.Messages)))
	for i := range iv.Messages {
		m := &iv.Messages[i]
		put(m.ID)
		b = binary.BigEndian.AppendUint64(b, uint64(int64(m.Position)))
		put(m.Role)
		put(m.Content)
		b = binary.BigEndian.AppendUint64(b, uint64(m.SentAt.UnixMicro()))
		putExtra(m.Extra)
	}
	putExtra(iv.Extra)
	return sha256.Sum256(b), b
}
