package main

import (
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/masstore/masstore/cleanup"
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
// has its row, where the single statement and the janitor's variant each
// affected exactly the 300 candidates (the harness checks they left none),
// and its goal.
func TestJobs(t *testing.T) {
	out := runTiny(t, "--sizes", "jobs=300", "--scenario", "jobs")
	require.Contains(t, out.String(), "### jobs: every other job, 300 candidates among 600 rows each")
	jobs := uncoveredJobs(t)
	require.Len(t, regexp.MustCompile(`(?m)^\| [a-z0-9-]+ \| 300 \| `).FindAllString(out.String(), -1), len(jobs), "one row a job")
	for _, job := range jobs {
		require.Contains(t, out.String(), "| "+job+" | 300 | ", "the row of %s", job)
		require.Contains(t, out.String(), "| "+job+": masstore-adaptive-100ms time vs single statement |")
	}
}
