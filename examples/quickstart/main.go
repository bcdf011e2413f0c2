// Command quickstart shows masstore at work with no setup: on the in-memory
// store, it builds a small identity server's population (users, browser
// sessions with compat and OAuth 2.0 children, an upstream login, tokens,
// recovery sessions, queue jobs), moves a simulated clock through 60 days
// while people log in, log out and go quiet, runs every cleanup job once a
// simulated night as a host's scheduler would, and tells what happened.
//
//	go run ./examples/quickstart
//	go run ./examples/quickstart --database-url postgres://…   # the same on PostgreSQL
//
// On PostgreSQL it migrates the database first. Point it at an empty
// scratch database: it refuses one that already has users, because every
// cleanup job runs and would delete whatever real data is stale.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("quickstart", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dbURL := fs.String("database-url", "", "run on this PostgreSQL database instead of in memory (default $DATABASE_URL)")
	days := fs.Int("days", 60, "simulated days (1..365)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *days < 1 || *days > 365 {
		fmt.Fprintf(stderr, "quickstart: --days %d out of range 1..365\n", *days)
		return 2
	}
	url := *dbURL
	if url == "" {
		url = env("DATABASE_URL")
	}
	store, where, closeStore, err := openStore(ctx, url)
	if err != nil {
		fmt.Fprintln(stderr, "quickstart:", err)
		return 1
	}
	defer closeStore()
	sim := newSimulation(store, stdout, stderr)
	fmt.Fprintf(stdout, "masstore quickstart on %s: %d simulated days, every cleanup job once a night\n\n", where, *days)
	if err := sim.run(ctx, *days); err != nil {
		fmt.Fprintln(stderr, "\nquickstart:", err)
		return 1
	}
	return 0
}
