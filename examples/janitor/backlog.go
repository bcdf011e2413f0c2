package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"text/tabwriter"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/masstore/masstore/cleanup"
	"github.com/masstore/masstore/storage/postgres"
)

// jobBacklog is one line of `janitor backlog`.
type jobBacklog struct {
	job string
	postgres.Backlog
	last *lastRun // nil: no run recorded
}

// eta is the running time the job needs to affect its due rows at its last
// run's rate, rounded up to a whole second (0 only when nothing is due); ok
// is false when there is no rate to go by.
func (b jobBacklog) eta() (time.Duration, bool) {
	if b.Due == 0 {
		return 0, true
	}
	if b.last == nil || b.last.rate() == 0 {
		return 0, false
	}
	secs := math.Ceil(float64(b.Due) / b.last.rate())
	if secs > math.MaxInt64/float64(time.Second) {
		return 0, false
	}
	return time.Duration(secs) * time.Second, true
}

func runBacklog(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer) int {
	fs := newFlagSet("backlog", stderr)
	dbURL := databaseFlag(fs)
	sel := addSelectionFlags(fs)
	asJSON := fs.Bool("json", false, "print one JSON object")
	exactWithin := fs.Duration("exact-within", postgres.DefaultExactWithin, "count each job's due rows exactly if that takes at most this long, else show the planner's estimate (marked ~)")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	fail := func(code int, err error) int {
		fmt.Fprintln(stderr, "janitor backlog:", err)
		return code
	}
	if fs.NArg() > 0 {
		return fail(exitUsage, fmt.Errorf("unexpected argument %q", fs.Arg(0)))
	}
	if *exactWithin <= 0 {
		return fail(exitUsage, fmt.Errorf("--exact-within %s: want a positive duration", *exactWithin))
	}
	s, err := sel.resolve(cleanup.Options{})
	if err != nil {
		return fail(exitUsage, err)
	}
	if err := cleanup.Validate(s.clock, s.opts); err != nil {
		return fail(exitUsage, err)
	}
	db, err := openDatabase(ctx, *dbURL, env)
	if err != nil {
		return fail(exitFailure, err)
	}
	defer db.Close()
	runs, err := lastRuns(ctx, db)
	if err != nil {
		return fail(exitFailure, err)
	}
	store := postgres.New(sqlx.NewDb(db, "postgres"))
	bo := backlogOptions(s.opts)
	bo.ExactWithin = *exactWithin
	now := s.clock.Now()
	lines := make([]jobBacklog, 0, len(s.jobs))
	for _, j := range s.jobs {
		b, err := store.Backlog(ctx, j.Name, s.opts.HorizonOf(j, now), bo)
		if err != nil {
			return fail(exitFailure, fmt.Errorf("%s: %w", j.Name, err))
		}
		line := jobBacklog{job: j.Name, Backlog: b}
		if r, ok := runs[j.Name]; ok {
			line.last = &r
		}
		lines = append(lines, line)
	}
	if *asJSON {
		err = printBacklogJSON(stdout, now, lines)
	} else {
		err = printBacklog(stdout, now, lines)
	}
	if err != nil {
		return fail(exitFailure, err)
	}
	return exitOK
}

// printBacklog prints the backlog as a table.
func printBacklog(w io.Writer, now time.Time, lines []jobBacklog) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "JOB\tDUE\tOLDEST\tLAST RUN\tETA\t")
	estimated := false
	for _, b := range lines {
		due := fmt.Sprint(b.Due)
		if b.Estimated {
			due, estimated = "~"+due, true
		}
		oldest := "-"
		if !b.Oldest.IsZero() {
			oldest = formatAge(now.Sub(b.Oldest))
		}
		rate := "never"
		if b.last != nil {
			rate = fmt.Sprintf("%.0f rows/s", b.last.rate())
		}
		eta := "unknown"
		if d, ok := b.eta(); ok && d == 0 {
			eta = "caught up"
		} else if ok {
			eta = formatAge(d)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t\n", b.job, due, oldest, rate, eta)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if estimated {
		_, err := fmt.Fprintln(w, "~: the planner's estimate; the exact count took longer than --exact-within")
		return err
	}
	return nil
}

// formatAge prints a duration to the largest two units: 45d3h, 3h12m, 5m4s.
func formatAge(d time.Duration) string {
	d = d.Round(time.Second)
	switch days := d / (24 * time.Hour); {
	case days > 0:
		return fmt.Sprintf("%dd%dh", days, (d%(24*time.Hour))/time.Hour)
	case d >= time.Hour:
		return fmt.Sprintf("%dh%dm", d/time.Hour, (d%time.Hour)/time.Minute)
	case d >= time.Minute:
		return fmt.Sprintf("%dm%ds", d/time.Minute, (d%time.Minute)/time.Second)
	default:
		return d.String()
	}
}

// jsonBacklog is the --json form of one job's backlog.
type jsonBacklog struct {
	Job              string       `json:"job"`
	Due              int64        `json:"due"`
	Estimated        bool         `json:"estimated"`
	Oldest           *time.Time   `json:"oldest"`
	OldestAgeSeconds *float64     `json:"oldest_age_seconds"`
	LastRun          *jsonLastRun `json:"last_run"`
	ETASeconds       *float64     `json:"eta_seconds"`
}

// jsonLastRun is the --json form of a job's last recorded run.
type jsonLastRun struct {
	FinishedAt    time.Time `json:"finished_at"`
	Affected      int64     `json:"affected"`
	DurationMS    int64     `json:"duration_ms"`
	RowsPerSecond float64   `json:"rows_per_second"`
}

// printBacklogJSON prints the backlog as one JSON object.
func printBacklogJSON(w io.Writer, now time.Time, lines []jobBacklog) error {
	out := struct {
		Now  time.Time     `json:"now"`
		Jobs []jsonBacklog `json:"jobs"`
	}{Now: now.UTC(), Jobs: make([]jsonBacklog, 0, len(lines))}
	for _, b := range lines {
		jb := jsonBacklog{Job: b.job, Due: b.Due, Estimated: b.Estimated}
		if !b.Oldest.IsZero() {
			oldest, age := b.Oldest.UTC(), now.Sub(b.Oldest).Seconds()
			jb.Oldest, jb.OldestAgeSeconds = &oldest, &age
		}
		if b.last != nil {
			jb.LastRun = &jsonLastRun{FinishedAt: b.last.Finished.UTC(), Affected: b.last.Affected,
				DurationMS: b.last.Duration.Milliseconds(), RowsPerSecond: b.last.rate()}
		}
		if d, ok := b.eta(); ok {
			secs := d.Seconds()
			jb.ETASeconds = &secs
		}
		out.Jobs = append(out.Jobs, jb)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return errors.Join(errors.New("write the backlog"), err)
	}
	return nil
}
