package main

import (
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/masstore/masstore/cleanup"
	"github.com/masstore/masstore/storage"
)

// selection is what run and backlog share: which jobs, with which
// retentions and job settings, at which time.
type selection struct {
	jobs  []cleanup.Job
	clock storage.Clock
	opts  cleanup.Options
}

// selectionFlags are the flags that make a selection.
type selectionFlags struct {
	names      stringList
	retention  retentionFlag
	now        timeFlag
	ttl        *time.Duration
	masConfig  *string
	keepPolicy *int
}

// addSelectionFlags registers the selection flags on fs.
func addSelectionFlags(fs *flag.FlagSet) *selectionFlags {
	s := &selectionFlags{retention: retentionFlag{}}
	fs.Var(&s.names, "job", "only this job (repeatable; default: all, see 'janitor jobs')")
	fs.Var(s.retention, "retention", "override a job's retention: NAME=DURATION, e.g. cleanup-finished-compat-sessions=7d (repeatable)")
	fs.Var(&s.now, "now", "fix the clock at this RFC 3339 time (what-if runs, tests)")
	s.ttl = fs.Duration("inactive-session-ttl", 0, "turn expire-inactive-sessions on: finish sessions inactive for this long (10m..2160h; default: off)")
	s.masConfig = fs.String("mas-config", "", "read experimental.inactive_session_expiration from this MAS configuration file (--inactive-session-ttl wins)")
	s.keepPolicy = fs.Int("keep-policy-data", cleanup.DefaultKeepPolicyData, "prune-stale-policy-data keeps this many of the newest policy data versions (at least 1)")
	return s
}

// resolve returns the selected jobs that are on under opts, with opts
// completed by the retentions and job settings the flags give.
func (s *selectionFlags) resolve(opts cleanup.Options) (selection, error) {
	if *s.keepPolicy < 1 {
		return selection{}, fmt.Errorf("--keep-policy-data %d: at least 1 (the newest version is the policy in force)", *s.keepPolicy)
	}
	ttl := *s.ttl
	if *s.masConfig != "" {
		masTTL, kinds, ok, err := readMASConfig(*s.masConfig)
		if err != nil {
			return selection{}, fmt.Errorf("--mas-config: %w", err)
		}
		if ok && ttl == 0 {
			ttl = masTTL
		}
		opts.InactiveSessions = kinds
	}
	if ttl != 0 {
		const name = "expire-inactive-sessions"
		if _, set := s.retention[name]; set {
			return selection{}, errors.New("give the TTL of expire-inactive-sessions once: --inactive-session-ttl or --retention, not both")
		}
		s.retention[name] = ttl
	}
	opts.Retention = s.retention
	opts.KeepPolicyData = *s.keepPolicy
	jobs, err := cleanup.Select(s.names...)
	if err != nil {
		return selection{}, err
	}
	if jobs, err = turnedOn(jobs, len(s.names) > 0, opts); err != nil {
		return selection{}, err
	}
	sel := selection{jobs: jobs, clock: storage.SystemClock{}, opts: opts}
	if s.now.set {
		sel.clock = storage.NewTestClock(s.now.t)
	}
	return sel, nil
}

// turnedOn leaves out the optional jobs opts do not turn on; asking for one
// by name is an error.
func turnedOn(jobs []cleanup.Job, named bool, opts cleanup.Options) ([]cleanup.Job, error) {
	var out []cleanup.Job
	for _, j := range jobs {
		switch {
		case j.On(opts):
			out = append(out, j)
		case named:
			return nil, errExpireOff
		}
	}
	return out, nil
}
