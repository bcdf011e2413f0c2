package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/masstore/masstore/cleanup"
)

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string { return strings.Join(*l, ",") }

func (l *stringList) Set(v string) error {
	*l = append(*l, v)
	return nil
}

// retentionFlag is a repeatable NAME=DURATION flag.
type retentionFlag map[string]time.Duration

func (r retentionFlag) String() string {
	var parts []string
	for k, v := range r {
		parts = append(parts, k+"="+v.String())
	}
	return strings.Join(parts, ",")
}

func (r retentionFlag) Set(v string) error {
	name, value, ok := strings.Cut(v, "=")
	if !ok || name == "" || value == "" {
		return fmt.Errorf("want NAME=DURATION, got %q", v)
	}
	if _, err := cleanup.Lookup(name); err != nil {
		return err
	}
	d, err := parseRetention(value)
	if err != nil {
		return err
	}
	r[name] = d
	return nil
}

// parseRetention accepts Go durations ("36h", "90m") and whole days ("30d").
func parseRetention(s string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n <= 0 || n > 36500 {
			return 0, fmt.Errorf("invalid duration %q: want whole days from 1d to 36500d", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q: want e.g. 30d, 36h or 90m", s)
	}
	return d, nil
}

// formatRetention prints whole days as "30d", else as Go does.
func formatRetention(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	}
	return d.String()
}

// timeFlag is an RFC 3339 time flag.
type timeFlag struct {
	t   time.Time
	set bool
}

func (f *timeFlag) String() string {
	if f.t.IsZero() {
		return ""
	}
	return f.t.Format(time.RFC3339)
}

func (f *timeFlag) Set(v string) error {
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return fmt.Errorf("want an RFC 3339 time such as 2026-11-26T12:00:00Z, got %q", v)
	}
	f.t, f.set = t, true
	return nil
}
