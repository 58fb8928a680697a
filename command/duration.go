package command

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
)

// duration is the value of a duration flag: Go's durations (90s, 20h,
// 1h30m) and, as operators write them, days (30d, 1d12h).
type duration struct{ d *time.Duration }

// parseDuration reads a duration with an optional leading number of days.
func parseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	var days time.Duration
	if i := strings.IndexByte(s, 'd'); i > 0 {
		n, err := strconv.ParseFloat(s[:i], 64)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("%q is not a duration such as 20h, 90s or 30d", s)
		}
		days, s = time.Duration(n*24*float64(time.Hour)), s[i+1:]
		if s == "" {
			return days, nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration such as 20h, 90s or 30d", s)
	}
	return days + d, nil
}

func (v *duration) Set(s string) error {
	d, err := parseDuration(s)
	if err != nil {
		return err
	}
	*v.d = d
	return nil
}

func (v *duration) String() string {
	if v == nil || v.d == nil {
		return ""
	}
	return v.d.String()
}

// durationFlag is a duration flag of category that sets *dst (to value
// unless the command line, its environment variable or the YAML file says
// otherwise).
func durationFlag(name, category string, dst *time.Duration, value time.Duration, usage string) cli.Flag {
	*dst = value
	return &cli.GenericFlag{Name: name, Category: category, Value: &duration{dst}, Usage: usage + " (a duration such as 20h, 90s or 30d)",
		EnvVars: []string{envName(name)}}
}

// Get is the duration, as flag.Getter wants.
func (v *duration) Get() any { return *v.d }
