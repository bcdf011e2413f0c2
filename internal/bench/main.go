// Command bench measures the cleanup jobs on PostgreSQL against what
// PostgreSQL can do in one statement (issue 7; the figures are in
// BENCHMARKS.md):
//
//	go run ./internal/bench [--database-url URL] [--sizes default|full|SCENARIO=N,...] [--scenario NAME,...]
//
// Without --database-url it starts a throwaway cluster from the installed
// PostgreSQL binaries (as the postgres user when run as root) in a temporary
// directory, on a private port, with PostgreSQL's default settings except
// durability (pgcluster.Durability) and --pg-setting, and removes it at exit, also
// after an error or SIGINT. With --database-url the role must be able to
// create databases (a superuser for the fastest loading and --auto-explain).
//
// Each dataset is generated once, in SQL (generate_series), in a template
// database that is then vacuumed and analyzed; each variant runs on its own
// copy of it (CREATE DATABASE ... TEMPLATE), which is checked afterwards:
// exactly the expected rows affected, none left. The results are printed as
// Markdown tables, then the goals, met or not.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	_ "github.com/lib/pq"

	"github.com/masstore/masstore/cleanup"
)

// sizes are the scenarios' sizes.
type sizes struct {
	compat      int // finished compat sessions to delete (of twice as many)
	userBlocked int // finished browser sessions, 9 in 10 blocked
	flatSmall   int
	flatLarge   int
	ip          int // stale IPs to clear (of twice as many), and old queue jobs
	syn2mas     int // generated Synapse users to migrate
	jobs        int // candidates of each job of the jobs scenario (of twice as many rows)
	live        int // finished compat sessions purged beside the live workload (of twice as many)
}

var (
	// defaultSizes finish in under 5 minutes on the 2-core machine.
	defaultSizes = sizes{compat: 100000, userBlocked: 100000, flatSmall: 20000, flatLarge: 200000, ip: 100000, syn2mas: 100000, jobs: 50000, live: 500000}
	// fullSizes are the reference sizes.
	fullSizes = sizes{compat: 500000, userBlocked: 1000000, flatSmall: 100000, flatLarge: 5000000, ip: 500000, syn2mas: 1000000, jobs: 500000, live: 5000000}
)

// config is what the command line asked for.
type config struct {
	databaseURL       string
	sizes             sizes
	scenarios         []string
	target            time.Duration
	window            int
	compatTargets     []time.Duration
	janitorBatchSizes []int
	pgSettings        []string
	autoExplain       time.Duration
	serverLog         string
	keep              bool
	repeat            int
	proposals         bool
	liveRate          int
	livePauses        []time.Duration
	out               io.Writer
}

type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error {
	*l = append(*l, v)
	return nil
}

func parseConfig(args []string, stdout, stderr io.Writer) (config, error) {
	cfg := config{out: stdout}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.databaseURL, "database-url", "", "a server to run on, as a role that can create databases (default: a throwaway cluster)")
	sizeSpec := fs.String("sizes", "default", "default, full (the issue's reference sizes), and/or overrides: compat=N (also oauth2),user-blocked=N,flat=SMALL:LARGE,ip=N,syn2mas=USERS,jobs=N,live=N")
	scenarios := fs.String("scenario", strings.Join(scenarioNames, ","), "the scenarios to run, comma-separated")
	fs.DurationVar(&cfg.target, "target", 100*time.Millisecond, "TargetBatchDuration of the adaptive masstore variant of every scenario")
	fs.IntVar(&cfg.window, "window", 25000, "WindowSize of the windowed masstore variant of the finished compat and OAuth 2.0 session jobs (the janitor's default; 0: no such variant)")
	compatTargets := fs.String("compat-targets", "50ms,250ms", "more adaptive targets tried in the compat scenario (comma-separated, may be empty)")
	janitorSizes := fs.String("janitor-batch-sizes", "1000", "the janitor's --batch-size values in the memory scenario (comma-separated)")
	fs.IntVar(&cfg.liveRate, "live-rate", 500, "operations a second the live scenario's workload offers")
	livePauses := fs.String("live-pauses", "", "pauses between the janitor's batches also tried in the live scenario (comma-separated, may be empty)")
	var settings listFlag
	fs.Var(&settings, "pg-setting", "an extra NAME=VALUE setting of the throwaway cluster, e.g. fsync=on (repeatable)")
	fs.DurationVar(&cfg.autoExplain, "auto-explain", 0, "log the plan (EXPLAIN ANALYZE, BUFFERS) of every statement slower than this (diagnostic: slows every run)")
	fs.StringVar(&cfg.serverLog, "server-log", "", "copy the throwaway cluster's log (with the --auto-explain plans) to this file at exit")
	fs.IntVar(&cfg.repeat, "repeat", 1, "run each variant this many times (each on a fresh copy) and keep the median")
	fs.BoolVar(&cfg.proposals, "proposals", true, "also run the browser-session cleanup without masstore's index (variants *-mas-indexes), and it, IP clearing and queue jobs as they were before (earlier-*)")
	fs.BoolVar(&cfg.keep, "keep", false, "keep the template databases (masstore_bench_tpl_*) for inspection; needs --database-url")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	var err error
	if cfg.sizes, err = parseSizes(*sizeSpec); err != nil {
		return cfg, err
	}
	for _, s := range splitList(*scenarios) {
		if known := slices.Concat(scenarioNames, optionalScenarios); !contains(known, s) {
			return cfg, fmt.Errorf("unknown scenario %q (known: %s)", s, strings.Join(known, ", "))
		}
		cfg.scenarios = append(cfg.scenarios, s)
	}
	if cfg.repeat < 1 {
		return cfg, errors.New("--repeat must be at least 1")
	}
	if cfg.target <= 0 {
		return cfg, errors.New("--target must be positive")
	}
	for _, s := range splitList(*compatTargets) {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			return cfg, fmt.Errorf("--compat-targets: invalid duration %q", s)
		}
		cfg.compatTargets = append(cfg.compatTargets, d)
	}
	if cfg.liveRate < 1 || cfg.liveRate > 100000 {
		return cfg, fmt.Errorf("--live-rate %d out of range 1..100000", cfg.liveRate)
	}
	for _, s := range splitList(*livePauses) {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			return cfg, fmt.Errorf("--live-pauses: invalid duration %q", s)
		}
		cfg.livePauses = append(cfg.livePauses, d)
	}
	for _, s := range splitList(*janitorSizes) {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 100000 {
			return cfg, fmt.Errorf("--janitor-batch-sizes: invalid batch size %q", s)
		}
		cfg.janitorBatchSizes = append(cfg.janitorBatchSizes, n)
	}
	for _, s := range settings {
		if !strings.Contains(s, "=") || strings.ContainsAny(s, " '\"") {
			return cfg, fmt.Errorf("--pg-setting: want NAME=VALUE without spaces or quotes, got %q", s)
		}
	}
	cfg.pgSettings = settings
	if cfg.window < 0 || cfg.window > cleanup.MaxWindowSize {
		return cfg, fmt.Errorf("--window %d out of range 0..%d", cfg.window, cleanup.MaxWindowSize)
	}
	if cfg.keep && cfg.databaseURL == "" {
		return cfg, errors.New("--keep needs --database-url: the throwaway cluster is removed at exit")
	}
	if cfg.databaseURL != "" && (len(settings) > 0 || cfg.serverLog != "") {
		return cfg, errors.New("--pg-setting and --server-log are for the throwaway cluster, not with --database-url")
	}
	return cfg, nil
}

func parseSizes(spec string) (sizes, error) {
	s := defaultSizes
	for _, part := range splitList(spec) {
		name, value, ok := strings.Cut(part, "=")
		switch {
		case !ok && name == "default":
			s = defaultSizes
			continue
		case !ok && name == "full":
			s = fullSizes
			continue
		case !ok:
			return s, fmt.Errorf("--sizes: unknown preset %q (default, full)", part)
		}
		if name == "flat" {
			a, b, ok := strings.Cut(value, ":")
			small, err1 := positive(a)
			large, err2 := positive(b)
			if !ok || err1 != nil || err2 != nil || small >= large {
				return s, fmt.Errorf("--sizes: flat wants SMALL:LARGE, SMALL < LARGE, got %q", value)
			}
			s.flatSmall, s.flatLarge = small, large
			continue
		}
		n, err := positive(value)
		if err != nil {
			return s, fmt.Errorf("--sizes: %s: %w", name, err)
		}
		switch name {
		case "compat":
			s.compat = n
		case "user-blocked":
			if n < 10 {
				return s, errors.New("--sizes: user-blocked wants at least 10")
			}
			s.userBlocked = n
		case "ip":
			s.ip = n
		case "syn2mas":
			s.syn2mas = n
		case "jobs":
			s.jobs = n
		case "live":
			s.live = n
		default:
			return s, fmt.Errorf("--sizes: unknown scenario %q (compat, user-blocked, flat, ip, syn2mas, jobs, live)", name)
		}
	}
	return s, nil
}

func positive(s string) (int, error) {
	n, err := strconv.Atoi(strings.ReplaceAll(s, "_", ""))
	if err != nil || n < 1 {
		return 0, fmt.Errorf("want a positive integer, got %q", s)
	}
	return n, nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func main() {
	// SIGPIPE too (output piped into `head`): without it the process would
	// die at its next write and leave the throwaway cluster running.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGPIPE)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "bench:", err)
		}
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) (err error) {
	cfg, err := parseConfig(args, stdout, stderr)
	if err != nil {
		return err
	}
	var c *cluster
	if cfg.databaseURL != "" {
		c, err = connectCluster(ctx, cfg.databaseURL)
	} else {
		c, err = startCluster(ctx, cfg.pgSettings, stderr)
	}
	if err != nil {
		return err
	}
	defer func() {
		if cfg.serverLog != "" && c.throwaway != nil {
			if data, rerr := os.ReadFile(c.logPath()); rerr == nil {
				_ = os.WriteFile(cfg.serverLog, data, 0o644)
			}
		}
		c.stop()
	}()
	b, err := newBench(ctx, c, cfg, stderr)
	if err != nil {
		return err
	}
	defer b.close()
	if err := printMachine(ctx, stdout, c, cfg); err != nil {
		return err
	}
	start := time.Now()
	var errs []error
	for _, s := range cfg.scenarios {
		if err := b.runScenario(ctx, s); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", s, err))
			if ctx.Err() != nil {
				break
			}
		}
	}
	printGoals(stdout, b.goals)
	fmt.Fprintf(stdout, "\nTotal time: %s; load average at the end %.1f.\n", time.Since(start).Round(time.Second), loadAverage())
	return errors.Join(errs...)
}

// printMachine prints what the figures depend on.
func printMachine(ctx context.Context, w io.Writer, c *cluster, cfg config) error {
	version, err := c.version(ctx)
	if err != nil {
		return err
	}
	settings, err := c.nonDefaultSettings(ctx)
	if err != nil {
		settings = []string{"(unknown: " + err.Error() + ")"}
	}
	fmt.Fprintf(w, "## masstore cleanup benchmark, %s\n\n", time.Now().UTC().Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(w, "- machine: %d CPU(s), %s memory, %s %s/%s\n", runtime.NumCPU(), memTotal(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	fmt.Fprintf(w, "- library: %s\n", revision())
	where := "a throwaway cluster"
	if c.throwaway == nil {
		where = "the server at " + redact(c.adminURL)
	}
	fmt.Fprintf(w, "- PostgreSQL %s, %s; non-default settings: %s\n", version, where, strings.Join(settings, ", "))
	s := cfg.sizes
	fmt.Fprintf(w, "- load average at the start: %.1f (other work on the machine inflates wall times; server CPU times much less)\n", loadAverage())
	fmt.Fprintf(w, "- sizes: compat=%d user-blocked=%d flat=%d:%d ip=%d syn2mas=%d jobs=%d live=%d; adaptive target %s; window %d\n",
		s.compat, s.userBlocked, s.flatSmall, s.flatLarge, s.ip, s.syn2mas, s.jobs, s.live, cfg.target, cfg.window)
	if cfg.autoExplain > 0 {
		fmt.Fprintf(w, "- auto_explain on for statements over %s: timings include its overhead\n", cfg.autoExplain)
	}
	return nil
}

// revision is the commit the program was built from, when the go command
// stamped it into the binary.
func revision() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown revision"
	}
	rev, modified := "", false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if rev == "" {
		// go run does not stamp the build: ask git, if this is a checkout.
		out, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output()
		if err != nil {
			return "revision not stamped in this build"
		}
		rev = strings.TrimSpace(string(out))
		dirty, _ := exec.Command("git", "status", "--porcelain", "--", "storage", "cleanup", "schema").Output()
		modified = len(dirty) > 0
	}
	if modified {
		rev += " with uncommitted changes"
	}
	return "commit " + rev
}

// memTotal reads MemTotal from /proc/meminfo.
func memTotal() string {
	data, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return "unknown"
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			kb, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			if err == nil {
				return fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20))
			}
		}
	}
	return "unknown"
}
