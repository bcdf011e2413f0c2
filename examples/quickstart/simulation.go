package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/masstore/masstore/cleanup"
	"github.com/masstore/masstore/storage"
)

// person is one user of the simulated server and what they do.
type person struct {
	name    string
	user    *storage.User
	browser *storage.UserSession
	compat  *storage.CompatSession      // nil when none
	oauth   *storage.OAuth2Session      // nil when none
	refresh *storage.OAuth2RefreshToken // the current one of oauth
	access  *storage.OAuth2AccessToken  // the current one of oauth
	ip      netip.Addr
	logout  int // the day they log out everywhere; 0: never
	quiet   int // the day they stop using the server; 0: never
}

// simulation is the story the quickstart tells.
type simulation struct {
	store    storage.Store
	clock    *storage.TestClock
	start    time.Time
	out      io.Writer
	progress io.Writer // nil unless stderr is a terminal
	tag      string    // keeps names unique on a shared database

	provider *storage.UpstreamOAuthProvider
	client   *storage.OAuth2Client
	people   []*person
	bob      struct {
		browser  *storage.UserSession
		phone    *storage.CompatSession
		upstream *storage.UpstreamOAuthSession
		survived bool
		gone     bool
	}
	removed map[string]int
}

// tokenChurn are the jobs that remove the tokens clients spend every day.
var tokenChurn = map[string]bool{
	"cleanup-revoked-oauth-access-tokens":   true,
	"cleanup-expired-oauth-access-tokens":   true,
	"cleanup-revoked-oauth-refresh-tokens":  true,
	"cleanup-consumed-oauth-refresh-tokens": true,
}

// sub is bob's subject at the upstream provider.
const sub = "bob-at-example-idp"

func newSimulation(store storage.Store, out, stderr io.Writer) *simulation {
	start := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	s := &simulation{store: store, clock: storage.NewTestClock(start), start: start, out: out, removed: map[string]int{}}
	if f, ok := stderr.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			s.progress = stderr
		}
	}
	s.tag = fmt.Sprintf("%x", time.Now().UnixNano()&0xffff)
	return s
}

func (s *simulation) say(day int, format string, args ...any) {
	if s.progress != nil {
		fmt.Fprint(s.progress, "\r\033[K")
	}
	fmt.Fprintf(s.out, "day %2d  %s\n", day, fmt.Sprintf(format, args...))
}

func (s *simulation) run(ctx context.Context, days int) error {
	if err := s.populate(ctx); err != nil {
		return fmt.Errorf("day 0: %w", err)
	}
	for day := 1; day <= days; day++ {
		if s.progress != nil {
			fmt.Fprintf(s.progress, "\r\033[Ksimulating day %d/%d", day, days)
		}
		s.clock.Set(s.start.Add(time.Duration(day) * 24 * time.Hour))
		if err := s.live(ctx, day); err != nil {
			return fmt.Errorf("day %d: %w", day, err)
		}
		// The host's scheduler runs the jobs in the small hours.
		s.clock.Set(s.start.Add(time.Duration(day)*24*time.Hour + 18*time.Hour))
		if err := s.nightly(ctx, day); err != nil {
			return fmt.Errorf("night after day %d: %w", day, err)
		}
	}
	if s.progress != nil {
		fmt.Fprint(s.progress, "\r\033[K")
	}
	return s.summary(ctx)
}

// nightly runs every cleanup job, as a host would, and tells what went.
func (s *simulation) nightly(ctx context.Context, day int) error {
	reports, err := cleanup.RunAll(ctx, s.store, s.clock, cleanup.Options{BatchSize: 100})
	if err != nil {
		return err
	}
	var parts []string
	tokens := 0
	for _, r := range reports {
		if r.Affected == 0 {
			continue
		}
		s.removed[r.Job] += r.Affected
		if tokenChurn[r.Job] {
			tokens += r.Affected
			continue
		}
		parts = append(parts, fmt.Sprintf("%s %d", strings.TrimPrefix(r.Job, "cleanup-"), r.Affected))
	}
	// Spent tokens go every night; only say so alongside something else.
	if len(parts) > 0 {
		if tokens > 0 {
			parts = append(parts, fmt.Sprintf("and %d spent tokens", tokens))
		}
		s.say(day, "night: cleanup removed %s", strings.Join(parts, ", "))
	}
	return s.checkBob(ctx, day)
}

// checkBob follows bob's browser session, finished on day 1 while his phone
// stayed signed in through it.
func (s *simulation) checkBob(ctx context.Context, day int) error {
	_, err := s.store.UserSessions().Lookup(ctx, s.bob.browser.ID)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		if !s.bob.gone {
			s.bob.gone = true
			s.say(day, "night: bob's browser session is gone now that its compat session is: nothing points at it any more")
		}
		return nil
	case err != nil:
		return err
	}
	if !s.bob.survived && day >= 32 {
		s.bob.survived = true
		phone, err := s.store.CompatSessions().Lookup(ctx, s.bob.phone.ID)
		if err != nil {
			return fmt.Errorf("bob's phone session is gone while his browser session stays: %w", err)
		}
		state := "still signed in"
		if phone.FinishedAt != nil {
			state = fmt.Sprintf("finished on day %d, less than 30 days ago", s.dayOf(*phone.FinishedAt))
		}
		s.say(day, "night: bob's browser session, finished on day 1, survives: his phone's compat session (%s) still points at it", state)
	}
	return nil
}

func (s *simulation) dayOf(t time.Time) int { return int(t.Sub(s.start) / (24 * time.Hour)) }

func (s *simulation) summary(ctx context.Context) error {
	fmt.Fprintln(s.out, "\nwhat each job removed over the whole run:")
	jobs := cleanup.AllJobs()
	for _, j := range jobs {
		if !j.On(cleanup.Options{}) {
			fmt.Fprintf(s.out, "  %-42s  off (no TTL given)\n", j.Name)
			continue
		}
		fmt.Fprintf(s.out, "  %-42s %4d\n", j.Name, s.removed[j.Name])
	}
	audit, err := cleanup.AuditIPs(ctx, s.store, s.clock, cleanup.Options{})
	if err != nil {
		return err
	}
	sort.Slice(audit, func(i, j int) bool { return audit[i].Table < audit[j].Table })
	fmt.Fprintln(s.out, "\nprivacy audit, IP addresses older than their retention still stored:")
	for _, a := range audit {
		fmt.Fprintf(s.out, "  %-26s %-15s %d\n", a.Table, a.Column, a.Stale)
	}
	return nil
}
