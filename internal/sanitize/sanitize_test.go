package sanitize

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestText(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, in, want string }{
		{"empty", "", ""},
		{"unchanged ascii", "hello", "hello"},
		{"unchanged unicode and spaces kept", "  héllo 世界 🎉\r\n\t", "  héllo 世界 🎉\r\n\t"},
		{"nul removed", "a\x00b\x00", "ab"},
		{"only nuls", "\x00\x00", ""},
		{"invalid byte", "a\xffb", "a\uFFFDb"},
		{"each invalid byte replaced", "\xff\xfe", "\uFFFD\uFFFD"},
		{"truncated sequence", "é"[:1] + "x", "\uFFFDx"},
		{"surrogate half encoded in utf-8", "\xed\xa0\x80", "\uFFFD\uFFFD\uFFFD"},
		{"nul and invalid together", "\x00\xc3", "\uFFFD"},
		{"replacement char kept", "\uFFFD", "\uFFFD"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := Text(tt.in); got != tt.want {
				t.Errorf("Text(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func FuzzText(f *testing.F) {
	for _, s := range []string{"", "abc", "\x00", "\xff", "é", "\xed\xa0\x80"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := Text(s)
		if !utf8ValidNoNUL(got) {
			t.Fatalf("Text(%q) = %q: not valid UTF-8 without NUL", s, got)
		}
		if Text(got) != got {
			t.Fatalf("Text is not idempotent on %q", s)
		}
	})
}

func utf8ValidNoNUL(s string) bool {
	return utf8.ValidString(s) && !strings.Contains(s, "\x00")
}
