package main

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/masstore/masstore/schema"
)

// dbPrefix starts the name of every database the benchmark creates.
const dbPrefix = "masstore_bench_"

// bench builds templates and runs variants on copies of them.
type bench struct {
	c   *cluster
	cfg config
	log io.Writer
	// copyStrategy is the CREATE DATABASE strategy clause: FILE_COPY from
	// PostgreSQL 15 on (WAL_LOG, the default, writes a large copy through the
	// WAL), empty before.
	copyStrategy string
	templates    map[string]template
	// created lists the databases to drop at the end.
	created []string
	// sections are the printed result tables; goals the ratios checked.
	sections []section
	goals    []goal
}

// template is a built dataset.
type template struct {
	db       string
	expected int // rows the job must affect
	size     string
	built    time.Duration
}

// result is one variant's run.
type result struct {
	dataset string
	variant string
	outcome
	elapsed time.Duration
	// cpu is the server process's CPU time (0 when unknown).
	cpu time.Duration
	// load is the machine's load average during the run.
	load float64
	// runs is how many runs the result is the median of.
	runs int
	// ratio compares with the scenario's baseline (see the section's note).
	ratio float64
	// cpuRatio is ratio computed on server CPU time (0 when unknown).
	cpuRatio float64
	// bound is the bound on ratio (0: none for this row).
	bound float64
}

func (r result) seconds() float64 { return r.elapsed.Seconds() }

func (r result) rate() float64 {
	if r.elapsed <= 0 {
		return 0
	}
	return float64(r.rows) / r.elapsed.Seconds()
}

// section is one scenario's table.
type section struct {
	title string
	note  string
	rows  []result
}

// goal is one of the bounds, checked against a measurement.
type goal struct {
	what     string
	measured string
	bound    string
	met      bool
	// metCPU judges a ratio on server CPU time: "met", "not met", or "-"
	// (not a ratio, or CPU time unknown).
	metCPU string
}

// ratioGoal checks a wall-time ratio and its CPU-time ratio against bound.
func ratioGoal(what string, wall, cpu, bound float64) goal {
	g := goal{what: what, measured: measured(wall, cpu), bound: boundText(bound), met: wall <= bound, metCPU: "-"}
	if cpu > 0 {
		g.metCPU = metWord(cpu <= bound)
	}
	return g
}

// boundText writes a bound on a ratio: "≤ 1.3×".
func boundText(bound float64) string {
	return "≤ " + strconv.FormatFloat(bound, 'f', -1, 64) + "×"
}

// rowGoal is a result's goal and met columns: its bound and whether its
// ratio keeps it, both empty when the row has no bound.
func rowGoal(r result) (goal, met string) {
	if r.bound == 0 {
		return "", ""
	}
	if r.ratio > r.bound {
		return boundText(r.bound), "**no**"
	}
	return boundText(r.bound), "yes"
}

func metWord(met bool) string {
	if met {
		return "met"
	}
	return "**not met**"
}

func newBench(ctx context.Context, c *cluster, cfg config, log io.Writer) (*bench, error) {
	b := &bench{c: c, cfg: cfg, log: log, templates: map[string]template{}}
	var num int
	if err := c.admin.QueryRowContext(ctx, "SELECT current_setting('server_version_num')::int").Scan(&num); err != nil {
		return nil, err
	}
	if num >= 150000 {
		b.copyStrategy = " STRATEGY FILE_COPY"
	}
	return b, nil
}

// close drops every database the benchmark created.
func (b *bench) close() {
	if b.c.admin == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, name := range b.created {
		if b.cfg.keep && strings.HasPrefix(name, dbPrefix+"tpl_") {
			continue
		}
		_, _ = b.c.admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+quote(name)+" WITH (FORCE)")
	}
	b.created = nil
}

func (b *bench) logf(format string, args ...any) {
	fmt.Fprintf(b.log, "%s  "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

func (b *bench) createDatabase(ctx context.Context, name, from string) error {
	if _, err := b.c.admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+quote(name)+" WITH (FORCE)"); err != nil {
		return err
	}
	q := "CREATE DATABASE " + quote(name)
	if from != "" {
		q += " TEMPLATE " + quote(from) + b.copyStrategy
	}
	if _, err := b.c.admin.ExecContext(ctx, q); err != nil {
		return fmt.Errorf("create database %s: %w", name, err)
	}
	b.created = append(b.created, name)
	return nil
}

func (b *bench) dropDatabase(ctx context.Context, name string) error {
	_, err := b.c.admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+quote(name)+" WITH (FORCE)")
	return err
}

func (b *bench) open(ctx context.Context, name string) (*sqlx.DB, error) {
	db, err := sqlx.Open("postgres", b.c.urlFor(name))
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(4)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to %s: %w", name, err)
	}
	return db, nil
}

// template returns ds's template database, building it the first time:
// migrate, generate the rows, VACUUM ANALYZE, count what the job must affect.
func (b *bench) template(ctx context.Context, ds dataset) (template, error) {
	if t, ok := b.templates[ds.name]; ok {
		return t, nil
	}
	t := template{db: dbPrefix + "tpl_" + ds.name}
	start := time.Now()
	if err := b.createDatabase(ctx, t.db, ""); err != nil {
		return t, err
	}
	db, err := b.open(ctx, t.db)
	if err != nil {
		return t, err
	}
	defer db.Close()
	if err := schema.Migrate(ctx, db.DB); err != nil {
		return t, fmt.Errorf("migrate %s: %w", t.db, err)
	}
	conn, err := db.Connx(ctx)
	if err != nil {
		return t, err
	}
	defer conn.Close()
	// The rows are consistent by construction: skip the foreign-key
	// triggers while loading (needs superuser; without it, they just run).
	_, _ = conn.ExecContext(ctx, "SET session_replication_role = replica")
	_, _ = conn.ExecContext(ctx, "SET maintenance_work_mem = '256MB'")
	for _, q := range ds.statements {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return t, fmt.Errorf("build %s: %w\n%s", ds.name, err, q)
		}
	}
	if _, err := conn.ExecContext(ctx, "VACUUM (ANALYZE)"); err != nil {
		return t, fmt.Errorf("vacuum %s: %w", ds.name, err)
	}
	if err := conn.QueryRowxContext(ctx, ds.pending, ds.arg).Scan(&t.expected); err != nil {
		return t, fmt.Errorf("count %s: %w", ds.name, err)
	}
	if err := conn.QueryRowxContext(ctx, "SELECT pg_size_pretty(pg_database_size(current_database()))").Scan(&t.size); err != nil {
		return t, err
	}
	t.built = time.Since(start)
	b.templates[ds.name] = t
	b.logf("built %s: %d rows to affect, %s, in %s", t.db, t.expected, t.size, t.built.Round(time.Millisecond))
	return t, nil
}

var unsafeChars = regexp.MustCompile(`[^a-z0-9_]+`)

// measure runs v cfg.repeat times, each on a fresh copy of ds's template,
// and keeps the median run.
func (b *bench) measure(ctx context.Context, ds dataset, v variant) (result, error) {
	var runs []result
	for i := 0; i < max(1, b.cfg.repeat); i++ {
		r, err := b.measureOnce(ctx, ds, v)
		if err != nil {
			return r, err
		}
		runs = append(runs, r)
	}
	// A run beside the live workload is ranked by the workload's p99, the
	// figure its goals bound; any other by wall time.
	slices.SortFunc(runs, func(a, b result) int {
		if a.live != nil && b.live != nil {
			return cmp.Compare(a.live.latency.p99, b.live.latency.p99)
		}
		return cmp.Compare(a.elapsed, b.elapsed)
	})
	r := runs[len(runs)/2]
	r.runs = len(runs)
	return r, nil
}

// measureOnce runs v on a fresh copy of ds's template and checks that it
// affected exactly the rows it should, leaving none behind.
func (b *bench) measureOnce(ctx context.Context, ds dataset, v variant) (result, error) {
	t, err := b.template(ctx, ds)
	if err != nil {
		return result{}, err
	}
	name := dbPrefix + "run_" + unsafeChars.ReplaceAllString(ds.name+"_"+v.name, "_")
	if err := b.createDatabase(ctx, name, t.db); err != nil {
		return result{}, err
	}
	defer b.dropDatabase(context.WithoutCancel(ctx), name)
	if b.cfg.autoExplain > 0 {
		for _, s := range []string{
			"session_preload_libraries = 'auto_explain'",
			fmt.Sprintf("auto_explain.log_min_duration = '%dms'", b.cfg.autoExplain.Milliseconds()),
			"auto_explain.log_analyze = on", "auto_explain.log_buffers = on", "auto_explain.log_nested_statements = on",
		} {
			if _, err := b.c.admin.ExecContext(ctx, "ALTER DATABASE "+quote(name)+" SET "+s); err != nil {
				return result{}, fmt.Errorf("auto_explain: %w", err)
			}
		}
	}
	// Start every variant with no dirty pages left by the copy.
	if _, err := b.c.admin.ExecContext(ctx, "CHECKPOINT"); err != nil {
		b.logf("checkpoint: %v (going on)", err)
	}
	db, err := b.open(ctx, name)
	if err != nil {
		return result{}, err
	}
	defer db.Close()
	// One connection, so that one server process does all the work and its
	// CPU time can be read (on a local server: the throwaway cluster).
	db.SetMaxOpenConns(1)
	if v.setup != nil {
		if err := v.setup(ctx, db); err != nil {
			return result{}, fmt.Errorf("%s on %s: setup: %w", v.name, ds.name, err)
		}
	}
	cpu := b.backendCPU(ctx, db)
	load := loadAverage()
	b.logf("run %-28s on %s (load %.1f) ...", v.name, ds.name, load)
	start := time.Now()
	out, err := v.run(ctx, db, b.c.urlFor(name))
	elapsed := time.Since(start)
	if err != nil {
		return result{}, fmt.Errorf("%s on %s: %w", v.name, ds.name, err)
	}
	r := result{dataset: ds.name, variant: v.name, outcome: out, elapsed: elapsed, cpu: cpu(), load: (load + loadAverage()) / 2}
	var left int
	if err := db.QueryRowxContext(ctx, ds.pending, ds.arg).Scan(&left); err != nil {
		return r, err
	}
	if left != 0 || out.rows != t.expected {
		return r, fmt.Errorf("%s on %s affected %d rows and left %d, want %d and 0", v.name, ds.name, out.rows, left, t.expected)
	}
	b.logf("    %s: %d rows in %.2fs (%.0f rows/s, server CPU %s), %d batch(es), p99 %s ms", v.name, r.rows, r.seconds(), r.rate(),
		formatCPU(r.cpu), max(len(r.batches), r.batchCount), formatMS(percentileMS(r.batches, 99)))
	return r, nil
}

// backendCPU returns a function that reports the CPU time db's one server
// process used since backendCPU was called; it reports 0 when that cannot
// be known (a remote server, the process changed, /proc unreadable).
func (b *bench) backendCPU(ctx context.Context, db *sqlx.DB) func() time.Duration {
	unknown := func() time.Duration { return 0 }
	if !b.c.local() {
		return unknown
	}
	var pid int
	if err := db.QueryRowxContext(ctx, "SELECT pg_backend_pid()").Scan(&pid); err != nil {
		return unknown
	}
	before, err := processCPU(pid)
	if err != nil {
		return unknown
	}
	return func() time.Duration {
		var now int
		if err := db.QueryRowxContext(ctx, "SELECT pg_backend_pid()").Scan(&now); err != nil || now != pid {
			return 0
		}
		after, err := processCPU(pid)
		if err != nil {
			return 0
		}
		return after - before
	}
}

// processCPU reads a process's user+system CPU time from /proc.
func processCPU(pid int) (time.Duration, error) {
	// A server in a container has its own process IDs: make sure this one
	// is a PostgreSQL backend.
	cmd, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || !bytes.HasPrefix(cmd, []byte("postgres")) {
		return 0, fmt.Errorf("process %d is not a local PostgreSQL backend", pid)
	}
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// Fields after the command name (which may hold spaces) start at the
	// state, field 3; utime and stime are fields 14 and 15, in clock ticks
	// (USER_HZ, 100 on Linux).
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0, fmt.Errorf("unexpected /proc/%d/stat", pid)
	}
	fields := strings.Fields(string(data[i+1:]))
	if len(fields) < 13 {
		return 0, fmt.Errorf("unexpected /proc/%d/stat", pid)
	}
	utime, err1 := strconv.ParseInt(fields[11], 10, 64)
	stime, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("unexpected /proc/%d/stat", pid)
	}
	return time.Duration(utime+stime) * (time.Second / 100), nil
}

// loadAverage is the machine's 1-minute load average (0 when unknown).
func loadAverage() float64 {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f, _ := strconv.ParseFloat(strings.Fields(string(data))[0], 64)
	return f
}

// measureAll runs each variant on ds, in order.
func (b *bench) measureAll(ctx context.Context, ds dataset, vs []variant) ([]result, error) {
	var rs []result
	for _, v := range vs {
		r, err := b.measure(ctx, ds, v)
		if err != nil {
			return rs, err
		}
		rs = append(rs, r)
	}
	return rs, nil
}

// dropTemplate drops a template no later scenario needs, to spare the disk.
func (b *bench) dropTemplate(ctx context.Context, ds dataset) {
	t, ok := b.templates[ds.name]
	if !ok || b.cfg.keep {
		return
	}
	if err := b.dropDatabase(ctx, t.db); err == nil {
		delete(b.templates, ds.name)
	}
}
