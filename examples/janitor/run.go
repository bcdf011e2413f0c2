package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/robfig/cron/v3"

	"github.com/masstore/masstore/cleanup"
	"github.com/masstore/masstore/schema"
	"github.com/masstore/masstore/storage"
	"github.com/masstore/masstore/storage/postgres"
)

// errFlagsReported means the flag package already told the user what was wrong.
var errFlagsReported = errors.New("bad flags")

// defaultTargetBatchDuration makes the janitor size its batches by time
// unless told otherwise: in BENCHMARKS.md it is what brings IP clearing and
// queue jobs within 1.3× of their single statements (1.10×, 1.11× at
// 500 000), finished OAuth 2.0 sessions too (1.10×), and blocked browser
// sessions from 2.2–2.5× down to 1.6–1.9× the clean table, with batches of
// about 100 ms.
const defaultTargetBatchDuration = 100 * time.Millisecond

// defaultWindowSize makes the finished compat and OAuth 2.0 session jobs
// delete out of windows read ahead, in ID order, unless told otherwise: in
// BENCHMARKS.md it is what keeps their rows per second flat from 100 000 to
// 5 000 000 candidates (1.02×, against 1.77× without). A window holds 16
// bytes per candidate (400 KB).
const defaultWindowSize = 25000

// runConfig is what `janitor run` was asked to do.
type runConfig struct {
	jobs  []cleanup.Job
	once  bool
	json  bool
	every time.Duration
	clock storage.Clock
	opts  cleanup.Options
}

func parseRun(args []string, stderr io.Writer) (*runConfig, *string, error) {
	fs := newFlagSet("run", stderr)
	dbURL := databaseFlag(fs)
	var names stringList
	retention := retentionFlag{}
	var now timeFlag
	fs.Var(&names, "job", "run only this job (repeatable; default: all, see 'janitor jobs')")
	once := fs.Bool("once", false, "run the selected jobs once, in dependency order, and exit")
	dryRun := fs.Bool("dry-run", false, "count what would be affected, change nothing")
	fs.Var(&now, "now", "fix the clock at this RFC 3339 time (what-if runs, tests)")
	batchSize := fs.Int("batch-size", cleanup.DefaultBatchSize, "most rows one batch examines, or the first batch's with --target-batch-duration (1..100000)")
	fs.Var(retention, "retention", "override a job's retention: NAME=DURATION, e.g. cleanup-finished-compat-sessions=7d (repeatable)")
	maxDuration := fs.Duration("max-duration", 0, "stop each job cleanly between batches after this long (0: no limit)")
	target := fs.Duration("target-batch-duration", defaultTargetBatchDuration, "adapt the batch size, starting at --batch-size, so that a batch takes about this long (0: fixed --batch-size)")
	window := fs.Int("window-size", defaultWindowSize, "finished compat and OAuth 2.0 sessions: read this many candidates ahead and delete them in ID order (0: one statement per batch)")
	pause := fs.Duration("pause", 0, "wait this long between batches")
	asJSON := fs.Bool("json", false, "print one JSON object per job report")
	every := fs.Duration("every", 0, "without --once: run every selected job at this interval instead of on its cadence")
	ttl := fs.Duration("inactive-session-ttl", 0, "turn expire-inactive-sessions on: finish sessions inactive for this long (10m..2160h; default: off)")
	masConfigPath := fs.String("mas-config", "", "read experimental.inactive_session_expiration from this MAS configuration file (--inactive-session-ttl wins)")
	keepPolicy := fs.Int("keep-policy-data", cleanup.DefaultKeepPolicyData, "prune-stale-policy-data keeps this many of the newest policy data versions (at least 1)")
	if err := fs.Parse(args); err != nil {
		return nil, nil, errFlagsReported // the flag package printed it
	}
	if fs.NArg() > 0 {
		return nil, nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if *keepPolicy < 1 {
		return nil, nil, fmt.Errorf("--keep-policy-data %d: at least 1 (the newest version is the policy in force)", *keepPolicy)
	}
	var inactive cleanup.InactiveSessions
	if *masConfigPath != "" {
		masTTL, kinds, ok, err := readMASConfig(*masConfigPath)
		if err != nil {
			return nil, nil, fmt.Errorf("--mas-config: %w", err)
		}
		if ok && *ttl == 0 {
			*ttl = masTTL
		}
		inactive = kinds
	}
	if *ttl != 0 {
		const name = "expire-inactive-sessions"
		if _, set := retention[name]; set {
			return nil, nil, errors.New("give the TTL of expire-inactive-sessions once: --inactive-session-ttl or --retention, not both")
		}
		retention[name] = *ttl
	}
	jobs, err := cleanup.Select(names...)
	if err != nil {
		return nil, nil, err
	}
	opts := cleanup.Options{BatchSize: *batchSize, Retention: retention, DryRun: *dryRun, MaxDuration: *maxDuration,
		Pause: *pause, TargetBatchDuration: *target, WindowSize: *window, InactiveSessions: inactive, KeepPolicyData: *keepPolicy}
	jobs, err = turnedOn(jobs, len(names) > 0, opts)
	if err != nil {
		return nil, nil, err
	}
	if *batchSize < 1 || *batchSize > cleanup.MaxBatchSize {
		return nil, nil, fmt.Errorf("--batch-size %d out of range 1..%d", *batchSize, cleanup.MaxBatchSize)
	}
	if *dryRun && !*once {
		return nil, nil, errors.New("--dry-run needs --once")
	}
	if *every < 0 || (*every > 0 && *once) {
		return nil, nil, errors.New("--every needs a positive interval, and no --once")
	}
	cfg := &runConfig{jobs: jobs, once: *once, json: *asJSON, every: *every, clock: storage.SystemClock{}, opts: opts}
	if now.set {
		cfg.clock = storage.NewTestClock(now.t)
	}
	if err := cleanup.Validate(cfg.clock, cfg.opts); err != nil {
		return nil, nil, err
	}
	return cfg, dbURL, nil
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

func runRun(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer) int {
	cfg, dbURL, err := parseRun(args, stderr)
	if err != nil {
		if !errors.Is(err, errFlagsReported) {
			fmt.Fprintln(stderr, "janitor run:", err)
		}
		return exitUsage
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	db, err := openDatabase(ctx, *dbURL, env)
	if err != nil {
		fmt.Fprintln(stderr, "janitor run:", err)
		return exitFailure
	}
	defer db.Close()

	findings, err := schema.Verify(ctx, db)
	if err != nil {
		fmt.Fprintln(stderr, "janitor run:", err)
		return exitFailure
	}
	if unsafe := unsafeFor(cfg.jobs, findings); len(unsafe) > 0 {
		fmt.Fprintln(stderr, "janitor run: the database is not safe for the selected jobs:")
		for _, f := range unsafe {
			fmt.Fprintln(stderr, "-", f)
		}
		fmt.Fprintln(stderr, "Run 'janitor migrate' (or MAS's own migrations) first.")
		return exitUsage
	}

	store := postgres.New(sqlx.NewDb(db, "postgres"))
	cfg.opts.OnBatch = progress(log, stderr)
	if cfg.once {
		return runOnce(ctx, cfg, store, log, stdout, stderr)
	}
	return runScheduled(ctx, cfg, store, log, stdout)
}

// unsafeFor keeps the findings about tables the jobs touch.
func unsafeFor(jobs []cleanup.Job, findings []schema.Finding) []schema.Finding {
	touched := map[string]bool{}
	for _, j := range jobs {
		for _, t := range j.Tables {
			touched[t] = true
		}
	}
	var out []schema.Finding
	for _, f := range findings {
		if touched[f.Table] || (f.Kind == "type" && touched["queue_jobs"]) {
			out = append(out, f)
		}
	}
	return out
}

func runOnce(ctx context.Context, cfg *runConfig, store storage.Store, log *slog.Logger, stdout, stderr io.Writer) int {
	cfg.opts.OnJob = func(r cleanup.Report) {
		printReport(stdout, r, cfg.json)
		logReport(log, r)
	}
	_, err := cleanup.RunJobs(ctx, cfg.jobs, store, cfg.clock, cfg.opts)
	if err != nil {
		fmt.Fprintln(stderr, "janitor run:", err)
		return exitFailure
	}
	return exitOK
}

// jsonReport is the --json form of a report.
type jsonReport struct {
	Job        string  `json:"job"`
	Affected   int     `json:"affected"`
	Scanned    int     `json:"scanned"`
	Batches    int     `json:"batches"`
	DurationMS int64   `json:"duration_ms"`
	Stopped    *string `json:"stopped"`
	DryRun     bool    `json:"dry_run"`
	Horizon    string  `json:"horizon"`
}

func printReport(w io.Writer, r cleanup.Report, asJSON bool) {
	if asJSON {
		jr := jsonReport{Job: r.Job, Affected: r.Affected, Scanned: r.Scanned, Batches: r.Batches,
			DurationMS: r.Duration.Milliseconds(), DryRun: r.DryRun, Horizon: r.Horizon.UTC().Format(time.RFC3339Nano)}
		if r.Stopped != "" {
			s := string(r.Stopped)
			jr.Stopped = &s
		}
		b, _ := json.Marshal(jr)
		fmt.Fprintln(w, string(b))
		return
	}
	verb := "affected"
	if r.DryRun {
		verb = "would affect"
	}
	line := fmt.Sprintf("%-40s %s %d row(s) in %d batch(es), %s", r.Job, verb, r.Affected, r.Batches, r.Duration.Round(time.Millisecond))
	if r.Stopped != "" {
		line += " (stopped: " + string(r.Stopped) + ")"
	}
	fmt.Fprintln(w, line)
}

// logReport logs a job's end.
func logReport(log *slog.Logger, r cleanup.Report) {
	attrs := []any{"job", r.Job, "affected", r.Affected, "scanned", r.Scanned, "batches", r.Batches,
		"duration", r.Duration.Round(time.Millisecond), "dry_run", r.DryRun}
	if r.Stopped != "" {
		attrs = append(attrs, "stopped", string(r.Stopped))
	}
	log.Info("job done", attrs...)
}

// progress logs every batch, and on a terminal also redraws a status line.
func progress(log *slog.Logger, stderr io.Writer) func(cleanup.BatchInfo) {
	tty := isTerminal(stderr)
	var mu sync.Mutex
	return func(b cleanup.BatchInfo) {
		mu.Lock()
		defer mu.Unlock()
		if tty {
			fmt.Fprintf(stderr, "\r\033[K%s: batch %d, %d row(s)", b.Job, b.Number, b.Affected)
			return
		}
		log.Debug("batch", "job", b.Job, "batch", b.Number, "affected", b.Affected, "scanned", b.Scanned, "duration", b.Duration)
	}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// runScheduled runs each job on its cadence until ctx ends (SIGINT/SIGTERM),
// then lets the batches in flight finish.
func runScheduled(ctx context.Context, cfg *runConfig, store storage.Store, log *slog.Logger, stdout io.Writer) int {
	stop := make(chan struct{})
	cfg.opts.Stop = stop
	// The jobs run on a context that the signal does not cancel: a signal
	// closes stop instead, and each job ends after its batch in flight.
	jobCtx := context.WithoutCancel(ctx)
	// Cadences have five fields, or six with seconds first (MAS runs
	// expire-inactive-sessions at second 30).
	parser := cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)
	c := cron.New(cron.WithParser(parser), cron.WithChain(cron.SkipIfStillRunning(cron.DiscardLogger)))
	var outMu sync.Mutex
	for _, j := range cfg.jobs {
		spec := j.Cadence
		if cfg.every > 0 {
			spec = "@every " + cfg.every.String()
		}
		if _, err := c.AddFunc(spec, func() {
			r, err := cleanup.Run(jobCtx, j, store, cfg.clock, cfg.opts)
			outMu.Lock()
			printReport(stdout, r, cfg.json)
			outMu.Unlock()
			logReport(log, r)
			if err != nil {
				log.Error("job failed", "job", j.Name, "err", err)
			}
		}); err != nil {
			log.Error("bad cadence", "job", j.Name, "cadence", j.Cadence, "err", err)
			return exitFailure
		}
	}
	log.Info("janitor running", "jobs", len(cfg.jobs), "names", strings.Join(jobNames(cfg.jobs), ","))
	c.Start()
	<-ctx.Done()
	log.Info("stopping: finishing the batches in flight")
	close(stop)
	<-c.Stop().Done()
	return exitOK
}

func jobNames(jobs []cleanup.Job) []string {
	out := make([]string, len(jobs))
	for i, j := range jobs {
		out[i] = j.Name
	}
	return out
}
