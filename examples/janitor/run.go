package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/masstore/masstore/cleanup"
	"github.com/masstore/masstore/schema"
	"github.com/masstore/masstore/storage/postgres"
)

// errFlagsReported means the flag package already told the user what was wrong.
var errFlagsReported = errors.New("bad flags")

// defaultTargetBatchDuration makes the janitor size its batches by time
// unless told otherwise: in BENCHMARKS.md it is what brings queue jobs
// within 1.3× of their single statement (1.16× at 495 000, against 1.36×
// with fixed batches of 1000), IP clearing too (1.10× against 1.35×), and
// blocked browser sessions to 1.20× the clean table (1.35× fixed), with
// batches of about 100 ms.
const defaultTargetBatchDuration = 100 * time.Millisecond

// defaultWindowSize makes the finished compat and OAuth 2.0 session jobs
// delete out of windows read ahead, in ID order, unless told otherwise: in
// BENCHMARKS.md it is what keeps their rows per second flat from 100 000 to
// 2 000 000 candidates (1.09×, against 1.36× without). A window holds 16
// bytes per candidate (400 KB).
const defaultWindowSize = 25000

// runConfig is what `janitor run` was asked to do.
type runConfig struct {
	selection
	once             bool
	json             bool
	every            time.Duration
	metricsAddr      string
	parallelReplicas bool
}

func parseRun(args []string, stderr io.Writer) (*runConfig, *string, error) {
	fs := newFlagSet("run", stderr)
	dbURL := databaseFlag(fs)
	sel := addSelectionFlags(fs)
	once := fs.Bool("once", false, "run the selected jobs once, in dependency order, and exit")
	dryRun := fs.Bool("dry-run", false, "count what would be affected, change nothing")
	batchSize := fs.Int("batch-size", cleanup.DefaultBatchSize, "most rows one batch examines, or the first batch's with --target-batch-duration (1..100000)")
	maxDuration := fs.Duration("max-duration", 0, "stop each job cleanly between batches after this long (0: no limit)")
	target := fs.Duration("target-batch-duration", defaultTargetBatchDuration, "adapt the batch size, starting at --batch-size, so that a batch takes about this long (0: fixed --batch-size)")
	window := fs.Int("window-size", defaultWindowSize, "finished compat and OAuth 2.0 sessions: read this many candidates ahead and delete them in ID order (0: one statement per batch)")
	pause := fs.Duration("pause", 0, "wait this long between batches")
	asJSON := fs.Bool("json", false, "print one JSON object per job report")
	every := fs.Duration("every", 0, "without --once: run every selected job at this interval instead of on its cadence")
	metricsAddr := fs.String("metrics-addr", "", "serve /metrics, /healthz and /readyz on this address, e.g. :9187 (default: none)")
	parallel := fs.Bool("parallel-replicas", false, "without --once: run every job on every replica, sharing its rows through SKIP LOCKED and range claims, instead of one replica per job (an advisory lock)")
	if err := fs.Parse(args); err != nil {
		return nil, nil, errFlagsReported // the flag package printed it
	}
	if fs.NArg() > 0 {
		return nil, nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	s, err := sel.resolve(cleanup.Options{BatchSize: *batchSize, DryRun: *dryRun, MaxDuration: *maxDuration,
		Pause: *pause, TargetBatchDuration: *target, WindowSize: *window})
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
	if *parallel && *once {
		return nil, nil, errors.New("--parallel-replicas is for the scheduled mode: drop --once")
	}
	cfg := &runConfig{selection: s, once: *once, json: *asJSON, every: *every, metricsAddr: *metricsAddr, parallelReplicas: *parallel}
	if err := cleanup.Validate(cfg.clock, cfg.opts); err != nil {
		return nil, nil, err
	}
	return cfg, dbURL, nil
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
	if !cfg.opts.DryRun {
		if err := ensureRunLog(ctx, db); err != nil {
			log.Warn("no run log: backlog will show no rate or ETA", "err", err)
		}
	}

	m := newMetrics()
	m.register(cfg.jobs)
	if cfg.metricsAddr != "" {
		srv, err := serveOps(cfg.metricsAddr, m, readiness(db, cfg.jobs, *dbURL), log)
		if err != nil {
			fmt.Fprintln(stderr, "janitor run:", err)
			return exitFailure
		}
		defer srv.Close()
	}
	r := &runner{cfg: cfg, db: db, store: postgres.New(sqlx.NewDb(db, "postgres")), log: log, stdout: stdout,
		track: newTracker(m, log, stderr, cfg.once && !cfg.json), metrics: m}
	if cfg.once {
		return r.once(ctx, stderr)
	}
	return r.scheduled(ctx)
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

// runner runs the selected jobs and tells about them: reports on stdout,
// logs, metrics, progress and the run log.
type runner struct {
	cfg     *runConfig
	db      *sql.DB
	store   *postgres.Store
	log     *slog.Logger
	stdout  io.Writer
	track   *tracker
	metrics *metrics
	outMu   sync.Mutex
}

// options returns the run's options with the hooks that tell about a run
// for the scheduled tick (zero: a --once run). ctx is for the hooks' own
// queries: the backlog and the run log.
func (r *runner) options(ctx context.Context, tick time.Time) cleanup.Options {
	opts := r.cfg.opts
	opts.OnJobStart = func(j cleanup.Job, horizon time.Time) {
		var measured *postgres.Backlog
		b, err := r.store.Backlog(ctx, j.Name, horizon, backlogOptions(opts))
		if err != nil {
			r.log.Warn("backlog not measured", "job", j.Name, "err", err)
		} else {
			measured = &b
		}
		r.track.start(j, opts.DryRun, measured)
	}
	opts.OnBatch = func(b cleanup.BatchInfo) {
		r.log.Debug("batch", "job", b.Job, "batch", b.Number, "affected", b.Affected, "scanned", b.Scanned, "duration", b.Duration)
		r.track.batch(b)
	}
	opts.OnJob = func(rep cleanup.Report) {
		r.track.done(rep)
		if err := recordRun(ctx, r.db, rep, time.Now(), tick); err != nil {
			r.log.Warn("run not recorded", "job", rep.Job, "err", err)
		}
		r.outMu.Lock()
		printReport(r.stdout, rep, r.cfg.json)
		r.outMu.Unlock()
		logReport(r.log, rep, tick)
	}
	return opts
}

// once runs the selected jobs once, in order.
func (r *runner) once(ctx context.Context, stderr io.Writer) int {
	if _, err := cleanup.RunJobs(ctx, r.cfg.jobs, r.store, r.cfg.clock, r.options(ctx, time.Time{})); err != nil {
		fmt.Fprintln(stderr, "janitor run:", err)
		return exitFailure
	}
	return exitOK
}

// backlogOptions are the Backlog options that count what a run with opts
// affects.
func backlogOptions(opts cleanup.Options) postgres.BacklogOptions {
	return postgres.BacklogOptions{
		KeepPolicyData: opts.KeepPolicyData,
		SkipCompat:     opts.InactiveSessions.SkipCompat,
		SkipOAuth2:     opts.InactiveSessions.SkipOAuth2,
		SkipBrowser:    opts.InactiveSessions.SkipBrowser,
	}
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

// logReport logs a job's end, with the tick it ran for in scheduled mode.
func logReport(log *slog.Logger, r cleanup.Report, tick time.Time) {
	attrs := []any{"job", r.Job, "affected", r.Affected, "scanned", r.Scanned, "batches", r.Batches,
		"duration", r.Duration.Round(time.Millisecond), "dry_run", r.DryRun}
	if !tick.IsZero() {
		attrs = append(attrs, "tick", tick.UTC().Format(time.RFC3339))
	}
	if r.Stopped != "" {
		attrs = append(attrs, "stopped", string(r.Stopped))
	}
	log.Info("job done", attrs...)
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func jobNames(jobs []cleanup.Job) []string {
	out := make([]string, len(jobs))
	for i, j := range jobs {
		out[i] = j.Name
	}
	return out
}
