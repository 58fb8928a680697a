// Package setting is how the library packages refuse a setting out of its
// range: one error type that names the setting (its Go field), its value and
// what is wanted, which the command line reports under the flag's name.
package setting

import (
	"fmt"
	"time"
)

// Error is a setting out of its range.
type Error struct {
	// Name is the setting's field, e.g. "Concurrency" or "OutageTimeout".
	Name  string
	Value any
	// Want says what is accepted, e.g. "1 to 1000".
	Want string
}

func (e *Error) Error() string { return fmt.Sprintf("%s %v: want %s", e.Name, e.Value, e.Want) }

// Rule is one check of a setting.
type Rule struct {
	OK    bool
	Name  string
	Value any
	Want  string
}

// Check returns an *Error for the first rule that does not hold, nil when
// all do.
func Check(rules ...Rule) error {
	for _, r := range rules {
		if !r.OK {
			return &Error{Name: r.Name, Value: r.Value, Want: r.Want}
		}
	}
	return nil
}

// Positive is the rule that duration d, named name, is above zero.
func Positive(name string, d time.Duration) Rule {
	return Rule{OK: d > 0, Name: name, Value: d, Want: "a positive duration"}
}

// Or returns def when v is the zero value, v otherwise: the zero value of a
// setting means its default.
func Or[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}
