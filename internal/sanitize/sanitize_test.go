package sanitize

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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
			assert.Equal(t, tt.want, Text(tt.in), "Text(%q)", tt.in)
		})
	}
}

func FuzzText(f *testing.F) {
	for _, s := range []string{"", "abc", "\x00", "\xff", "é", "\xed\xa0\x80"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := Text(s)
		require.True(t, utf8.ValidString(got) && !strings.Contains(got, "\x00"), "Text(%q) = %q: not valid UTF-8 without NUL", s, got)
		require.Equal(t, got, Text(got), "Text is not idempotent on %q", s)
	})
}
