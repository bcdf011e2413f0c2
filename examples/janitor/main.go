// Command janitor is what an operator deploys next to the identity server:
// it migrates, inspects and verifies the database, runs the cleanup jobs,
// and reports how far behind they are and what they have left undone.
//
//	janitor migrate --database-url URL   apply pending migrations
//	janitor status  --database-url URL   list applied and pending migrations
//	janitor verify  --database-url URL   report what the cleanup jobs need and the database lacks
//	janitor jobs                         list the cleanup jobs
//	janitor run     --database-url URL [--job NAME]... [--once] [--dry-run] [--now RFC3339]
//	                [--batch-size N] [--retention NAME=DURATION]... [--max-duration D] [--pause D]
//	                [--target-batch-duration D] [--window-size N] [--json] [--every D]
//	                [--inactive-session-ttl D] [--mas-config FILE] [--keep-policy-data N]
//	                [--metrics-addr HOST:PORT] [--parallel-replicas]
//	janitor backlog --database-url URL [--json] [--exact-within D] [selection flags of run]
//	janitor audit   --database-url URL [--json] [--now RFC3339] [--retention NAME=DURATION]...
//
// expire-inactive-sessions runs only with a TTL: --inactive-session-ttl, or
// --mas-config naming a MAS configuration file whose
// experimental.inactive_session_expiration gives one (and its three
// switches); asking for it by --job without one is a usage error (exit 2).
//
// run without --once runs each job on its cadence (MAS's schedule, or
// --every, aligned to the clock so that replicas agree on the ticks) until
// SIGINT or SIGTERM, then lets the batches in flight finish. It refuses to
// start (exit 2) when verify finds the database unsafe for the selected jobs.
// Replicas run each job once per tick: a replica takes the job's advisory
// lock and skips the tick when another holds it or has already run it (the
// run log, table masstore_janitor_runs). --parallel-replicas lets every
// replica run every job, sharing its rows. --metrics-addr serves /metrics,
// /healthz and /readyz.
//
// backlog prints, per job, the rows due now (each job as if it ran now,
// alone), exact when the count takes at most --exact-within and the
// planner's estimate past it; the oldest due row's age; the last recorded
// run's rate; and the time to catch up at that rate. audit exits 1 when a
// row keeps an IP address past its retention, 0 when none does.
//
// --database-url falls back to the DATABASE_URL environment variable.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Exit codes.
const (
	exitOK       = 0
	exitFailure  = 1 // the command could not do its work
	exitUsage    = 2 // bad arguments, or a database unsafe for the jobs
	exitFindings = 3 // verify found differences
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// command is one subcommand.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer) int
}

func commands() []command {
	return []command{
		{"migrate", "apply the pending schema migrations", runMigrate},
		{"status", "list applied and pending migrations", runStatus},
		{"verify", "report what the cleanup jobs need and the database lacks", runVerify},
		{"jobs", "list the cleanup jobs: name, retention, cadence, what each deletes", runJobs},
		{"run", "run the cleanup jobs, once (--once) or each on its cadence until stopped", runRun},
		{"backlog", "per job: rows due now, the oldest one's age, last run's rate, time to catch up", runBacklog},
		{"audit", "privacy audit: rows still holding an IP address past its retention (exit 1 if any)", runAudit},
	}
}

func run(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(ctx, args[1:], env, stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "janitor: unknown command %q\n", args[0])
	usage(stderr)
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: janitor <command> [flags]\n\ncommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'janitor <command> -h' for the flags of a command.")
}
