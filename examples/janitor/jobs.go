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
			from = "beyond MAS"
		}
		retention := formatRetention(j.Retention)
		switch {
		case j.Optional:
			retention = "off"
		case j.Retention == 0:
			retention = "-"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", j.Name, retention, j.Cadence, from, j.Description)
	}
	w.Flush()
	return exitOK
}
