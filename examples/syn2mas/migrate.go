package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/masstore/masstore/storage"
	"github.com/masstore/masstore/syn2mas"
)

type migrateFlags struct {
	sharedFlags
	masDBURL string
	dryRun   bool
}

func parseMigrateFlags(args []string, stderr io.Writer) (migrateFlags, error) {
	var c migrateFlags
	fset := c.newFlagSet("syn2mas migrate", stderr)
	fset.StringVar(&c.masDBURL, "database-url", "", "MAS database `URL`, overriding the MAS configuration's database.uri")
	fset.BoolVar(&c.dryRun, "dry-run", false, "migrate, check the result, then remove it (safe beside a running Synapse)")
	return c, c.parse(fset, args)
}

func runMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c, err := parseMigrateFlags(args, stderr)
	if err != nil {
		return usageError("migrate", err, stderr)
	}
	fail := func(format string, args ...any) int {
		fmt.Fprintf(stderr, "syn2mas migrate: "+format+"\n", args...)
		return exitCouldNotRun
	}
	syn, err := syn2mas.LoadSynapseConfig(c.synapseConfigs...)
	if err != nil {
		return fail("%v", err)
	}
	mas, err := syn2mas.LoadMASConfig(c.masConfig)
	if err != nil {
		return fail("%v", err)
	}
	synURI := c.synapseDBURI
	if synURI == "" {
		if synURI, err = syn2mas.SynapseDSN(syn, nil); err != nil {
			return fail("%v", err)
		}
	}
	masURL := c.masDBURL
	if masURL == "" {
		masURL = mas.DatabaseURI
	}
	if masURL == "" {
		return fail("no MAS database: %s has no database.uri; give --database-url", mas.File)
	}
	synDB, err := syn2mas.OpenDatabase(ctx, synURI)
	if err != nil {
		return fail("synapse database: %v", err)
	}
	defer synDB.Close()
	masDB, err := syn2mas.OpenDatabase(ctx, masURL)
	if err != nil {
		return fail("MAS database: %v", err)
	}
	defer masDB.Close()

	p := newProgressPrinter(stderr)
	report, err := syn2mas.Migrate(ctx, synDB.DB, masDB.DB, storage.SystemClock{}, syn2mas.MigrateOptions{
		Synapse:                    syn,
		MAS:                        mas,
		IgnoreMissingAuthProviders: c.ignoreMissing,
		DryRun:                     c.dryRun,
		Progress:                   p.update,
	})
	p.done(err == nil)
	var checkErr *syn2mas.CheckError
	if errors.As(err, &checkErr) {
		if c.json {
			err = printJSON(stdout, checkErr.Findings)
		} else {
			err = printHuman(stdout, checkErr.Findings, false)
		}
		if err != nil {
			return fail("write output: %v", err)
		}
		return exitErrors
	}
	if err != nil {
		return fail("%v; nothing was migrated", err)
	}
	if c.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		err = enc.Encode(report)
	} else {
		_, err = io.WriteString(stdout, summary(report))
	}
	if err != nil {
		return fail("write output: %v", err)
	}
	return exitOK
}

// summary is the report for a person: warnings, then the counts per kind.
func summary(r *syn2mas.Report) string {
	var b strings.Builder
	if r.Recovered {
		b.WriteString("An earlier run had stopped half-way: its rows were removed and the schema restored first.\n\n")
	}
	if len(r.Warnings) > 0 {
		fmt.Fprintf(&b, "Warnings (%d):\n", len(r.Warnings))
		for _, f := range r.Warnings {
			fmt.Fprintf(&b, "  - [%s] %s\n", f.Code, f.Message)
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "%-16s %12s %12s\n", "", "migrated", "skipped")
	for _, k := range r.Kinds {
		fmt.Fprintf(&b, "%-16s %12d %12d\n", k.Kind, k.Migrated, k.Skipped)
	}
	fmt.Fprintf(&b, "\nLoaded in %s, indexes and constraints rebuilt in %s.\n",
		r.LoadTime.Round(time.Millisecond), r.RestoreTime.Round(time.Millisecond))
	if r.DryRun {
		b.WriteString("Dry run: the rows were written and checked against MAS's constraints, then removed.\n")
	} else {
		b.WriteString("Done: MAS can start on this database.\n")
	}
	return b.String()
}

// progressPrinter shows a migration's progress on stderr: a line rewritten
// in place on a terminal; otherwise, for a log, one line with the final
// counts of each kind of row once it is done, and one per index or
// constraint rebuilt.
type progressPrinter struct {
	w        io.Writer
	terminal bool
	last     syn2mas.Progress // the last report, before the current step
	live     bool             // a live line is showing
}

func newProgressPrinter(w io.Writer) *progressPrinter {
	return &progressPrinter{w: w, terminal: isTerminal(w)}
}

func (p *progressPrinter) update(pr syn2mas.Progress) {
	if p.terminal {
		fmt.Fprintf(p.w, "\r\033[K%s", progressLine(pr))
		p.live = true
		return
	}
	if step(pr) != step(p.last) {
		p.finishStep(pr)
	}
	p.last = pr
}

// finishStep logs the step p.last was in, with the counts of next (the
// first report of the next step, or the last of the migration).
func (p *progressPrinter) finishStep(next syn2mas.Progress) {
	switch p.last.Phase {
	case syn2mas.PhaseLoad:
		done := next
		done.Phase, done.Kind = syn2mas.PhaseLoad, p.last.Kind
		fmt.Fprintln(p.w, progressLine(done))
	case syn2mas.PhaseRestore:
		fmt.Fprintln(p.w, progressLine(p.last))
	}
}

// done ends the display; ok says whether the migration succeeded (a failed
// rebuild is not logged as rebuilt).
func (p *progressPrinter) done(ok bool) {
	if p.live {
		fmt.Fprint(p.w, "\r\033[K")
		return
	}
	if ok || p.last.Phase == syn2mas.PhaseLoad {
		p.finishStep(p.last)
	}
}

// step is what a report is about: a kind of row, or an index.
func step(pr syn2mas.Progress) string {
	return string(pr.Phase) + " " + string(pr.Kind) + pr.Rebuilding
}

// progressLine describes pr in one line.
func progressLine(pr syn2mas.Progress) string {
	if pr.Phase == syn2mas.PhaseRestore {
		return "rebuilt " + pr.Rebuilding
	}
	count := map[syn2mas.Kind]syn2mas.KindProgress{}
	for _, k := range pr.Kinds {
		count[k.Kind] = k
	}
	describe := func(kind syn2mas.Kind) string {
		k := count[kind]
		of := "no estimate"
		if k.Estimate > 0 {
			of = fmt.Sprintf("of ~%d", k.Estimate)
		}
		return fmt.Sprintf("%s: %d migrated, %d skipped (%s)", kind, k.Migrated, k.Skipped, of)
	}
	line := describe(pr.Kind)
	if pr.Kind == syn2mas.KindDevices { // read together with their tokens
		line += "; " + describe(syn2mas.KindAccessTokens) + "; " + describe(syn2mas.KindRefreshTokens)
	}
	return line
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
