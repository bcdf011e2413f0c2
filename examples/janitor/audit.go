package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/masstore/masstore/cleanup"
	"github.com/masstore/masstore/storage"
	"github.com/masstore/masstore/storage/postgres"
)

// exitStale is what audit exits with when a row keeps an IP address past its
// retention. It is 1, not exitFindings, because a compliance check (cron, CI,
// a monitoring probe) runs audit and reads any non-zero code as "failed",
// the way test runners and linters report findings. exitFailure is 1 too:
// then, and only then, audit says on stderr what went wrong.
const exitStale = 1

// runAudit is `janitor audit`: per table, the rows still holding an IP
// address past the retention of the job that should have removed it.
func runAudit(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer) int {
	fs := newFlagSet("audit", stderr)
	dbURL := databaseFlag(fs)
	retention := retentionFlag{}
	fs.Var(retention, "retention", "audit against this retention instead of the job's: NAME=DURATION, e.g. cleanup-inactive-user-session-ips=7d (repeatable)")
	var nowFlag timeFlag
	fs.Var(&nowFlag, "now", "audit as of this RFC 3339 time (default: now)")
	asJSON := fs.Bool("json", false, "print one JSON object")
	if err := fs.Parse(args); err != nil {
		return exitUsage // the flag package printed it
	}
	fail := func(code int, err error) int {
		fmt.Fprintln(stderr, "janitor audit:", err)
		return code
	}
	if fs.NArg() > 0 {
		return fail(exitUsage, fmt.Errorf("unexpected argument %q", fs.Arg(0)))
	}
	var clock storage.Clock = storage.SystemClock{}
	if nowFlag.set {
		clock = storage.NewTestClock(nowFlag.t)
	}
	opts := cleanup.Options{Retention: retention}
	if err := cleanup.Validate(clock, opts); err != nil {
		return fail(exitUsage, err)
	}
	db, err := openDatabase(ctx, *dbURL, env)
	if err != nil {
		return fail(exitFailure, err)
	}
	defer db.Close()
	now := clock.Now() // read once: the report's time is the horizons' too
	audits, err := cleanup.AuditIPs(ctx, postgres.New(sqlx.NewDb(db, "postgres")), storage.FixedClock(now), opts)
	if err != nil {
		return fail(exitFailure, err)
	}
	if *asJSON {
		err = printAuditJSON(stdout, now, audits)
	} else {
		err = printAudit(stdout, audits)
	}
	if err != nil {
		return fail(exitFailure, err)
	}
	if staleTotal(audits) > 0 {
		return exitStale
	}
	return exitOK
}

// staleTotal is the number of rows, over every table, keeping an IP address
// past its retention.
func staleTotal(audits []cleanup.IPAudit) int {
	n := 0
	for _, a := range audits {
		n += a.Stale
	}
	return n
}

// printAudit prints the audit as a table and a verdict.
func printAudit(w io.Writer, audits []cleanup.IPAudit) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TABLE\tCOLUMN\tSTALE\tRETENTION\tHORIZON\tJOB")
	var tables int
	var jobs []string
	for _, a := range audits {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\n", a.Table, a.Column, a.Stale,
			formatRetention(a.Retention), a.Horizon.UTC().Format(time.RFC3339), a.Job)
		if a.Stale > 0 {
			tables++
			if !slices.Contains(jobs, a.Job) {
				jobs = append(jobs, a.Job)
			}
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	var err error
	if tables == 0 {
		_, err = fmt.Fprintln(w, "no IP address kept past its retention")
	} else {
		_, err = fmt.Fprintf(w, "%d row(s) in %d table(s) keep an IP address past its retention; run 'janitor run --once' (jobs: %s)\n",
			staleTotal(audits), tables, strings.Join(jobs, ", "))
	}
	return err
}

// jsonIPAudit is the --json form of one table's audit.
type jsonIPAudit struct {
	Table            string    `json:"table"`
	Column           string    `json:"column"`
	Job              string    `json:"job"`
	RetentionSeconds float64   `json:"retention_seconds"`
	Horizon          time.Time `json:"horizon"`
	Stale            int       `json:"stale"`
}

// printAuditJSON prints the audit as one JSON object.
func printAuditJSON(w io.Writer, now time.Time, audits []cleanup.IPAudit) error {
	out := struct {
		Now        time.Time     `json:"now"`
		Tables     []jsonIPAudit `json:"tables"`
		StaleTotal int           `json:"stale_total"`
	}{Now: now.UTC(), Tables: make([]jsonIPAudit, 0, len(audits)), StaleTotal: staleTotal(audits)}
	for _, a := range audits {
		out.Tables = append(out.Tables, jsonIPAudit{Table: a.Table, Column: a.Column, Job: a.Job,
			RetentionSeconds: a.Retention.Seconds(), Horizon: a.Horizon.UTC(), Stale: a.Stale})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
