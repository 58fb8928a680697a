package transform

import (
	"strings"

	"github.com/go-json-experiment/json/jsontext"
)

// PostgreSQL numeric limits: digits before the decimal point, and the
// display scale (digits after it, trailing zeros included).
const (
	maxNumericIntDigits = 131072
	maxNumericScale     = 16383
)

// decodeScore returns the score literal, nil for an absent or null score.
func decodeScore(raw jsontext.Value) (*string, error) {
	switch raw.Kind() {
	case 0, 'n':
		return nil, nil
	case '0':
	default:
		return nil, &InvalidResponseError{Field: "interview.score", Reason: "not a number or null"}
	}
	s := string(raw)
	intDigits, scale := numericDigits(s)
	if intDigits > maxNumericIntDigits || scale > maxNumericScale {
		return nil, &InvalidResponseError{Field: "interview.score", Reason: "outside PostgreSQL's numeric range"}
	}
	return &s, nil
}

// numericDigits returns, for a valid JSON number, what PostgreSQL's numeric
// input counts once the exponent is applied: the digits before the decimal
// point from the first significant one (0 for a value under 1), and the
// display scale, which counts every digit written after the point, trailing
// zeros included ("1.0e-16383" has a scale of 16384, and so has "0." followed
// by 16384 zeros). PostgreSQL refuses a value past either limit.
func numericDigits(n string) (intDigits, scale int) {
	n = strings.TrimPrefix(n, "-")
	mant, exp := n, 0
	if i := strings.IndexAny(n, "eE"); i >= 0 {
		mant, exp = n[:i], parseExponent(n[i+1:])
	}
	whole, frac, _ := strings.Cut(mant, ".")
	scale = max(len(frac)-exp, 0)
	digits := strings.TrimLeft(whole+frac, "0")
	if digits == "" {
		return 0, scale // zero: only its scale can overflow
	}
	// The first significant digit stands this many places before the point.
	return max(len(digits)-len(frac)+exp, 0), scale
}

// parseExponent reads an exponent's digits. One beyond ±2^24 is capped
// there, so that it cannot overflow; every value but zero is out of range
// long before.
func parseExponent(e string) int {
	sign := 1
	switch {
	case strings.HasPrefix(e, "-"):
		sign, e = -1, e[1:]
	case strings.HasPrefix(e, "+"):
		e = e[1:]
	}
	exp := 0
	for _, c := range e {
		exp = exp*10 + int(c-'0')
		if exp > 1<<24 {
			break
		}
	}
	return sign * exp
}
