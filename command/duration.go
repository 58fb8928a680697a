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
type duration struct{ d time.Duration }

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
	v.d = d
	return nil
}

func (v *duration) String() string {
	if v == nil {
		return ""
	}
	return v.d.String()
}

// durationFlag is a duration flag of category, set also by its environment
// variable and the YAML file.
func durationFlag(name, category string, value time.Duration, usage string) cli.Flag {
	return &cli.GenericFlag{Name: name, Category: category, Value: &duration{value}, Usage: usage + " (a duration such as 20h, 90s or 30d)",
		EnvVars: []string{envName(name)}}
}

// durationOf returns the value of the duration flag name.
func durationOf(c *cli.Context, name string) time.Duration {
	if v, ok := c.Generic(name).(*duration); ok {
		return v.d
	}
	return 0
}
