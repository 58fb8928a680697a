package transform

import (
	"strings"
	"testing"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/stretchr/testify/assert"
)

// Each literal was tried against PostgreSQL 15 ('…'::numeric): the check
// accepts exactly what the server stores.
func TestDecodeScoreMatchesPostgreSQL(t *testing.T) {
	t.Parallel()
	zeros := func(n int) string { return strings.Repeat("0", n) }
	for _, tt := range []struct {
		literal  string
		accepted bool
	}{
		{"1.0e-16382", true},
		{"1.0e-16383", false}, // the trailing zero counts in the scale
		{"0." + zeros(16383), true},
		{"0." + zeros(16384), false},
		{"1e131071", true},
		{"1e131072", false},
		{"0.001e131074", true},
		{"0.001e131075", false},
		{"10e131071", false},
		{"0e999999", true},
		{"-0.0e-0", true},
		{"-86.5", true},
	} {
		_, err := decodeScore(jsontext.Value(tt.literal))
		assert.Equal(t, tt.accepted, err == nil, "%.20s… (%d bytes): %v", tt.literal, len(tt.literal), err)
	}
}
