package main

import (
	"context"
	"io"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/masstore/masstore/internal/pgcluster"
)

func TestParseSizes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		spec string
		want sizes
		err  bool
	}{
		{spec: "default", want: defaultSizes},
		{spec: "", want: defaultSizes},
		{spec: "full", want: fullSizes},
		{spec: "full,flat=100000:500000", want: sizes{compat: 500000, userBlocked: 1000000, flatSmall: 100000, flatLarge: 500000, ip: 500000, syn2mas: 1000000, jobs: 500000, live: 5000000}},
		{spec: "compat=2_000,ip=10", want: sizes{compat: 2000, userBlocked: 100000, flatSmall: 20000, flatLarge: 200000, ip: 10, syn2mas: 100000, jobs: 50000, live: 500000}},
		{spec: "syn2mas=500", want: sizes{compat: 100000, userBlocked: 100000, flatSmall: 20000, flatLarge: 200000, ip: 100000, syn2mas: 500, jobs: 50000, live: 500000}},
		{spec: "user-blocked=9", err: true},
		{spec: "flat=500:100", err: true},
		{spec: "flat=100", err: true},
		{spec: "compat=0", err: true},
		{spec: "huge", err: true},
		{spec: "disk=5", err: true},
	} {
		t.Run(tc.spec, func(t *testing.T) {
			t.Parallel()
			got, err := parseSizes(tc.spec)
			if tc.err {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestParseConfigRefusesWhatAServerURLCannotDo(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"--keep"},
		{"--database-url", "postgres://localhost/x", "--pg-setting", "fsync=on"},
		{"--pg-setting", "work_mem = 1GB"},
		{"--scenario", "compat,nope"},
		{"--repeat", "0"},
		{"--janitor-batch-sizes", "0"},
		{"--window", "-1"},
	} {
		_, err := parseConfig(args, io.Discard, io.Discard)
		require.Error(t, err, "%q", args)
	}
	cfg, err := parseConfig([]string{"--database-url", "postgres://localhost/x", "--keep", "--compat-targets", ""}, io.Discard, io.Discard)
	require.NoError(t, err)
	require.Empty(t, cfg.compatTargets)
	require.Equal(t, scenarioNames, cfg.scenarios)
}

func TestPercentileIsNearestRank(t *testing.T) {
	t.Parallel()
	var ds []time.Duration
	for i := 100; i >= 1; i-- {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	require.Equal(t, 50.0, percentileMS(ds, 50))
	require.Equal(t, 99.0, percentileMS(ds, 99))
	require.Equal(t, 100.0, percentileMS(ds, 100))
	require.Equal(t, 7.0, percentileMS([]time.Duration{7 * time.Millisecond}, 99))
	require.True(t, math.IsNaN(percentileMS(nil, 50)))
}

func TestRatios(t *testing.T) {
	t.Parallel()
	base := result{outcome: outcome{rows: 1000}, elapsed: 2 * time.Second, cpu: time.Second}
	slow := result{outcome: outcome{rows: 1000}, elapsed: 3 * time.Second, cpu: 1500 * time.Millisecond}
	wall, cpu := timeRatio(slow, base)
	require.InDelta(t, 1.5, wall, 1e-9)
	require.InDelta(t, 1.5, cpu, 1e-9)

	large := result{outcome: outcome{rows: 10000}, elapsed: 40 * time.Second, cpu: 20 * time.Second}
	wall, cpu = rateRatio(base, large)
	require.InDelta(t, 2.0, wall, 1e-9, "500 rows/s vs 250 rows/s")
	require.InDelta(t, 2.0, cpu, 1e-9)

	_, cpu = timeRatio(slow, result{elapsed: time.Second})
	require.Zero(t, cpu, "unknown CPU time gives no CPU ratio")
}

func TestULIDExprPutsTheMillisecondFirst(t *testing.T) {
	t.Parallel()
	require.Contains(t, ulidExpr("c", tagCompatSession, "i"),
		"lpad(to_hex(floor(extract(epoch FROM c) * 1000)::bigint), 12, '0')")
}

// runTiny runs the program with args on a throwaway cluster (or on
// MASSTORE_TEST_DATABASE_URL) and returns its output; it skips in -short
// mode and where PostgreSQL is not installed (CI installs it).
func runTiny(t *testing.T, args ...string) *strings.Builder {
	t.Helper()
	if testing.Short() {
		t.Skip("starts PostgreSQL")
	}
	if u := os.Getenv("MASSTORE_TEST_DATABASE_URL"); u != "" {
		args = append(args, "--database-url", u)
	} else if _, err := pgcluster.FindBinaries(); err != nil {
		t.Skip(err)
	}
	var out strings.Builder
	require.NoError(t, run(context.Background(), args, &out, io.Discard))
	return &out
}

// TestTinyRun runs every scenario but memory and jobs (TestJobs) at tiny sizes on a throwaway
// cluster (or on MASSTORE_TEST_DATABASE_URL): every variant must affect
// exactly the expected rows.
func TestTinyRun(t *testing.T) {
	out := runTiny(t, "--sizes", "compat=300,user-blocked=500,flat=100:300,ip=300,syn2mas=300,live=300",
		"--scenario", "compat,oauth2,user-blocked,flat,flat-in-order,ip,backlog,syn2mas,live", "--compat-targets", "50ms")
	for _, want := range []string{"single-statement-tuned", "common-1000", "masstore-adaptive-50ms", "masstore-adaptive-100ms-window-25000",
		"earlier-1000-mas-indexes", "masstore-1000-mas-indexes", "compat_in_order_300", "oauth2_300", "users_blocked_500", "compat_300", "queue_300", "backlog: `janitor backlog --job cleanup-finished-compat-sessions`, 600 compat sessions (300 due)",
		"syn2mas: 300 generated Synapse users", "| syn2mas migrate | 2667 |", "### Goals",
		"live: an identity server's workload", "| none |", "| common-1000 |", "live: workload p99 beside janitor vs no purge"} {
		require.Contains(t, out.String(), want)
	}
}

func TestWithApplicationName(t *testing.T) {
	t.Parallel()
	require.Equal(t, "postgres://u@h:5/db?application_name=app&sslmode=disable",
		withApplicationName("postgres://u@h:5/db?sslmode=disable", "app"))
	require.Equal(t, "host=/tmp dbname=db application_name=app", withApplicationName("host=/tmp dbname=db", "app"))
}

func TestWorkloadRunKeepsTheWindowsOperations(t *testing.T) {
	t.Parallel()
	t0 := time.Now()
	var r workloadRun
	for i, op := range []workloadOp{opLookup, opLogin, opLookup, opLogout} {
		r.add(opRecord{op: op, due: t0.Add(time.Duration(i) * time.Second), latency: time.Duration(i+1) * time.Millisecond}, nil)
	}
	all, byOp := r.between(t0.Add(time.Second), t0.Add(3*time.Second))
	require.Equal(t, []time.Duration{2 * time.Millisecond, 3 * time.Millisecond}, all, "due at 1 s and 2 s; the end is excluded")
	require.Len(t, byOp[opLookup], 1)
	require.Len(t, byOp[opLogin], 1)
	require.Empty(t, byOp[opLogout])
}

func TestJobsTableSaysWhenRowsAreMedians(t *testing.T) {
	t.Parallel()
	row := func(runs int) []jobRow {
		r := result{outcome: outcome{rows: 10}, elapsed: time.Second, runs: runs}
		return []jobRow{{job: "cleanup-x", single: r, janitor: r}}
	}
	var once, thrice strings.Builder
	printJobs(&once, row(1))
	printJobs(&thrice, row(3))
	require.NotContains(t, once.String(), "median")
	require.Contains(t, thrice.String(), "of its dataset; each row the median of 3 runs.\n")
}
