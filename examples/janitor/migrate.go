package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/masstore/masstore/schema"
)

// newFlagSet returns a flag set that reports errors instead of exiting.
func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("janitor "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

func runMigrate(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer) int {
	fs := newFlagSet("migrate", stderr)
	dbURL := databaseFlag(fs)
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	db, err := openDatabase(ctx, *dbURL, env)
	if err != nil {
		fmt.Fprintln(stderr, "janitor migrate:", err)
		return exitFailure
	}
	defer db.Close()
	before, err := schema.Status(ctx, db)
	if err != nil {
		fmt.Fprintln(stderr, "janitor migrate:", err)
		return exitFailure
	}
	if err := schema.Migrate(ctx, db); err != nil {
		fmt.Fprintln(stderr, "janitor migrate:", err)
		return exitFailure
	}
	applied := 0
	for _, s := range before {
		if !s.Applied {
			fmt.Fprintf(stdout, "applied %s\n", s.Migration)
			applied++
		}
	}
	fmt.Fprintf(stdout, "%d migration(s) applied, schema at version %d\n", applied, before[len(before)-1].Migration.Version)
	return exitOK
}

func runStatus(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer) int {
	fs := newFlagSet("status", stderr)
	dbURL := databaseFlag(fs)
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	db, err := openDatabase(ctx, *dbURL, env)
	if err != nil {
		fmt.Fprintln(stderr, "janitor status:", err)
		return exitFailure
	}
	defer db.Close()
	st, err := schema.Status(ctx, db)
	if err != nil {
		fmt.Fprintln(stderr, "janitor status:", err)
		return exitFailure
	}
	pending := 0
	for _, s := range st {
		state := "pending"
		if s.Applied {
			state = "applied " + s.AppliedAt.UTC().Format("2006-01-02 15:04:05Z")
		} else {
			pending++
		}
		fmt.Fprintf(stdout, "%-60s %s\n", s.Migration, state)
	}
	fmt.Fprintf(stdout, "%d applied, %d pending\n", len(st)-pending, pending)
	return exitOK
}

func runVerify(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer) int {
	fs := newFlagSet("verify", stderr)
	dbURL := databaseFlag(fs)
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	db, err := openDatabase(ctx, *dbURL, env)
	if err != nil {
		fmt.Fprintln(stderr, "janitor verify:", err)
		return exitFailure
	}
	defer db.Close()
	findings, err := schema.Verify(ctx, db)
	if err != nil {
		fmt.Fprintln(stderr, "janitor verify:", err)
		return exitFailure
	}
	if len(findings) == 0 {
		fmt.Fprintln(stdout, "schema ok: every table, column, constraint, index and trigger the cleanup jobs need is in place")
		return exitOK
	}
	for _, f := range findings {
		fmt.Fprintln(stdout, "-", f)
	}
	fmt.Fprintf(stdout, "%d finding(s)\n", len(findings))
	return exitFindings
}
