package main

import (
	"context"
	"io"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/masstore/masstore/cleanup"
	"github.com/masstore/masstore/internal/pgcluster"
	"github.com/masstore/masstore/storage"
)

// uncoveredJobs are the jobs of cleanup.Names the other scenarios do not
// measure: those the jobs scenario must.
func uncoveredJobs(t *testing.T) []string {
	var out []string
	for _, name := range cleanup.Names() {
		if !slices.Contains(coveredJobs, name) {
			out = append(out, name)
		}
	}
	require.Len(t, out, len(cleanup.Names())-len(coveredJobs), "every covered job is a job")
	return out
}

// TestJobSpecsCoverEveryJob: the jobs scenario has one spec per job the
// other scenarios leave out, in the order of cleanup.AllJobs, each with a
// dataset name of its own and options a run accepts.
func TestJobSpecsCoverEveryJob(t *testing.T) {
	t.Parallel()
	var names, shorts []string
	for _, s := range jobSpecs() {
		names = append(names, s.name)
		require.NotContains(t, shorts, s.short, s.name)
		shorts = append(shorts, s.short)
		_, err := s.arg()
		require.NoError(t, err, s.name)
		require.NoError(t, cleanup.Validate(storage.NewTestClock(benchNow), s.opts), s.name)
	}
	require.Equal(t, uncoveredJobs(t), names)
}

func TestFormatRetention(t *testing.T) {
	t.Parallel()
	require.Equal(t, "none", formatRetention(0))
	require.Equal(t, "1h", formatRetention(time.Hour))
	require.Equal(t, "7d", formatRetention(7*24*time.Hour))
	require.Equal(t, "1h30m0s", formatRetention(90*time.Minute))
}

// TestJobs runs the jobs scenario at a tiny size on a throwaway cluster (or
// on MASSTORE_TEST_DATABASE_URL): every job the other scenarios leave out
// has its section, where the single statement and masstore's variants each
// affected exactly the 300 candidates (the harness checks they left none),
// and its goals.
func TestJobs(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL")
	}
	args := []string{"--sizes", "jobs=300", "--scenario", "jobs"}
	if u := os.Getenv("MASSTORE_TEST_DATABASE_URL"); u != "" {
		args = append(args, "--database-url", u)
	} else if _, err := pgcluster.FindBinaries(); err != nil {
		t.Skip(err)
	}
	var out strings.Builder
	require.NoError(t, run(context.Background(), args, &out, io.Discard))
	sections := map[string]string{}
	for _, s := range strings.Split(out.String(), "\n### ")[1:] {
		title, _, _ := strings.Cut(s, "\n")
		if job, ok := strings.CutPrefix(title, "jobs: "); ok {
			job, _, _ = strings.Cut(job, " ")
			sections[job] = s
		}
	}
	jobs := uncoveredJobs(t)
	require.Len(t, sections, len(jobs))
	for _, job := range jobs {
		s, ok := sections[job]
		require.True(t, ok, "no section for %s", job)
		for _, v := range []string{"single-statement", "masstore-1000", "masstore-adaptive-100ms"} {
			require.Regexp(t, `\n\| \w+_300 \| `+v+` \| 300 \|`, s, "%s: %s", job, v)
			if v != "single-statement" {
				require.Contains(t, out.String(), "| "+job+": "+v+" time vs single statement |")
			}
		}
	}
}
