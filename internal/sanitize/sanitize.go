// Package sanitize makes text storable in PostgreSQL following the contract:
// NUL characters are removed and each byte of invalid UTF-8 becomes U+FFFD;
// everything else is kept byte for byte (no trimming, no normalization).
// URL makes a URL printable: never its password; Secrets takes secrets out of
// a line.
package sanitize

import (
	"net/url"
	"strings"
	"unicode/utf8"
)

// Text returns s without NUL characters and with every byte that is not part
// of valid UTF-8 replaced by U+FFFD. It returns s itself, without allocating,
// when there is nothing to change.
func Text(s string) string {
	if utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b.WriteRune(utf8.RuneError)
		case r == 0:
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// URL is u with the password of its userinfo replaced, as every URL the
// program prints.
func URL(u string) string {
	parsed, err := url.Parse(u)
	if err != nil || parsed.User == nil {
		return u
	}
	return parsed.Redacted()
}

// Redacted stands where a secret was removed.
const Redacted = "[REDACTED]"

// Secrets returns s with every non-empty secret in it replaced by Redacted.
func Secrets(s string, secrets []string) string {
	for _, secret := range secrets {
		if secret != "" {
			s = strings.ReplaceAll(s, secret, Redacted)
		}
	}
	return s
}
