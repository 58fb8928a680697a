package transform

import (
	"math/rand/v2"
	"testing"
	"unicode/utf8"
)

func TestPlainWord(t *testing.T) {
	t.Parallel()
	byByte := func(w []byte) bool {
		for _, c := range w {
			if c < 0x20 || c == '"' || c == '\\' || c >= utf8.RuneSelf {
				return false
			}
		}
		return true
	}
	for pos := range 8 {
		for c := range 256 {
			w := []byte("abcdefgh")
			w[pos] = byte(c)
			if got, want := plainWord(string(w)), byByte(w); got != want {
				t.Fatalf("plainWord(%q) = %v, want %v", w, got, want)
			}
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 1_000_000 {
		var w [8]byte
		for i := range w {
			w[i] = byte(r.IntN(256))
			if r.IntN(2) == 0 {
				w[i] = byte(0x20 + r.IntN(0x60)) // mostly plain, some not
			}
		}
		if got, want := plainWord(string(w[:])), byByte(w[:]); got != want {
			t.Fatalf("plainWord(%q) = %v, want %v", w, got, want)
		}
	}
}
