package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/masstore/masstore/cleanup"
)

func runJobs(_ context.Context, args []string, _ func(string) string, stdout, stderr io.Writer) int {
	fs := newFlagSet("jobs", stderr)
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "JOB\tRETENTION\tCADENCE\tFROM\tDELETES")
	for _, j := range cleanup.AllJobs() {
		from := "MAS"
		if !j.FromMAS {
			from = "masstore"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", j.Name, formatRetention(j.Retention), j.Cadence, from, j.Description)
	}
	w.Flush()
	return exitOK
}
